"""MX: the SPF and DKIM lookups of incoming mail are cached for their TTL, negative answers too."""
from __future__ import annotations

import smtplib
from pathlib import Path

from tests.maild.dns_server import DnsServer
from tests.maild.support import mailbox, node_config, running_daemon, stored_messages

RECORDS = {"repeat.test": {"TXT": '"v=spf1 ip4:127.0.0.1 -all"'}}
MESSAGE = b"From: a@repeat.test\r\nTo: bob@example.test\r\nSubject: again\r\n\r\nbody\r\n"


def test_repeat_senders_are_looked_up_once_per_ttl(tmp_path: Path) -> None:
    with DnsServer(RECORDS).running() as dns:
        config = node_config(mailboxes=[mailbox("bob@example.test")], resolver=(dns.address,))
        with running_daemon(config, tmp_path) as live:
            with smtplib.SMTP("127.0.0.1", live.port("mx"), timeout=20) as smtp:
                smtp.ehlo("client.repeat.test")
                for sender in ("a@repeat.test", "b@repeat.test", "a@unknown.test", "b@unknown.test"):
                    smtp.sendmail(sender, ["bob@example.test"], MESSAGE)
            stored = stored_messages(live.maildir("bob@example.test"))
    assert [b"spf=pass smtp.mailfrom=" in message for message in stored] == [True, True, False, False]
    assert [b"spf=none smtp.mailfrom=" in message for message in stored] == [False, False, True, True]
    assert dns.queries.count(("repeat.test", "TXT")) == 1
    assert dns.queries.count(("unknown.test", "TXT")) == 1
