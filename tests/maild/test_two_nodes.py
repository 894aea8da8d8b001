"""Acceptance: two maild processes on loopback, found through a DNS server on loopback.

Mail submitted on node A for a domain hosted on node B travels A's queue -> MX lookup -> B's MX
listener -> B's store; mail for an unreachable MX is retried and finally bounced (RFC 3464) into
the sender's mailbox on A; mail A forwards leaves with an SRS sender that passes SPF at B, and a
bounce to that sender comes back through A to the original sender.
"""
from __future__ import annotations

import email
import re
import smtplib
import time
from pathlib import Path

from maild.config import Alias, Mailbox
from maild.store import Store
from tests.maild.dns_server import DnsServer
from tests.maild.support import MaildProcess, domain, free_port, insecure_context, mailbox, node_config, stored_messages

MESSAGE = (
    b"From: Alice <alice@a.test>\r\nTo: Bob <bob@b.test>\r\nSubject: Between nodes\r\n"
    b"Message-ID: <two-nodes@a.test>\r\n\r\nHello from node A.\r\n"
)
TIMEOUT = 20.0
ALICE_PASSWORD = "alice-secret"


def submit(node: MaildProcess, sender: str, recipients: list[str]) -> None:
    """Submission as a mail client does it: STARTTLS (self-signed: not verified), AUTH, send."""
    with smtplib.SMTP("127.0.0.1", node.ports["submission"], timeout=TIMEOUT) as client:
        client.starttls(context=insecure_context())
        client.login(sender, ALICE_PASSWORD)
        client.sendmail(sender, recipients, MESSAGE)


def wait_for_mail(node: MaildProcess, box: Mailbox) -> list[bytes]:
    maildir = Store(node.data_dir / "mail").maildir(box)
    deadline = time.monotonic() + TIMEOUT
    while not (messages := stored_messages(maildir)):
        assert time.monotonic() < deadline, f"no mail for {box.address} on {node.config.server.node}"
        time.sleep(0.05)
    return messages


def test_mail_submitted_on_node_a_arrives_in_the_mailbox_on_node_b(tmp_path: Path) -> None:
    alice = mailbox("alice@a.test", ALICE_PASSWORD)
    bob = mailbox("bob@b.test")
    records = {
        "b.test": {"MX": "10 mx.b.test."},
        "mx.b.test": {"A": "127.0.0.1"},
        "a.test": {"TXT": '"v=spf1 ip4:127.0.0.1 -all"'},
    }
    with DnsServer(records).running() as dns:
        node_b = MaildProcess(node_config(mailboxes=[bob], kinds=("mx",), node="b", hostname="mx.b.test",
                                          resolver=(dns.address,)), tmp_path / "b", kinds=("mx",))
        node_a = MaildProcess(node_config(mailboxes=[alice], kinds=("submission",), node="a",
                                          hostname="mx.a.test", resolver=(dns.address,),
                                          outbound_port=node_b.ports["mx"]),
                              tmp_path / "a", kinds=("submission",))
        with node_b, node_a:
            submit(node_a, alice.address, [bob.address])
            [stored] = wait_for_mail(node_b, bob)
    assert stored.endswith(MESSAGE)  # byte-identical after the trace headers both nodes prepend
    by_b, by_a = (" ".join(line.split()) for line in email.message_from_bytes(stored).get_all("Received"))
    assert "from mx.a.test" in by_b and "by mx.b.test" in by_b
    assert "with ESMTPS" in by_b  # node A used STARTTLS, offered by node B
    assert "by mx.a.test" in by_a
    assert ("b.test", "MX") in dns.queries


def test_unreachable_mx_ends_in_a_bounce_in_the_senders_mailbox(tmp_path: Path) -> None:
    alice = mailbox("alice@a.test", ALICE_PASSWORD)
    records = {"gone.test": {"MX": "10 mx.gone.test."}, "mx.gone.test": {"A": "127.0.0.2"}}
    with DnsServer(records).running() as dns:
        config = node_config(mailboxes=[alice], kinds=("submission",), node="a", hostname="mx.a.test",
                             resolver=(dns.address,), outbound_port=free_port(),  # nothing listens there
                             queue_retry_base=0.2, queue_lifetime=2)
        with MaildProcess(config, tmp_path / "a", kinds=("submission",)) as node_a:
            submit(node_a, alice.address, ["bob@gone.test"])
            [bounce] = wait_for_mail(node_a, alice)
    report = email.message_from_bytes(bounce)
    assert report.get_content_type() == "multipart/report"
    assert report["To"] == alice.address
    _human, status, headers = report.get_payload()
    _per_message, recipient = status.get_payload()
    assert recipient["Final-Recipient"] == "rfc822; bob@gone.test"
    assert (recipient["Action"], recipient["Status"]) == ("failed", "4.4.1")
    assert b"Subject: Between nodes" in headers.get_payload(decode=True)
    assert dns.queries.count(("gone.test", "MX")) >= 2  # retried before the bounce


def test_forwarded_mail_passes_spf_at_the_next_node_and_its_bounce_comes_home(tmp_path: Path) -> None:
    """Node A forwards info@a.test to bob@b.test and old@a.test to gone@b.test (unknown) on node B;
    carol@c.test, whose mailbox is on B, writes to both."""
    bob, carol = mailbox("bob@b.test"), mailbox("carol@c.test")
    records = {
        "b.test": {"MX": "10 mx.b.test."},
        "c.test": {"MX": "10 mx.b.test."},  # carol's mailbox is on node B too
        "mx.b.test": {"A": "127.0.0.1"},
        "a.test": {"TXT": '"v=spf1 ip4:127.0.0.1 -all"'},  # names node A, as the panel's DNS check asks
    }
    with DnsServer(records).running() as dns:
        node_b = MaildProcess(node_config(mailboxes=[bob, carol], kinds=("mx",), node="b", hostname="mx.b.test",
                                          resolver=(dns.address,)), tmp_path / "b", kinds=("mx",))
        aliases = [Alias("info@a.test", (bob.address,)), Alias("old@a.test", ("gone@b.test",))]
        node_a = MaildProcess(node_config(domains=[domain("a.test")], aliases=aliases,
                                          kinds=("mx",), node="a", hostname="mx.a.test", resolver=(dns.address,),
                                          outbound_port=node_b.ports["mx"]), tmp_path / "a", kinds=("mx",))
        with node_b, node_a:
            with smtplib.SMTP("127.0.0.1", node_a.ports["mx"], timeout=TIMEOUT) as client:
                client.sendmail(carol.address, ["info@a.test"], MESSAGE)
            [forwarded] = wait_for_mail(node_b, bob)
            results = " ".join(email.message_from_bytes(forwarded)["Authentication-Results"].split())
            return_address = re.search(r"spf=pass smtp.mailfrom=([^\s;]+)", results)
            assert return_address is not None, results  # SRS sender in a.test, not carol's c.test
            assert return_address[1].startswith("SRS0=") and return_address[1].endswith("=c.test=carol@a.test")

            with smtplib.SMTP("127.0.0.1", node_a.ports["mx"], timeout=TIMEOUT) as client:  # a bounce, by hand
                client.sendmail("<>", [return_address[1]], b"Subject: Undeliverable\r\n\r\nSorry.\r\n")
            [bounce] = wait_for_mail(node_b, carol)
            assert bounce.endswith(b"Subject: Undeliverable\r\n\r\nSorry.\r\n")

            with smtplib.SMTP("127.0.0.1", node_a.ports["mx"], timeout=TIMEOUT) as client:
                client.sendmail(carol.address, ["old@a.test"], MESSAGE)  # B refuses gone@b.test: A bounces
            deadline = time.monotonic() + TIMEOUT
            while len(mail := wait_for_mail(node_b, carol)) < 2:
                assert time.monotonic() < deadline, "no bounce from node A"
                time.sleep(0.05)
    report = email.message_from_bytes(next(m for m in mail if m != bounce))
    assert (report.get_content_type(), report["To"]) == ("multipart/report", carol.address)
    _per_message, recipient = report.get_payload()[1].get_payload()
    assert (recipient["Final-Recipient"], recipient["Status"]) == ("rfc822; gone@b.test", "5.1.1")
