"""Every TLS listener reads into small buffers, not only IMAP's (1,000 idle sessions ~106 MB)."""
from __future__ import annotations

import asyncio.sslproto
import smtplib
from pathlib import Path

import pytest

from maild.tls import TLS_READ_BUFFER
from tests.maild.support import insecure_context, mailbox, node_config, running_daemon, stored_messages

ASYNCIO_DEFAULT = 256 * 1024


def test_daemon_without_imap_caps_tls_read_buffers_and_large_mail_still_arrives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncio.sslproto.SSLProtocol, "max_size", ASYNCIO_DEFAULT)
    config = node_config(mailboxes=[mailbox("bob@example.test", "secret")], kinds=("submissions",))
    message = b"Subject: big\r\n\r\n" + b"x" * 998 + b"\r\n" + b"".join(b"line %d\r\n" % n for n in range(20_000))
    with running_daemon(config, tmp_path) as maild:
        assert asyncio.sslproto.SSLProtocol.max_size == TLS_READ_BUFFER
        with smtplib.SMTP_SSL("127.0.0.1", maild.port("submissions"), context=insecure_context(), timeout=20) as smtp:
            smtp.login("bob@example.test", "secret")
            smtp.sendmail("bob@example.test", ["bob@example.test"], message)
        delivered = stored_messages(maild.maildir("bob@example.test"))
    assert len(delivered) == 1 and delivered[0].endswith(b"line 19999\r\n")
