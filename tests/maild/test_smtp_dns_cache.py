"""MX: the SPF and DKIM lookups of incoming mail are cached for their TTL, negative answers too,
and so is an SPF result while the answers it came from live."""
from __future__ import annotations

import asyncio
import contextvars
import smtplib
import time
from pathlib import Path

import dns.resolver
import pytest

from maild.smtp import verify
from maild.smtp.handlers import _resolver
from tests.maild.dns_server import TTL, DnsServer
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


def test_an_spf_result_is_reused_only_while_its_dns_answers_live(monkeypatch: pytest.MonkeyPatch) -> None:
    records = {"memo.test": {"TXT": '"v=spf1 ip4:127.0.0.1 -all"'}}
    peer = verify.Peer(ip="127.0.0.1", helo="client.memo.test", mail_from="a@memo.test")

    async def check(times: int) -> list[str]:
        return [await verify.spf_result(peer, resolver) for _ in range(times)]

    with DnsServer(records).running() as dns:
        resolver = _resolver((dns.address,))
        assert asyncio.run(check(3)) == ["spf=pass smtp.mailfrom=a@memo.test"] * 3
        dns.records["memo.test"] = {"TXT": '"v=spf1 -all"'}
        assert asyncio.run(check(1)) == ["spf=pass smtp.mailfrom=a@memo.test"]  # the answer is still live
        assert dns.queries.count(("memo.test", "TXT")) == 1
        later = time.time() + TTL + 1
        monkeypatch.setattr(time, "time", lambda: later)
        assert asyncio.run(check(2)) == ["spf=fail smtp.mailfrom=a@memo.test"] * 2
        assert dns.queries.count(("memo.test", "TXT")) == 2


class ExpiringCache(dns.resolver.LRUCache):
    """Answers each key once more, then acts as if the entry had just expired."""

    def __init__(self, entries: dns.resolver.LRUCache) -> None:
        super().__init__()
        self.entries = entries
        self.handed_out: set[object] = set()

    def get(self, key: object) -> dns.resolver.Answer | None:  # type: ignore[override]
        if key in self.handed_out:
            return None
        self.handed_out.add(key)
        return self.entries.get(key)  # type: ignore[arg-type]


def test_a_cache_only_spf_check_never_queries_even_if_its_answer_expires_meanwhile() -> None:
    records = {"race.test": {"TXT": '"v=spf1 ip4:127.0.0.1 -all"'}}
    peer = verify.Peer(ip="127.0.0.1", helo="client.race.test", mail_from="a@race.test")
    with DnsServer(records).running() as dns_server:
        resolver = verify.make_resolver((dns_server.address,))
        resolver.cache = dns.resolver.LRUCache()
        assert asyncio.run(verify.spf_result(peer, resolver)) == "spf=pass smtp.mailfrom=a@race.test"
        queries = len(dns_server.queries)
        resolver.cache = ExpiringCache(resolver.cache)
        checked = contextvars.copy_context().run(verify._cached_spf, peer, resolver)
        assert checked is not None and checked[0] == "spf=pass smtp.mailfrom=a@race.test"
        assert len(dns_server.queries) == queries
