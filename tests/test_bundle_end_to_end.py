"""Panel to daemon: a change saved in the panel is in force in a running maild within seconds."""
from __future__ import annotations

import pytest
from flask import Flask

from panel.services import mailboxes
from tests.factories import Factory
from tests.panel_maild import PanelMaild, logs_in

NEW_PASSWORD = "a fresh passphrase for taro"


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_password_changed_in_panel_works_in_running_daemon(app: Flask, make: Factory, panel_maild: PanelMaild) -> None:
    port = panel_maild.port
    mailbox = make.mailbox(make.domain(name="example.jp"), "taro")
    panel_maild.start(mailbox.domain.node.name)
    assert logs_in(port, "taro@example.jp", Factory.PASSWORD)

    mailboxes.set_password(make.system, mailbox.id, NEW_PASSWORD)
    print(f"new password in force {panel_maild.wait_for_serial(mailbox.domain.node.name):.2f} s after the save")
    assert logs_in(port, "taro@example.jp", NEW_PASSWORD)
    assert not logs_in(port, "taro@example.jp", Factory.PASSWORD)

    make.mailbox(mailbox.domain, "hanako")
    panel_maild.wait_for_serial(mailbox.domain.node.name)
    assert logs_in(port, "hanako@example.jp", Factory.PASSWORD)
