"""MX: mail from the internet for hosted domains, through smtplib against a live maild."""
from __future__ import annotations

import asyncio
import base64
import email
import smtplib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from maild.config import Alias
from tests.maild.dns_server import DnsServer
from tests.maild.support import LiveDaemon, domain, mailbox, node_config, running_daemon, stored_messages

SENDER_KEY = ed25519.Ed25519PrivateKey.generate()
SENDER_PUBLIC = base64.b64encode(
    SENDER_KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
).decode()
RECORDS = {
    "sender.test": {"TXT": '"v=spf1 ip4:127.0.0.1 -all"'},
    "s1._domainkey.sender.test": {"TXT": f'"v=DKIM1; k=ed25519; p={SENDER_PUBLIC}"'},
    "forged.test": {"TXT": '"v=spf1 ip4:192.0.2.1 -all"'},
}
MESSAGE = (
    b"From: Alice <alice@sender.test>\r\nTo: bob@example.test\r\nSubject: =?utf-8?q?h=C3=A9llo?=\r\n"
    b"Message-ID: <1@sender.test>\r\n\r\nfirst line\r\n.leading dot stays\r\n8bit: \xc3\xa9\r\n"
)


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsServer]:
    with DnsServer(RECORDS).running() as server:
        yield server


@pytest.fixture
def maild(tmp_path: Path, dns: DnsServer) -> Iterator[LiveDaemon]:
    config = node_config(
        domains=[domain("example.test"), domain("other.test"), domain("sleepy.test", status="suspended")],
        mailboxes=[
            mailbox("bob@example.test"),
            mailbox("carol@example.test"),
            mailbox("tiny@example.test", quota_bytes=1000),
            mailbox("small@example.test", max_message_bytes=2000),
            mailbox("off@example.test", enabled=False),
            mailbox("dave@other.test"),
        ],
        aliases=[
            Alias("team@example.test", ("bob@example.test", "carol@example.test", "friend@elsewhere.test")),
            Alias("@other.test", ("dave@other.test",)),
            Alias("pal@other.test", ("buddy@elsewhere.test",)),
        ],
        resolver=(dns.address,),
    )
    with running_daemon(config, tmp_path) as live:
        yield live


def client(maild: LiveDaemon) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", maild.port("mx"), timeout=20)
    smtp.ehlo("client.sender.test")
    return smtp


def body_after_trace(stored: bytes) -> bytes:
    """The stored message without the trace fields maild prepended (Return-Path, Received,
    Authentication-Results)."""
    assert stored.startswith(b"Received: ") or stored.startswith(b"Return-Path: <")
    marker = stored.index(b"\r\nAuthentication-Results: ")
    rest = stored[marker + 2:]
    lines = rest.split(b"\r\n")
    index = 1
    while lines[index].startswith(b"\t"):
        index += 1
    return b"\r\n".join(lines[index:])


def test_ehlo_advertises_extensions_and_no_auth(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        for keyword in ("size", "pipelining", "8bitmime", "smtputf8", "enhancedstatuscodes", "starttls"):
            assert smtp.has_extn(keyword), keyword
        assert not smtp.has_extn("auth")
        code, reply = smtp.docmd("AUTH", "PLAIN AGJvYgBzZWNyZXQ=")
    assert code == 502


def test_delivered_message_is_sent_bytes_plus_trace_headers(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        assert smtp.sendmail("alice@sender.test", ["bob@example.test"], MESSAGE) == {}
    [stored] = stored_messages(maild.maildir("bob@example.test"))
    assert body_after_trace(stored) == MESSAGE
    assert stored.startswith(b"Return-Path: <alice@sender.test>\r\nReceived: from client.sender.test")
    assert b"by mx.tegami.test (Tegami maild) with ESMTP id " in stored
    assert b"for <bob@example.test>;" in stored


def test_unknown_recipient_gets_550_511(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        smtp.mail("alice@sender.test")
        code, reply = smtp.rcpt("nobody@example.test")
    assert (code, reply[:5]) == (550, b"5.1.1")


def test_disabled_mailbox_is_refused_permanently(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        smtp.mail("alice@sender.test")
        code, reply = smtp.rcpt("off@example.test")
    assert (code, reply[:5]) == (550, b"5.2.1")


@pytest.mark.parametrize("recipient, expected", [
    ("someone@elsewhere.test", (554, b"5.7.1")),  # a domain not hosted here
    ("someone@sleepy.test", (554, b"5.7.1")),  # hosted but suspended
    ("bob%example.test@elsewhere.test", (554, b"5.7.1")),  # percent hack
    ("bob@example.test@elsewhere.test", (553, b"5.1.3")),  # not an address at all
])
def test_relay_attempts_are_refused_even_from_loopback(maild: LiveDaemon, recipient: str, expected: tuple) -> None:
    with client(maild) as smtp:
        smtp.mail("alice@sender.test")
        code, reply = smtp.rcpt(recipient)
    assert (code, reply[:5]) == expected
    assert maild.queue.queued == []


def test_declared_size_over_server_limit_gets_552_534_at_mail(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        limit = int(smtp.esmtp_features["size"])
        code, reply = smtp.mail("alice@sender.test", [f"SIZE={limit + 1}"])
    assert (code, reply[:5]) == (552, b"5.3.4")


def test_declared_size_over_plan_limit_gets_552_534_at_rcpt(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        smtp.mail("alice@sender.test", ["SIZE=5000"])
        code, reply = smtp.rcpt("small@example.test")
    assert (code, reply[:5]) == (552, b"5.3.4")


def test_actual_data_over_plan_limit_gets_552_534(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        smtp.mail("alice@sender.test")
        assert smtp.rcpt("small@example.test")[0] == 250
        code, reply = smtp.data(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 60)
    assert (code, reply[:5]) == (552, b"5.3.4")
    assert stored_messages(maild.maildir("small@example.test")) == []


def test_mailbox_over_quota_gets_552_522(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        assert smtp.sendmail("alice@sender.test", ["tiny@example.test"], b"Subject: a\r\n\r\n" + b"x" * 100) == {}
        smtp.mail("alice@sender.test", ["SIZE=700"])
        code, reply = smtp.rcpt("tiny@example.test")
        assert (code, reply[:5]) == (552, b"5.2.2")
        smtp.rset()
        smtp.mail("alice@sender.test")
        assert smtp.rcpt("tiny@example.test")[0] == 250
        code, reply = smtp.data(b"Subject: b\r\n\r\n" + b"y" * 700 + b"\r\n")
    assert (code, reply[:5]) == (552, b"5.2.2")
    assert len(stored_messages(maild.maildir("tiny@example.test"))) == 1


def test_a_full_or_too_small_mailbox_does_not_fail_the_others(maild: LiveDaemon) -> None:
    big = MESSAGE + b"x" * 2500 + b"\r\n"  # over tiny's quota (1000) and small's limit (2000)
    with client(maild) as smtp:  # no SIZE at MAIL (sendmail would declare it, and RCPT would refuse)
        smtp.mail("alice@sender.test")
        for recipient in ("tiny@example.test", "bob@example.test", "small@example.test"):
            assert smtp.rcpt(recipient)[0] == 250
        assert smtp.data(big)[0] == 250
    assert [body_after_trace(m) for m in stored_messages(maild.maildir("bob@example.test"))] == [big]
    assert stored_messages(maild.maildir("tiny@example.test")) == stored_messages(maild.maildir("small@example.test")) == []
    [(sender, recipients, report)] = maild.queue.queued  # the rest bounce, as Postfix would after queueing
    assert (sender, recipients) == ("", ["alice@sender.test"])
    parsed = email.message_from_bytes(report)
    assert parsed.get_content_type() == "multipart/report"
    statuses = {block["Final-Recipient"]: (block["Action"], block["Status"])
                for block in parsed.get_payload()[1].get_payload()[1:]}
    assert statuses == {"rfc822; tiny@example.test": ("failed", "5.2.2"), "rfc822; small@example.test": ("failed", "5.3.4")}


def test_alias_delivers_locally_and_queues_external_destination(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        assert smtp.sendmail("alice@sender.test", ["team@example.test", "bob@example.test"], MESSAGE) == {}
    # bob is named twice (directly and through the alias) and gets one copy.
    assert [body_after_trace(m) for m in stored_messages(maild.maildir("bob@example.test"))] == [MESSAGE]
    assert [body_after_trace(m) for m in stored_messages(maild.maildir("carol@example.test"))] == [MESSAGE]
    [(sender, recipients, data)] = maild.queue.queued
    assert (recipients, body_after_trace(data)) == (["friend@elsewhere.test"], MESSAGE)
    # Forwarded from example.test, whose SPF names this node; a bounce finds its way back.
    assert sender.startswith("SRS0=") and sender.endswith("=sender.test=alice@example.test")
    assert maild.runtime.srs.reverse(sender) == "alice@sender.test"


def test_one_message_forwarded_by_two_domains_leaves_with_a_return_address_in_each(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        assert smtp.sendmail("Alice.Smith@sender.test", ["team@example.test", "pal@other.test"], MESSAGE) == {}
    senders = {tuple(recipients): sender for sender, recipients, _ in maild.queue.queued}
    assert set(senders) == {("friend@elsewhere.test",), ("buddy@elsewhere.test",)}
    assert senders[("friend@elsewhere.test",)].endswith("=Alice.Smith@example.test")
    assert senders[("buddy@elsewhere.test",)].endswith("=Alice.Smith@other.test")
    assert {maild.runtime.srs.reverse(sender) for sender in senders.values()} == {"Alice.Smith@sender.test"}
    # Not mail sent by a customer: no domain's outbound count grows (sender.test is not even hosted).
    assert all(out == 0 for _, out in maild.runtime.store.ledger.take().traffic.values())


def test_a_bounce_to_a_forwarding_return_address_goes_back_to_the_original_sender(maild: LiveDaemon) -> None:
    return_address = maild.runtime.srs.forward("Alice.Smith@sender.test", "example.test")
    tag_and_hash, rest = return_address[:14], return_address[14:]
    with client(maild) as smtp:  # relays may change the case of the tag and hash
        assert smtp.sendmail("<>", [tag_and_hash.lower() + rest], MESSAGE) == {}
    [(sender, recipients, data)] = maild.queue.queued
    assert (sender, recipients, body_after_trace(data)) == ("", ["Alice.Smith@sender.test"], MESSAGE)


def test_return_addresses_are_no_relay(maild: LiveDaemon) -> None:
    srs = maild.runtime.srs
    return_address = srs.forward("alice@sender.test", "example.test")
    forged = return_address.replace("=sender.test=alice@", "=victim.test=alice@")
    expired = srs.forward("alice@sender.test", "example.test", now=time.time() - 30 * 86400)
    with client(maild) as smtp:
        smtp.mail("spammer@sender.test")  # only bounces may use one, or whoever saw one could relay
        code, reply = smtp.rcpt(return_address)
        assert (code, reply[:5]) == (550, b"5.7.1")
        smtp.rset()
        smtp.mail("<>")
        for refused in (forged, expired, "SRS0=garbage@example.test"):
            code, reply = smtp.rcpt(refused)
            assert (code, reply[:5]) == (550, b"5.1.1"), refused
            assert b"return address" in reply
        # Made for example.test, not other.test: there it is just an unknown local part (catch-all).
        assert smtp.rcpt(return_address.replace("@example.test", "@other.test"))[0] == 250
        smtp.data(MESSAGE)
    assert maild.queue.queued == []
    assert len(stored_messages(maild.maildir("dave@other.test"))) == 1


def test_catch_all_takes_unknown_local_parts(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        assert smtp.sendmail("alice@sender.test", ["Anything.Else@OTHER.test"], MESSAGE) == {}
    [stored] = stored_messages(maild.maildir("dave@other.test"))
    assert body_after_trace(stored) == MESSAGE


def test_null_sender_bounces_are_accepted(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        assert smtp.sendmail("<>", ["bob@example.test"], MESSAGE) == {}
    [stored] = stored_messages(maild.maildir("bob@example.test"))
    assert b"spf=" in stored and b"smtp.helo=client.sender.test" in stored


def test_spf_and_dkim_results_are_recorded(maild: LiveDaemon) -> None:
    signed = dkim.sign(MESSAGE, b"s1", b"sender.test", base64.b64encode(SENDER_KEY.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())),
        signature_algorithm=b"ed25519-sha256") + MESSAGE
    with client(maild) as smtp:
        assert smtp.sendmail("alice@sender.test", ["bob@example.test"], signed) == {}
        tampered = signed.replace(b"first line", b"forged line")
        assert smtp.sendmail("mallory@forged.test", ["carol@example.test"], tampered) == {}
    [good] = stored_messages(maild.maildir("bob@example.test"))
    assert b"spf=pass smtp.mailfrom=alice@sender.test" in good
    assert b"dkim=pass header.d=sender.test header.s=s1" in good
    [bad] = stored_messages(maild.maildir("carol@example.test"))
    assert b"spf=fail smtp.mailfrom=mallory@forged.test" in bad
    assert b"dkim=fail header.d=sender.test header.s=s1" in bad


def test_store_failure_answers_451_430_and_daemon_keeps_serving(maild: LiveDaemon) -> None:
    # A file where carol's mail directory belongs: the store cannot work, the client must retry.
    carol_home = maild.maildir("carol@example.test").parent
    carol_home.parent.mkdir(parents=True, exist_ok=True)
    carol_home.write_bytes(b"")
    with client(maild) as smtp:
        smtp.mail("alice@sender.test")
        code, reply = smtp.rcpt("carol@example.test")
        assert (code, reply[:5]) == (451, b"4.3.0")
        assert b"Error" not in reply and b"Directory" not in reply
        smtp.rset()
        assert smtp.sendmail("alice@sender.test", ["bob@example.test"], MESSAGE) == {}


def test_hostile_input_gets_errors_not_a_crash(maild: LiveDaemon) -> None:
    with socket.create_connection(("127.0.0.1", maild.port("mx")), timeout=20) as raw:
        stream = raw.makefile("rb")
        assert stream.readline().startswith(b"220 ")
        for line in (b"\x00\xff\xfe garbage", b"EHLO " + b"a" * 5000, b"MAIL FROM:<\xff@\xfe>", b"RCPT TO:<x>",
                     b"MAIL FROM:<a@b> SIZE=abc", b"DATA"):
            raw.sendall(line + b"\r\n")
            reply = stream.readline()
            assert reply[:1] in (b"4", b"5"), (line, reply)
    with client(maild) as smtp:
        assert smtp.sendmail("alice@sender.test", ["bob@example.test"], MESSAGE) == {}


def test_reloaded_config_serves_new_connections_while_open_ones_keep_theirs(maild: LiveDaemon) -> None:
    config = maild.holder.current
    newbie = mailbox("newbie@example.test")
    with client(maild) as before:
        maild.swap(replace(config, serial=config.serial + 1, mailboxes={**config.mailboxes, newbie.address: newbie}))
        before.mail("alice@sender.test")
        assert before.rcpt("newbie@example.test")[0] == 550
    with client(maild) as after:
        assert after.sendmail("alice@sender.test", ["newbie@example.test"], MESSAGE) == {}
    assert len(stored_messages(maild.maildir("newbie@example.test"))) == 1


def raw_session(port: int, script: bytes) -> list[bytes]:
    """Send `script` in one write (a pipelining client) and read replies until QUIT's 221."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        stream = raw.makefile("rb")
        stream.readline()
        raw.sendall(script)
        replies = []
        while not replies or not replies[-1].startswith(b"221"):
            replies.append(stream.readline())
        return replies


def test_bare_lf_dot_does_not_end_the_message_no_smuggling(maild: LiveDaemon) -> None:
    smuggled = b"MAIL FROM:<boss@example.test>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\nSubject: forged\r\n\r\nx\r\n"
    replies = raw_session(maild.port("mx"), (
        b"EHLO client.sender.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
        b"Subject: one\r\n\r\ntext\n.\r\n" + smuggled + b".\r\nQUIT\r\n"))
    assert [line[:3] for line in replies if not line.startswith(b"250-")] == [b"250", b"250", b"250", b"354", b"250", b"221"]
    [stored] = stored_messages(maild.maildir("bob@example.test"))
    assert stored.endswith(b"Subject: one\r\n\r\ntext\n.\r\n" + smuggled)
    assert stored_messages(maild.maildir("carol@example.test")) == []


def test_empty_message_and_dot_lines_round_trip(maild: LiveDaemon) -> None:
    replies = raw_session(maild.port("mx"), (
        b"HELO client.sender.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n.\r\n"
        b"MAIL FROM:<alice@sender.test>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\n..\r\n...x\r\n.\r\nQUIT\r\n"))
    assert [line[:3] for line in replies] == [b"250", b"250", b"250", b"354", b"250", b"250", b"250", b"354", b"250", b"221"]
    [empty] = stored_messages(maild.maildir("bob@example.test"))
    assert empty.endswith(b"dkim=none\r\n")
    [dots] = stored_messages(maild.maildir("carol@example.test"))
    assert dots.endswith(b"dkim=none\r\n.\r\n..x\r\n")


def test_message_over_server_limit_is_drained_and_refused_with_552_534(tmp_path: Path, dns: DnsServer) -> None:
    config = node_config(mailboxes=[mailbox("bob@example.test")], max_message_bytes=4096, resolver=(dns.address,))
    with running_daemon(config, tmp_path) as live, client(live) as smtp:
        smtp.mail("alice@sender.test")
        smtp.rcpt("bob@example.test")
        code, reply = smtp.data(b"Subject: big\r\n\r\n" + b"z" * 20_000 + b"\r\n" + (b"." * 70 + b"\r\n") * 100)
        assert (code, reply[:5]) == (552, b"5.3.4")
        assert smtp.sendmail("alice@sender.test", ["bob@example.test"], MESSAGE) == {}
        assert [body_after_trace(m) for m in stored_messages(live.maildir("bob@example.test"))] == [MESSAGE]


def test_no_dns_lookups_for_a_sender_until_a_recipient_is_accepted(maild: LiveDaemon, dns: DnsServer) -> None:
    asked_before = len(dns.queries)
    with client(maild) as smtp:
        for _ in range(5):
            smtp.mail("someone@forged.test")
            assert smtp.rcpt("nobody@example.test")[0] == 550
            smtp.rset()
    assert dns.queries[asked_before:] == []


def test_quoted_local_part_with_space_gets_553_513(maild: LiveDaemon) -> None:
    with client(maild) as smtp:
        smtp.mail("alice@sender.test")
        code, reply = smtp.rcpt('"bob smith"@example.test')
    assert (code, reply[:5]) == (553, b"5.1.3")


def test_stopping_lets_a_message_being_stored_finish_with_its_250(tmp_path: Path, dns: DnsServer) -> None:
    config = node_config(mailboxes=[mailbox("bob@example.test")], resolver=(dns.address,))
    storing, outcome = threading.Event(), {}
    with running_daemon(config, tmp_path) as live:
        deliver = live.runtime.store.deliver

        async def slow_deliver(*args: object, **kwargs: object) -> object:
            storing.set()
            await asyncio.sleep(0.5)
            return await deliver(*args, **kwargs)

        live.runtime.store.deliver = slow_deliver  # type: ignore[method-assign]

        def send() -> None:
            with client(live) as smtp:
                outcome["refused"] = smtp.sendmail("alice@sender.test", ["bob@example.test"], MESSAGE)

        sender = threading.Thread(target=send)
        sender.start()
        assert storing.wait(20)
    sender.join(20)  # the daemon has stopped by now
    assert outcome == {"refused": {}}
    assert len(stored_messages(tmp_path / "data" / "mail" / "example.test" / "bob" / "Maildir")) == 1


def test_client_vanishing_mid_data_stores_nothing(maild: LiveDaemon) -> None:
    with socket.create_connection(("127.0.0.1", maild.port("mx")), timeout=20) as raw:
        stream = raw.makefile("rb")
        stream.readline()
        raw.sendall(b"HELO client.sender.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert [stream.readline()[:3] for _ in range(4)] == [b"250", b"250", b"250", b"354"]
        raw.sendall(b"Subject: cut short\r\n\r\nhalf a mess")
    with client(maild) as smtp:
        assert smtp.sendmail("alice@sender.test", ["bob@example.test"], MESSAGE) == {}
    assert [body_after_trace(m) for m in stored_messages(maild.maildir("bob@example.test"))] == [MESSAGE]


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed (scripts/install-test-deps)")
def test_swaks_open_relay_probe_is_refused_and_local_delivery_works(maild: LiveDaemon) -> None:
    def swaks(recipient: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(maild.port("mx")), "--helo", "probe.sender.test",
             "--from", "alice@sender.test", "--to", recipient, "--header", "Subject: swaks over MX"],
            capture_output=True, text=True, timeout=60,
        )

    relay = swaks("victim@elsewhere.test")
    assert relay.returncode != 0 and "<** 554 5.7.1 <victim@elsewhere.test>: relay access denied" in relay.stdout
    local = swaks("bob@example.test")
    assert local.returncode == 0, local.stdout + local.stderr
    [stored] = stored_messages(maild.maildir("bob@example.test"))
    assert b"Subject: swaks over MX" in stored and b"from probe.sender.test ([127.0.0.1])" in stored
    assert maild.queue.queued == []


def test_internationalized_domain_reaches_its_idna_mailbox(tmp_path: Path, dns: DnsServer) -> None:
    box = mailbox("jo@xn--r8jz45g.test")
    with running_daemon(node_config(mailboxes=[box], resolver=(dns.address,)), tmp_path) as live, client(live) as smtp:
        message = "Subject: utf8\r\n\r\nこんにちは\r\n".encode()
        assert smtp.sendmail("alice@sender.test", ["jo@例え.test"], message, mail_options=["SMTPUTF8"]) == {}
        [stored] = stored_messages(live.maildir(box.address))
    assert stored.endswith(message) and "for <jo@例え.test>".encode() in stored
