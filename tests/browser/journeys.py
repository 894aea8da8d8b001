"""Steps the browser journeys share: logging in and moving around as a user would."""
from __future__ import annotations

from tests.browser.checks import assert_page_ok, open_menu


def log_in(page, login: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base_url + "/login")
    assert_page_ok(page)
    page.get_by_label("E-mail address").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def go_to(page, menu_entry: str) -> None:  # type: ignore[no-untyped-def]
    """Follow a main-menu link (opening the folded menu at phone width first)."""
    open_menu(page)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name=menu_entry, exact=True).click()
    page.wait_for_load_state()
    assert_page_ok(page)


def alert_text(page) -> str:  # type: ignore[no-untyped-def]
    return " ".join(page.get_by_role("alert").all_inner_texts())
