"""An app password made in the panel logs in to a running maild over IMAP, and not once revoked."""
from __future__ import annotations

import imaplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from maild.config import Listener
from panel.extensions import db
from panel.services import app_passwords
from panel.services.actor import Actor
from tests.factories import Factory
from tests.maild.support import free_port
from tests.test_bundle_end_to_end import TIMEOUT, PanelMaild, insecure_context, logs_in


class ImapPanelMaild(PanelMaild):
    """The panel's own daemon with IMAPS beside the SMTPS port PanelMaild waits on."""

    def __init__(self, app: Flask, tmp_path: Path) -> None:
        super().__init__(app, tmp_path)
        self.imaps_port = free_port()
        app.config["MAILD_LISTENERS"] = (*app.config["MAILD_LISTENERS"], Listener("imaps", "127.0.0.1", self.imaps_port))


@pytest.fixture
def maild(app: Flask, tmp_path: Path) -> Iterator[ImapPanelMaild]:
    daemon = ImapPanelMaild(app, tmp_path)
    yield daemon
    daemon.stop()


def imap_login(port: int, address: str, password: str) -> bool:
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=insecure_context(), timeout=TIMEOUT) as imap:
        try:
            imap.login(address, password)
        except imaplib.IMAP4.error:
            return False
        return imap.select("INBOX")[0] == "OK"


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_app_password_logs_in_over_imap_until_revoked(app: Flask, make: Factory, maild: ImapPanelMaild) -> None:
    mailbox = make.mailbox(make.domain(name="example.jp"), "taro")
    db.session.commit()
    node = mailbox.domain.node.name
    maild.start(node)
    row, secret = app_passwords.create_app_password(Actor.for_mailbox(mailbox), mailbox.id, "Thunderbird")
    maild.wait_for_serial(node)
    port = maild.imaps_port
    assert imap_login(port, "taro@example.jp", secret)
    assert logs_in(maild.port, "taro@example.jp", secret)  # SMTP AUTH too
    assert imap_login(port, "taro@example.jp", Factory.PASSWORD)  # the password still works beside it

    app_passwords.revoke_app_password(Actor.for_mailbox(mailbox), row.id)
    maild.wait_for_serial(node)
    assert not imap_login(port, "taro@example.jp", secret)
    assert imap_login(port, "taro@example.jp", Factory.PASSWORD)
