"""Steps the browser journeys share: logging in and moving around as a user would."""
from __future__ import annotations

from tests.browser.checks import assert_page_ok, open_menu


def log_in(page, login: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base_url + "/login")
    assert_page_ok(page)
    page.get_by_label("E-mail address").fill(login)
    page.get_by_label("Password").fill(password)
    press(page, "Log in")


def go_to(page, menu_entry: str) -> None:  # type: ignore[no-untyped-def]
    """Follow a main-menu link (opening the folded menu at phone width first)."""
    open_menu(page)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name=menu_entry, exact=True).click()
    assert_page_ok(page)


def alert_text(page) -> str:  # type: ignore[no-untyped-def]
    return " ".join(page.get_by_role("alert").all_inner_texts())


def press(page, button: str) -> None:  # type: ignore[no-untyped-def]
    """Submit a form by its button and wait for the page the server answers with."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()
    assert_page_ok(page)


def follow(page, link: str) -> None:  # type: ignore[no-untyped-def]
    """Follow a link in the page and wait for the new page."""
    with page.expect_navigation():
        page.get_by_role("link", name=link, exact=True).first.click()
    assert_page_ok(page)
