"""Archive capture through a live maild: MX and submission journal each message once, with its envelope."""
from __future__ import annotations

import imaplib
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from maild.archive import reader
from maild.archive.verify import verify
from tests.maild.dns_server import DnsServer
from tests.maild.support import LiveDaemon, domain, mailbox, node_config, running_daemon

PASSWORD = "s3cret pass"
INBOUND = (b"From: Alice <alice@sender.test>\r\nTo: bob@example.test\r\nSubject: Contract draft\r\n"
           b"Message-ID: <1@sender.test>\r\n\r\nPlease sign the indemnity clause.\r\n")
OUTBOUND = b"From: Bob <bob@example.test>\r\nTo: x@remote.test\r\nSubject: Invoice\r\n\r\nTotal due: 42\r\n"


@pytest.fixture
def maild(tmp_path: Path) -> Iterator[LiveDaemon]:
    archived = replace(domain("example.test"), archive=True)
    config = node_config(
        domains=[archived, domain("plain.test")],
        mailboxes=[mailbox("bob@example.test", PASSWORD), mailbox("carol@example.test", PASSWORD),
                   mailbox("dave@plain.test", PASSWORD)],
        kinds=("mx", "submission", "imap"),
    )
    with DnsServer({"sender.test": {"TXT": '"v=spf1 ip4:127.0.0.1 -all"'}}).running() as dns:
        with running_daemon(replace(config, server=replace(config.server, resolver=(dns.address,))), tmp_path) as live:
            yield live


def archive_root(maild: LiveDaemon) -> Path:
    return maild.runtime.data_dir / "archive"


def everything(maild: LiveDaemon, name: str = "example.test") -> list[tuple[reader.Hit, bytes]]:
    return list(reader.matching(archive_root(maild), [name], reader.Query()))


def test_inbound_journaled_once_with_envelope_and_survives_mailbox_deletion(maild: LiveDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", maild.port("mx"), timeout=20) as smtp:
        refused = smtp.sendmail("alice@sender.test", ["bob@example.test", "carol@example.test", "dave@plain.test"],
                                INBOUND)
    assert refused == {}
    [(hit, data)] = everything(maild)
    assert data == INBOUND
    assert (hit.direction, hit.sender, hit.client_ip, hit.auth_user) == ("in", "alice@sender.test", "127.0.0.1", None)
    assert hit.recipients == ("bob@example.test", "carol@example.test", "dave@plain.test")
    assert hit.subject == "Contract draft"
    assert everything(maild, "plain.test") == []  # its plan has no archiving

    imap = imaplib.IMAP4("127.0.0.1", maild.port("imap"), timeout=20)
    imap.starttls(ssl_context=_insecure())
    imap.login("bob@example.test", PASSWORD)
    imap.select("INBOX")
    assert imap.store("1", "+FLAGS", "\\Deleted")[0] == "OK"
    imap.expunge()
    assert imap.search(None, "ALL")[1] == [b""]
    imap.logout()

    [(_, kept)] = everything(maild)
    assert kept == INBOUND
    assert verify(archive_root(maild), "example.test").ok


def test_submission_journaled_out_with_auth_user(maild: LiveDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", maild.port("submission"), timeout=20) as smtp:
        smtp.starttls(context=_insecure())
        smtp.login("bob@example.test", PASSWORD)
        smtp.sendmail("bob@example.test", ["x@remote.test", "carol@example.test"], OUTBOUND)
    [(hit, data)] = everything(maild)
    assert data == OUTBOUND
    assert (hit.direction, hit.sender, hit.auth_user) == ("out", "bob@example.test", "bob@example.test")
    assert hit.recipients == ("x@remote.test", "carol@example.test")
    assert maild.queue.queued[0][1] == ["x@remote.test"]


def test_submission_to_another_archiving_customer_is_inbound_there(maild: LiveDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", maild.port("submission"), timeout=20) as smtp:
        smtp.starttls(context=_insecure())
        smtp.login("dave@plain.test", PASSWORD)
        smtp.sendmail("dave@plain.test", ["bob@example.test"], OUTBOUND)
    [(hit, _)] = everything(maild)
    assert (hit.direction, hit.auth_user) == ("in", "dave@plain.test")


def _insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
