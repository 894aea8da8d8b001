"""A live maild with IMAP, IMAPS and MX listeners, for the IMAP tests (imaplib and mbsync).

Mail arrives as in production, over SMTP to the MX listener; a loopback DNS server that knows no
names keeps the SPF checks of that path instant. Messages whose exact bytes matter are APPENDed.
"""
from __future__ import annotations

import imaplib
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from maild.config import Mailbox
from tests.maild.dns_server import DnsServer
from tests.maild.support import LiveDaemon, insecure_context, mailbox, node_config, running_daemon

USER = "bob@example.test"
PASSWORD = "correct horse"
TIMEOUT = 20.0


@dataclass
class ImapNode:
    daemon: LiveDaemon
    mailbox: Mailbox

    @property
    def port(self) -> int:
        return self.daemon.port("imap")

    @property
    def tls_port(self) -> int:
        return self.daemon.port("imaps")

    @property
    def maildir(self) -> Path:
        return self.daemon.maildir(USER)

    def deliver(self, *messages: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.daemon.port("mx"), timeout=TIMEOUT) as smtp:
            for message in messages:
                smtp.sendmail("sender@remote.test", [USER], message)

    def usage_messages(self) -> int:
        return self.daemon.runtime.store.usage(self.mailbox).messages

    def client(self, login: bool = True, select: str | None = "INBOX") -> imaplib.IMAP4:
        """An imaplib client after STARTTLS (and LOGIN and SELECT unless told otherwise)."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=TIMEOUT)
        client.starttls(insecure_context())
        if login:
            client.login(USER, PASSWORD)
            if select:
                client.select(select)
        return client


@contextmanager
def imap_node(tmp_path: Path, dns: DnsServer, quota_bytes: int = 50_000) -> Iterator[ImapNode]:
    """maild serving bob over IMAP (143-style with STARTTLS, and implicit TLS) and MX."""
    bob = mailbox(USER, PASSWORD, quota_bytes=quota_bytes)
    config = node_config(mailboxes=[bob], kinds=("mx", "imap", "imaps"), resolver=(dns.address,))
    with running_daemon(config, tmp_path) as live:
        yield ImapNode(live, bob)
