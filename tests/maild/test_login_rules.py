"""Who may log in over SMTP submission and IMAP: only mailboxes of domains the node serves, by
the address as users type it (internationalised domains included)."""
from __future__ import annotations

import base64
import imaplib
import smtplib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.maild.support import LiveDaemon, domain, insecure_context, mailbox, node_config, running_daemon

PASSWORD = "s3cret-pass"


@pytest.fixture
def maild(tmp_path: Path) -> Iterator[LiveDaemon]:
    config = node_config(
        domains=[domain("active.test"), domain("pending.test", status="pending"),
                 domain("suspended.test", status="suspended"), domain("xn--r8jz45g.jp")],
        mailboxes=[mailbox(f"user@{name}", PASSWORD) for name in
                   ("active.test", "pending.test", "suspended.test", "xn--r8jz45g.jp")],
        kinds=("submissions", "imaps"),
    )
    with running_daemon(config, tmp_path) as live:
        yield live


def smtp_login(maild: LiveDaemon, username: str) -> int:
    """AUTH PLAIN with the username's UTF-8 bytes (smtplib would only send ASCII); the reply code."""
    with smtplib.SMTP_SSL("127.0.0.1", maild.port("submissions"), timeout=20, context=insecure_context()) as smtp:
        smtp.ehlo("client.test")
        token = base64.b64encode(b"\0" + username.encode() + b"\0" + PASSWORD.encode()).decode()
        return smtp.docmd("AUTH", f"PLAIN {token}")[0]


def imap_login(maild: LiveDaemon, username: str) -> str:
    client = imaplib.IMAP4_SSL("127.0.0.1", maild.port("imaps"), ssl_context=insecure_context(), timeout=20)
    try:
        credentials = b"\0" + username.encode() + b"\0" + PASSWORD.encode()
        return client.authenticate("PLAIN", lambda _: credentials)[0]
    except imaplib.IMAP4.error:
        return "NO"
    finally:
        client.shutdown()


@pytest.mark.parametrize(("username", "smtp_code", "imap_status"), [
    ("user@active.test", 235, "OK"),
    ("user@例え.jp", 235, "OK"),  # typed as users see it; the bundle holds the A-label
    ("user@pending.test", 535, "NO"),  # ownership not proven: no mail either way
    ("user@suspended.test", 535, "NO"),
])
def test_login_needs_a_mailbox_in_a_domain_the_node_serves(
        maild: LiveDaemon, username: str, smtp_code: int, imap_status: str) -> None:
    assert smtp_login(maild, username) == smtp_code
    assert imap_login(maild, username) == imap_status


def test_an_authenticated_submission_session_stops_sending_once_its_mailbox_is_disabled(maild: LiveDaemon) -> None:
    with smtplib.SMTP_SSL("127.0.0.1", maild.port("submissions"), timeout=20, context=insecure_context()) as smtp:
        smtp.login("user@active.test", PASSWORD)
        config = maild.holder.current
        disabled = replace(config.mailboxes["user@active.test"], enabled=False)
        maild.holder.swap(replace(config, serial=config.serial + 1,
                                  mailboxes={**config.mailboxes, "user@active.test": disabled}))
        code, reply = smtp.mail("user@active.test")
    assert (code, reply[:5]) == (550, b"5.2.1")
    assert maild.queue.queued == []
