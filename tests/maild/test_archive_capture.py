"""Archive capture through a live maild: MX and submission journal each message once, with its envelope."""
from __future__ import annotations

import imaplib
import smtplib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from maild.archive import reader
from maild.archive.verify import verify
from tests.maild.dns_server import DnsServer
from tests.maild.support import (
    LiveDaemon,
    MaildProcess,
    domain,
    insecure_context,
    kill_under_load,
    mailbox,
    node_config,
    running_daemon,
)

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
    imap.starttls(ssl_context=insecure_context())
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
        smtp.starttls(context=insecure_context())
        smtp.login("bob@example.test", PASSWORD)
        smtp.sendmail("bob@example.test", ["x@remote.test", "carol@example.test"], OUTBOUND)
    [(hit, data)] = everything(maild)
    assert data == OUTBOUND
    assert (hit.direction, hit.sender, hit.auth_user) == ("out", "bob@example.test", "bob@example.test")
    assert hit.recipients == ("x@remote.test", "carol@example.test")
    assert maild.queue.queued[0][1] == ["x@remote.test"]


def test_submission_to_another_archiving_customer_is_inbound_there(maild: LiveDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", maild.port("submission"), timeout=20) as smtp:
        smtp.starttls(context=insecure_context())
        smtp.login("dave@plain.test", PASSWORD)
        smtp.sendmail("dave@plain.test", ["bob@example.test"], OUTBOUND)
    [(hit, _)] = everything(maild)
    assert (hit.direction, hit.auth_user) == ("in", "dave@plain.test")


def test_kill_9_keeps_every_acknowledged_entry_and_the_chain_verifies(tmp_path: Path) -> None:
    archived = replace(domain("example.test"), archive=True)

    def message(client: int, number: int) -> tuple[bytes, bytes]:
        message_id = b"<%d.%d@sender.test>" % (client, number)
        return message_id, INBOUND + b"Message-ID: " + message_id

    with DnsServer({}).running() as dns:
        config = node_config(domains=[archived], mailboxes=[mailbox("bob@example.test")], resolver=(dns.address,))
        maild = MaildProcess(config, tmp_path, kinds=("mx",))
        maild.start()
        acked = kill_under_load(maild, "alice@sender.test", "bob@example.test", message, clients=3, acked=30)
        assert len(acked) >= 30
        root = maild.data_dir / "archive"
        journaled = [data for _, data in reader.matching(root, ["example.test"], reader.Query())]
        assert all(any(data.endswith(message_id + b"\r\n") for data in journaled) for message_id in acked)
        assert verify(root, "example.test").ok
        maild.start()  # the chain goes on after the crash
        try:
            with smtplib.SMTP("127.0.0.1", maild.ports["mx"], timeout=20) as smtp:
                smtp.sendmail("alice@sender.test", ["bob@example.test"], INBOUND)
        finally:
            maild.stop()
        assert verify(root, "example.test").entries == len(journaled) + 1
        assert verify(root, "example.test").ok
