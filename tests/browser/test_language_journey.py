"""Journey 5: the language switch turns a page Japanese and back."""
from __future__ import annotations

from panel.models import Role
from tests.browser.checks import assert_page_ok, open_menu
from tests.browser.journeys import log_in


def test_language_switch_turns_the_page_japanese_and_back(page, seed):
    admin = seed.user(Role.ADMIN)
    log_in(page, admin.email, seed.PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "Provider dashboard"
    open_menu(page)
    with page.expect_navigation():
        page.get_by_role("link", name="日本語").click()
    assert page.get_by_role("heading", level=1).inner_text() == "プロバイダーダッシュボード"
    assert page.locator("html").get_attribute("lang") == "ja"
    assert_page_ok(page)
    open_menu(page)
    with page.expect_navigation():
        page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Provider dashboard"
