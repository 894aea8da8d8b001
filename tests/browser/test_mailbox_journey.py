"""Journey 4: a mailbox user logs in with the address, changes the password, and the new
password works over IMAP against the live maild started by the test."""
from __future__ import annotations

from pathlib import Path

from tests.browser.journeys import follow, go_to, log_in, press
from tests.panel_maild import PanelMaild, imap_login

NEW_PASSWORD = "spring rain over kyoto"


def test_mailbox_user_changes_password_and_it_works_over_imap(page, seed, live_app, tmp_path: Path):
    daemon = PanelMaild(live_app[0], tmp_path)
    mailbox = seed.mailbox(seed.domain(name="example.jp"), "taro")
    node = mailbox.domain.node.name
    daemon.start(node)
    try:
        assert imap_login(daemon.imaps_port, "taro@example.jp", seed.PASSWORD)
        log_in(page, "taro@example.jp", seed.PASSWORD)
        go_to(page, "My account")
        follow(page, "Change password")
        page.get_by_label("Current password").fill(seed.PASSWORD)
        page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
        press(page, "Change password")
        daemon.wait_for_serial(node)
        assert imap_login(daemon.imaps_port, "taro@example.jp", NEW_PASSWORD)
        assert not imap_login(daemon.imaps_port, "taro@example.jp", seed.PASSWORD)
    finally:
        daemon.stop()
