"""The outbound queue end to end: loopback DNS, aiosmtpd sinks as remote MX hosts, real spool."""
from __future__ import annotations

import asyncio
import email
import json
import ssl
from dataclasses import replace
from email.message import Message
from pathlib import Path

import pytest

from maild.config import Mailbox
from maild.queue import Queue
from maild.tls import self_signed, server_context
from tests.maild.queue_net import HOSTNAME, Net, StaticConfig, async_test, eventually, mx, node

MESSAGE = (
    b"From: Alice <alice@elsewhere.test>\r\nTo: bob@dest.test\r\nSubject: Quarterly report\r\n"
    b"Message-ID: <1@elsewhere.test>\r\n\r\nThe numbers are in.\r\n.a line starting with a dot\r\n"
)
DEST = {
    "dest.test": mx((10, "mx1.dest.test"), (20, "mx2.dest.test")),
    "mx1.dest.test": {"A": "127.0.0.1"},
    "mx2.dest.test": {"A": "127.0.0.3"},
}
# Senders' domain: its MX is the sink on 127.0.0.3, where bounces to remote senders arrive.
ELSEWHERE = {"elsewhere.test": mx((10, "mx.elsewhere.test")), "mx.elsewhere.test": {"A": "127.0.0.3"}}
SENDER = "alice@elsewhere.test"
BOTH_SINKS = ("127.0.0.1", "127.0.0.3")
ALICE = Mailbox(id=1, local_part="alice", domain="origin.test", password_hash="x", quota_bytes=10**8,
                enabled=True, customer_id=1, max_message_bytes=10**7, sends_per_hour=None)


def envelope_states(tmp_path: Path) -> dict[str, str]:
    """Per-recipient states as saved on disk (the durable truth after a crash)."""
    states = {}
    for path in (tmp_path / "queue" / "envelopes").glob("*.json"):
        for recipient in json.loads(path.read_bytes())["recipients"]:
            states[recipient["address"]] = recipient["state"]
    return states


def delivery_status(data: bytes) -> tuple[Message, Message, list[Message]]:
    """An RFC 3464 report's parts: the whole message, the per-message block, recipient blocks."""
    report = email.message_from_bytes(data)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    human, status, headers = report.get_payload()
    assert human.get_content_type() == "text/plain"
    assert status.get_content_type() == "message/delivery-status"
    assert headers.get_content_type() == "text/rfc822-headers"
    per_message, *per_recipient = status.get_payload()
    return report, per_message, per_recipient


def field(block: Message, name: str) -> str:
    return " ".join(str(block[name]).split())


@async_test
async def test_message_queued_before_a_restart_is_delivered_by_the_next_queue(tmp_path: Path) -> None:
    async with Net(tmp_path, DEST, run=False) as net:
        await net.queue.enqueue(SENDER, ["bob@dest.test"], MESSAGE)
        assert envelope_states(tmp_path) == {"bob@dest.test": "pending"}
        await net.restart()  # a new Queue object on the same directory, as after a daemon restart
        await net.drained()
    [received] = net.sink().received
    assert (received.sender, received.recipients, received.data) == (SENDER, ["bob@dest.test"], MESSAGE)
    assert list((tmp_path / "queue" / "messages").iterdir()) == []
    assert list((tmp_path / "queue" / "envelopes").iterdir()) == []


@async_test
async def test_best_preference_mx_gets_the_mail_over_starttls(tmp_path: Path) -> None:
    tls = server_context(self_signed(tmp_path, "mx1.dest.test"))
    async with Net(tmp_path, DEST, BOTH_SINKS, tls=tls) as net:
        await net.queue.enqueue(SENDER, ["bob@dest.test", "Carol@Dest.Test"], MESSAGE)
        await net.drained()
    [received] = net.sink("127.0.0.1").received
    assert received.tls
    assert received.recipients == ["bob@dest.test", "Carol@Dest.Test"]  # one transaction per domain
    assert received.data == MESSAGE
    assert net.sink("127.0.0.3").received == []


@async_test
async def test_unreachable_first_mx_falls_back_to_the_second(tmp_path: Path) -> None:
    records = dict(DEST, **{"mx1.dest.test": {"A": "127.0.0.2"}, "mx2.dest.test": {"A": "127.0.0.1"}})
    async with Net(tmp_path, records) as net:  # nothing listens on 127.0.0.2
        await net.queue.enqueue(SENDER, ["bob@dest.test"], MESSAGE)
        await net.drained()
    [received] = net.sink().received
    assert received.recipients == ["bob@dest.test"]


@async_test
async def test_domain_without_mx_is_delivered_to_its_address(tmp_path: Path) -> None:
    async with Net(tmp_path, {"dest.test": {"A": "127.0.0.1"}}) as net:
        await net.queue.enqueue(SENDER, ["bob@dest.test"], MESSAGE)
        await net.drained()
    assert [received.recipients for received in net.sink().received] == [["bob@dest.test"]]


@async_test
async def test_backlog_beyond_the_concurrency_bound_is_delivered_a_few_at_a_time(tmp_path: Path) -> None:
    async with Net(tmp_path, DEST, run=False, concurrency=2) as net:
        for number in range(7):
            await net.queue.enqueue(SENDER, [f"user{number}@dest.test"], MESSAGE)
        net.sink().hold = 0.05
        await net.restart()  # the whole backlog is due at once, as after an outage
        await net.drained()
    assert sorted(received.recipients[0] for received in net.sink().received) == [
        f"user{number}@dest.test" for number in range(7)
    ]
    assert net.sink().peak <= 2


@pytest.mark.parametrize(("records", "status"), [
    pytest.param({"dest.test": mx((0, ""))}, "5.1.10", id="null-mx"),
    pytest.param({}, "5.1.2", id="nxdomain"),
])
@async_test
async def test_undeliverable_domain_bounces_at_once_to_a_remote_sender(
        tmp_path: Path, records: dict[str, dict[str, list[str]]], status: str) -> None:
    async with Net(tmp_path, dict(ELSEWHERE, **records), BOTH_SINKS) as net:
        await net.queue.enqueue(SENDER, ["bob@dest.test"], MESSAGE)
        await net.drained()
    assert net.sink("127.0.0.1").received == []
    [bounce] = net.sink("127.0.0.3").received
    assert (bounce.sender, bounce.recipients) == ("<>", [SENDER])  # from <>: never bounced back
    report, _, [recipient] = delivery_status(bounce.data)
    assert report["To"] == SENDER
    assert field(recipient, "Status") == status
    assert field(recipient, "Final-Recipient") == "rfc822; bob@dest.test"
    assert [query for query in net.dns.queries if query[0] == "dest.test"] == [("dest.test", "MX")]


@async_test
async def test_forwarded_mail_that_cannot_be_delivered_bounces_to_the_original_sender(tmp_path: Path) -> None:
    async with Net(tmp_path, dict(ELSEWHERE, **{"dest.test": mx((0, ""))}), BOTH_SINKS) as net:
        assert net.queue.srs is not None
        return_address = net.queue.srs.forward(SENDER, "origin.test")
        await net.queue.enqueue(return_address, ["bob@dest.test"], MESSAGE)
        await net.drained()
    [bounce] = net.sink("127.0.0.3").received  # straight to the sender's MX, not through ours
    assert (bounce.sender, bounce.recipients) == ("<>", [SENDER])
    report, _, [recipient] = delivery_status(bounce.data)
    assert report["To"] == SENDER
    assert field(recipient, "Final-Recipient") == "rfc822; bob@dest.test"


@async_test
async def test_local_delivery_from_the_queue_keeps_the_mxs_rules(tmp_path: Path) -> None:
    """Forwarded copies reach local mailboxes through the queue: a disabled or full one refuses
    them for good, as the MX would, and the sender hears of it."""
    off = replace(ALICE, id=2, local_part="off", enabled=False)
    full = replace(ALICE, id=3, local_part="full", quota_bytes=10)
    async with Net(tmp_path, ELSEWHERE, ("127.0.0.3",), mailboxes=[off, full]) as net:
        await net.queue.enqueue(SENDER, [off.address, full.address], MESSAGE)
        await net.drained()
    [bounce] = net.sink("127.0.0.3").received
    _, _, recipients = delivery_status(bounce.data)
    assert {field(r, "Final-Recipient"): field(r, "Status") for r in recipients} == {
        f"rfc822; {off.address}": "5.2.1", f"rfc822; {full.address}": "5.2.2"}
    assert net.store is not None and net.store.usage(full).messages == net.store.usage(off).messages == 0


@async_test
async def test_temporary_refusal_is_retried_and_accepted_recipients_are_not_sent_again(
        tmp_path: Path) -> None:
    async with Net(tmp_path, DEST, queue_retry_base=30.0) as net:
        net.sink().refuse["carol@dest.test"] = ["451 4.7.1 greylisted, try again later"] * 100
        await net.queue.enqueue(SENDER, ["bob@dest.test", "carol@dest.test"], MESSAGE)
        await eventually(
            lambda: envelope_states(tmp_path) == {"bob@dest.test": "delivered", "carol@dest.test": "pending"},
            "bob delivered and carol deferred, on disk",
        )
        [saved] = net.queue.envelopes()
        assert saved.recipients[1].outcome is not None
        assert saved.recipients[1].outcome.status == "4.7.1"
        queue = await net.restart()
        net.sink().refuse["carol@dest.test"].clear()
        queue.flush()  # the retry is 30 s away: retry now, as `postqueue -f` would
        await net.drained()
    assert [received.recipients for received in net.sink().received] == [["bob@dest.test"], ["carol@dest.test"]]


@async_test
async def test_permanent_refusal_bounces_an_rfc3464_report_with_the_original_header(tmp_path: Path) -> None:
    async with Net(tmp_path, dict(DEST, **ELSEWHERE), BOTH_SINKS) as net:
        net.sink().refuse["carol@dest.test"] = ["550 5.1.1 <carol@dest.test>: no such user"]
        queue_id = await net.queue.enqueue(SENDER, ["bob@dest.test", "carol@dest.test"], MESSAGE)
        await net.drained()
    assert [received.recipients for received in net.sink("127.0.0.1").received] == [["bob@dest.test"]]
    [bounce] = net.sink("127.0.0.3").received
    assert (bounce.sender, bounce.recipients) == ("<>", [SENDER])
    report, per_message, [recipient] = delivery_status(bounce.data)
    assert report["From"] == f"Mail Delivery System <MAILER-DAEMON@{HOSTNAME}>"
    assert report["Auto-Submitted"] == "auto-replied"
    assert field(per_message, "Reporting-MTA") == f"dns; {HOSTNAME}"
    assert field(per_message, "X-Tegami-Queue-ID") == queue_id
    assert field(recipient, "Final-Recipient") == "rfc822; carol@dest.test"
    assert field(recipient, "Action") == "failed"
    assert field(recipient, "Status") == "5.1.1"
    assert field(recipient, "Remote-MTA") == "dns; mx1.dest.test"
    assert field(recipient, "Diagnostic-Code") == "smtp; 550 5.1.1 <carol@dest.test>: no such user"
    headers = report.get_payload()[2].get_payload(decode=True)
    assert b"Subject: Quarterly report" in headers and b"The numbers are in" not in headers


@async_test
async def test_unreachable_mx_is_retried_then_bounced_into_the_local_senders_mailbox(tmp_path: Path) -> None:
    alice = ALICE
    records = dict(DEST, **{"mx1.dest.test": {"A": "127.0.0.2"}, "mx2.dest.test": {"A": "127.0.0.4"}})
    async with Net(tmp_path, records, mailboxes=[alice], queue_lifetime=1) as net:
        await net.queue.enqueue(alice.address, ["bob@dest.test"], MESSAGE)
        await net.drained()
        maildir = net.store.maildir(alice)
    [bounce] = [path.read_bytes() for path in (maildir / "new").iterdir()]
    assert bounce.startswith(b"Return-Path: <>\r\n")  # final delivery of a report from the null sender
    report, _, [recipient] = delivery_status(bounce)
    assert report["To"] == alice.address
    assert field(recipient, "Status") == "4.4.1"
    assert field(recipient, "Action") == "failed"
    assert field(recipient, "Diagnostic-Code").startswith("X-Tegami; connect to mx2.dest.test[127.0.0.4]")
    assert "gave up" in report.get_payload()[0].get_payload()
    assert net.dns.queries.count(("dest.test", "MX")) >= 2  # retried before giving up


@async_test
async def test_mail_still_pending_after_the_warning_time_earns_one_delayed_report(tmp_path: Path) -> None:
    records = dict(DEST, **{"mx1.dest.test": {"A": "127.0.0.2"}, "mx2.dest.test": {"A": "127.0.0.4"}})
    async with Net(tmp_path, records, mailboxes=[ALICE], queue_delay_warning=1, queue_lifetime=3600) as net:
        await net.queue.enqueue(ALICE.address, ["bob@dest.test"], MESSAGE)
        inbox = net.store.maildir(ALICE) / "new"
        await eventually(lambda: inbox.is_dir() and any(inbox.iterdir()), "the delayed report")
        [original] = [envelope for envelope in net.queue.envelopes() if envelope.sender]
        attempts = original.attempts
        await eventually(lambda: original.attempts > attempts, "a retry after the warning")
        [report_bytes] = [path.read_bytes() for path in inbox.iterdir()]  # warned once only
        assert original.id in [envelope.id for envelope in net.queue.envelopes()]  # still being retried
    report, _, [recipient] = delivery_status(report_bytes)
    assert report["Subject"] == "Delayed Mail (still being retried)"
    assert field(recipient, "Action") == "delayed"
    assert field(recipient, "Status") == "4.4.1"
    assert "Will-Retry-Until" in recipient


@async_test
async def test_undeliverable_mail_from_the_null_sender_is_not_bounced(tmp_path: Path) -> None:
    async with Net(tmp_path, dict(DEST, **ELSEWHERE), BOTH_SINKS) as net:
        net.sink().refuse["carol@dest.test"] = ["550 5.1.1 no such user"]
        await net.queue.enqueue("", ["carol@dest.test"], MESSAGE)
        await net.drained()
    assert net.sink().refuse["carol@dest.test"] == []  # the refusal was given
    assert net.sink("127.0.0.1").received == net.sink("127.0.0.3").received == []


@async_test
async def test_dns_failure_is_temporary_and_delivery_follows_when_dns_recovers(tmp_path: Path) -> None:
    async with Net(tmp_path, DEST) as net:
        net.dns.failing.add("dest.test")
        await net.queue.enqueue(SENDER, ["bob@dest.test"], MESSAGE)
        await eventually(lambda: net.dns.queries.count(("dest.test", "MX")) >= 2, "a retry")
        [saved] = net.queue.envelopes()
        assert saved.recipients[0].outcome is not None
        assert saved.recipients[0].outcome.status == "4.4.3"
        net.dns.failing.clear()
        await net.drained()
    assert [received.recipients for received in net.sink().received] == [["bob@dest.test"]]


@async_test
async def test_smarthost_takes_mail_for_domains_without_dns(tmp_path: Path) -> None:
    async with Net(tmp_path, {}, BOTH_SINKS) as net:
        server = replace(net.configs.current.server, smarthost=f"127.0.0.3:{net.port}")
        net.configs.current = replace(net.configs.current, server=server)
        await net.queue.enqueue(SENDER, ["bob@nowhere.test"], MESSAGE)
        await net.drained()
    assert [received.recipients for received in net.sink("127.0.0.3").received] == [["bob@nowhere.test"]]
    assert net.dns.queries == []


def test_hostile_addresses_are_refused_and_nothing_is_queued(tmp_path: Path) -> None:
    queue = Queue(tmp_path / "queue", StaticConfig(node("127.0.0.1:9", 25)))
    for sender, recipients in [
        (SENDER, ["bob@dest.test>\r\nRCPT TO:<victim@x.test"]),
        (SENDER, ["bob"]),
        (SENDER, []),
        ("alice@elsewhere.test\r\nDATA", ["bob@dest.test"]),
    ]:
        with pytest.raises(ValueError):
            asyncio.run(queue.enqueue(sender, recipients, MESSAGE))
    assert len(queue) == 0
    assert list((tmp_path / "queue" / "messages").iterdir()) == []


def test_start_up_clears_crash_debris_and_sets_corrupt_envelopes_aside(tmp_path: Path) -> None:
    spool = tmp_path / "queue"
    for directory in ("tmp", "messages", "envelopes"):
        (spool / directory).mkdir(parents=True)
    (spool / "tmp" / "half-written").write_bytes(b"From: x")
    (spool / "messages" / "orphan.eml").write_bytes(MESSAGE)  # its envelope was never committed
    (spool / "envelopes" / "broken.json").write_bytes(b'{"id": "broken", "sen')
    (spool / "messages" / "broken.eml").write_bytes(MESSAGE)
    queue = Queue(spool, StaticConfig(node("127.0.0.1:9", 25)))
    assert len(queue) == 0
    assert list((spool / "tmp").iterdir()) == list((spool / "messages").iterdir()) == []
    assert sorted(path.name for path in (spool / "corrupt").iterdir()) == ["broken.eml", "broken.json"]


@async_test
async def test_failed_tls_handshake_falls_back_to_plain_text_on_the_same_host(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path, "mx1.dest.test")
    picky = server_context(certificate)
    picky.verify_mode = ssl.CERT_REQUIRED  # demands a client certificate, which we never send
    picky.load_verify_locations(cadata=certificate.cert_pem)
    async with Net(tmp_path, DEST, BOTH_SINKS, tls=picky) as net:
        await net.queue.enqueue(SENDER, ["bob@dest.test"], MESSAGE)
        await net.drained()
    [received] = net.sink("127.0.0.1").received
    assert not received.tls
    assert net.sink("127.0.0.3").received == []


@async_test
async def test_internationalised_address_is_sent_with_smtputf8(tmp_path: Path) -> None:
    async with Net(tmp_path, DEST) as net:
        await net.queue.enqueue("jürgen@elsewhere.test", ["björk@dest.test"], MESSAGE)
        await net.drained()
    [received] = net.sink().received
    assert (received.sender, received.recipients) == ("jürgen@elsewhere.test", ["björk@dest.test"])


@async_test
async def test_internationalised_domain_is_sent_as_a_labels(tmp_path: Path) -> None:
    async with Net(tmp_path, {"例え.test": mx((10, "mx.例え.test")), "mx.例え.test": {"A": "127.0.0.1"}}) as net:
        await net.queue.enqueue("taro@送信.test", ["hanako@例え.test"], MESSAGE)
        await net.drained()
    [received] = net.sink().received  # ASCII envelope: any server takes it, SMTPUTF8 or not
    assert (received.sender, received.recipients) == ("taro@xn--vuq367m.test", ["hanako@xn--r8jz45g.test"])
