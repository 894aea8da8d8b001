"""An app password made in the panel logs in to a running maild over IMAP, and not once revoked."""
from __future__ import annotations


import pytest
from flask import Flask

from panel.extensions import db
from panel.services import app_passwords
from panel.services.actor import Actor
from tests.factories import Factory
from tests.panel_maild import PanelMaild, imap_login, logs_in


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_app_password_logs_in_over_imap_until_revoked(app: Flask, make: Factory, panel_maild: PanelMaild) -> None:
    mailbox = make.mailbox(make.domain(name="example.jp"), "taro")
    db.session.commit()
    node = mailbox.domain.node.name
    panel_maild.start(node)
    row, secret = app_passwords.create_app_password(Actor.for_mailbox(mailbox), mailbox.id, "Thunderbird")
    panel_maild.wait_for_serial(node)
    port = panel_maild.imaps_port
    assert imap_login(port, "taro@example.jp", secret)
    assert logs_in(panel_maild.port, "taro@example.jp", secret)  # SMTP AUTH too
    assert imap_login(port, "taro@example.jp", Factory.PASSWORD)  # the password still works beside it

    app_passwords.revoke_app_password(Actor.for_mailbox(mailbox), row.id)
    panel_maild.wait_for_serial(node)
    assert not imap_login(port, "taro@example.jp", secret)
    assert imap_login(port, "taro@example.jp", Factory.PASSWORD)
