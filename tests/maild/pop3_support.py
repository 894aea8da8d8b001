"""A live maild with POP3, POP3S, IMAPS and MX listeners, for the POP3 tests (poplib and fetchmail).

Mail arrives the way it does in production, over SMTP to the MX listener; a loopback DNS server
that knows no names keeps the SPF checks of that path instant.
"""
from __future__ import annotations

import hashlib
import imaplib
import poplib
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.fernet import Fernet

from tests.maild.dns_server import DnsServer
from tests.maild.support import LiveDaemon, insecure_context, mailbox, node_config, running_daemon, stored_messages

USER = "bob@example.test"
PASSWORD = "correct horse"
APOP_SECRET = "apop-secret-42"
OTHER_USER = "carol@example.test"
TIMEOUT = 20.0


def apop_digest(greeting: bytes, secret: str) -> str:
    timestamp = greeting[greeting.index(b"<"): greeting.index(b">") + 1]
    return hashlib.md5(timestamp + secret.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Pop3Node:
    daemon: LiveDaemon

    def port(self, kind: str) -> int:
        return self.daemon.port(kind)

    def deliver(self, *messages: bytes, to: str = USER) -> None:
        with smtplib.SMTP("127.0.0.1", self.port("mx"), timeout=TIMEOUT) as smtp:
            for message in messages:
                smtp.sendmail("sender@remote.test", [to], message)

    def stored(self, address: str = USER) -> list[bytes]:
        return stored_messages(self.daemon.maildir(address))

    def imap(self, user: str = USER, password: str = PASSWORD) -> imaplib.IMAP4_SSL:
        client = imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"), ssl_context=insecure_context(), timeout=TIMEOUT)
        client.login(user, password)
        return client

    def plain(self) -> poplib.POP3:
        return poplib.POP3("127.0.0.1", self.port("pop3"), timeout=TIMEOUT)

    def secure(self) -> poplib.POP3_SSL:
        return poplib.POP3_SSL("127.0.0.1", self.port("pop3s"), timeout=TIMEOUT, context=insecure_context())

    def login(self, user: str = USER, password: str = PASSWORD) -> poplib.POP3_SSL:
        client = self.secure()
        client.user(user)
        client.pass_(password)
        return client


def write_apop_key(data_dir: Path) -> str:
    """A fresh key in maild's default key file, as the panel makes it; APOP_SECRET encrypted with it."""
    key = Fernet.generate_key()
    data_dir.mkdir(exist_ok=True)
    (data_dir / "apop.key").write_bytes(key + b"\n")
    return Fernet(key).encrypt(APOP_SECRET.encode()).decode("ascii")


@contextmanager
def pop3_node(tmp_path: Path, dns: DnsServer, *, apop: bool = True, runtime_options: dict[str, object] | None = None,
              **server: object) -> Iterator[Pop3Node]:
    """maild with POP3 for bob (APOP enabled when `apop`) and carol; `server` overrides Server fields."""
    bob = mailbox(USER, PASSWORD)
    if apop:
        bob = replace(bob, apop_secret=write_apop_key(tmp_path / "data"))
    config = node_config(mailboxes=[bob, mailbox(OTHER_USER, PASSWORD)], kinds=("mx", "pop3", "pop3s", "imaps"),
                         resolver=(dns.address,), **server)  # type: ignore[arg-type]
    with running_daemon(config, tmp_path, runtime_options=runtime_options) as live:
        yield Pop3Node(live)
