"""Crash safety: `kill -9` maild while clients send; every acknowledged message survives whole."""
from __future__ import annotations

import smtplib
from pathlib import Path

from tests.maild.dns_server import DnsServer
from tests.maild.support import MaildProcess, kill_under_load, mailbox, node_config, stored_messages

CLIENTS = 4
ACKED_BEFORE_KILL = 24
END = b"-- end of message --\r\n"
TIMEOUT = 20.0


def message(client: int, number: int) -> bytes:
    body = b"".join(b"line %d of a message long enough to take a few writes\r\n" % i for i in range(40))
    return b"Subject: crash %d-%d\r\nMessage-ID: <%d.%d@crash.test>\r\n\r\n%s%s" % (
        client, number, client, number, body, END)


def test_kill_9_loses_no_acknowledged_message_and_exposes_no_partial_one(tmp_path: Path, dns: DnsServer) -> None:
    crash_and_restart(tmp_path, dns.address)


def crash_and_restart(tmp_path: Path, resolver: str) -> None:
    config = node_config(mailboxes=[mailbox("bob@example.test")], resolver=(resolver,))
    maild = MaildProcess(config, tmp_path, kinds=("mx",))
    maild.start()
    survivors = kill_under_load(maild, "load@crash.test", "bob@example.test",
                                lambda client, number: (b"<%d.%d@crash.test>" % (client, number), message(client, number)),
                                clients=CLIENTS, acked=ACKED_BEFORE_KILL)
    assert len(survivors) >= ACKED_BEFORE_KILL, "clients could not send before the kill"

    maild.start()  # restart on the same data: the store recovers
    try:
        with smtplib.SMTP("127.0.0.1", maild.ports["mx"], timeout=TIMEOUT) as smtp:
            assert smtp.sendmail("load@crash.test", ["bob@example.test"], message(99, 1)) == {}
    finally:
        status = maild.stop()
    assert status == 0, "SIGTERM should stop maild cleanly"

    box = mailbox("bob@example.test")
    maildir = tmp_path / "data" / "mail" / box.domain / box.local_part / "Maildir"
    stored = stored_messages(maildir)
    assert all(data.endswith(END) for data in stored), "a partial message is visible"
    stored_ids = {line.split(b": ", 1)[1] for data in stored for line in data.split(b"\r\n") if line.startswith(b"Message-ID: ")}
    assert set(survivors) <= stored_ids
    assert b"<99.1@crash.test>" in stored_ids
