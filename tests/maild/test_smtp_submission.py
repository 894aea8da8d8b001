"""Submission (587 STARTTLS, 465 implicit TLS): AUTH, sender ownership, rate, DKIM, routing."""
from __future__ import annotations

import base64
import shutil
import smtplib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from maild.auth import Authenticator, Throttle, ThrottlePolicy
from maild.config import Alias, DkimKey
from tests.maild.support import LiveDaemon, domain, insecure_context, mailbox, node_config, running_daemon, stored_messages

PASSWORD = "s3cret pass"
DKIM_KEY = ed25519.Ed25519PrivateKey.generate()
DKIM_PEM = DKIM_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
DKIM_RECORD = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(
    DKIM_KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
)
MESSAGE = b"From: Bob <bob@example.test>\r\nTo: x@remote.test\r\nSubject: report\r\n\r\nnumbers\r\n"


@pytest.fixture
def maild(tmp_path: Path) -> Iterator[LiveDaemon]:
    config = node_config(
        domains=[domain("example.test", dkim=DkimKey("mail", "ed25519-sha256", DKIM_PEM))],
        mailboxes=[
            mailbox("bob@example.test", PASSWORD, sends_per_hour=3, max_message_bytes=5000),
            mailbox("carol@example.test", PASSWORD),
            mailbox("dave@plain.test", PASSWORD),
        ],
        aliases=[Alias("sales@example.test", ("bob@example.test",)), Alias("@example.test", ("carol@example.test",))],
    )
    throttle = Throttle(ThrottlePolicy(tarpit_after=2, tarpit_step=0.05, refuse_after=4))
    with running_daemon(config, tmp_path, runtime_options={"authenticator": Authenticator(throttle)}) as live:
        yield live


def starttls_client(maild: LiveDaemon) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", maild.port("submission"), timeout=20)
    smtp.starttls(context=insecure_context())
    smtp.ehlo("laptop")
    return smtp


def logged_in(maild: LiveDaemon, user: str = "bob@example.test") -> smtplib.SMTP:
    smtp = starttls_client(maild)
    smtp.login(user, PASSWORD)
    return smtp


def test_nothing_but_starttls_before_tls(maild: LiveDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", maild.port("submission"), timeout=20) as smtp:
        smtp.ehlo("laptop")
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
        assert smtp.docmd("AUTH", plain("bob@example.test", PASSWORD))[:2] == (
            530, b"5.7.0 Must issue a STARTTLS command first")
        assert smtp.docmd("MAIL", "FROM:<bob@example.test>")[0] == 530


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_after_starttls_then_send(maild: LiveDaemon, mechanism: str) -> None:
    with starttls_client(maild) as smtp:
        assert smtp.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        smtp.user, smtp.password = "bob@example.test", PASSWORD
        assert smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"), initial_response_ok=False)[0] == 235
        assert smtp.sendmail("bob@example.test", ["carol@example.test"], MESSAGE) == {}
    assert len(stored_messages(maild.maildir("carol@example.test"))) == 1


def test_implicit_tls_submission_authenticates_and_sends(maild: LiveDaemon) -> None:
    with smtplib.SMTP_SSL("127.0.0.1", maild.port("submissions"), timeout=20, context=insecure_context()) as smtp:
        smtp.ehlo("laptop")
        assert not smtp.has_extn("starttls")
        assert smtp.login("bob@example.test", PASSWORD)[0] == 235
        assert smtp.sendmail("bob@example.test", ["x@remote.test"], MESSAGE) == {}
    [(sender, recipients, data)] = maild.queue.queued
    assert (sender, recipients) == ("bob@example.test", ["x@remote.test"])
    assert b"with ESMTPSA" in data and data.endswith(MESSAGE)


def test_wrong_password_gets_535(maild: LiveDaemon) -> None:
    with starttls_client(maild) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
            smtp.login("bob@example.test", "wrong")
        assert failure.value.smtp_code == 535
        assert failure.value.smtp_error.startswith(b"5.7.8")
        assert smtp.docmd("MAIL", "FROM:<bob@example.test>")[:2] == (530, b"5.7.0 authentication required")


def test_malformed_auth_answers_501_and_session_goes_on(maild: LiveDaemon) -> None:
    with starttls_client(maild) as smtp:
        assert smtp.docmd("AUTH", "PLAIN not-base64!")[0] == 501
        assert smtp.docmd("AUTH", "PLAIN " + base64.b64encode(b"no separators").decode())[0] == 501
        assert smtp.docmd("AUTH", "LOGIN")[:2] == (334, base64.b64encode(b"Username:"))
        assert smtp.docmd("*")[0] == 501
        assert smtp.login("bob@example.test", PASSWORD)[0] == 235


def plain(user: str, password: str) -> str:
    return "PLAIN " + base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def test_repeated_failures_are_refused_with_454_even_with_the_right_password(maild: LiveDaemon) -> None:
    with starttls_client(maild) as smtp:
        for _ in range(4):
            assert smtp.docmd("AUTH", plain("bob@example.test", "guess"))[0] == 535
        code, reply = smtp.docmd("AUTH", plain("bob@example.test", PASSWORD))
        assert (code, reply[:5]) == (454, b"4.7.0")
    # Another account from the same client is refused as well: the client IP is throttled.
    with starttls_client(maild) as smtp:
        assert smtp.docmd("AUTH", plain("carol@example.test", PASSWORD))[0] == 454


def test_sender_must_be_own_address_or_alias(maild: LiveDaemon) -> None:
    with logged_in(maild) as smtp:
        code, reply = smtp.mail("carol@example.test")
        assert (code, reply[:5]) == (553, b"5.7.1")
        code, reply = smtp.mail("anything@example.test")  # the catch-all does not make it bob's
        assert (code, reply[:5]) == (553, b"5.7.1")
        code, reply = smtp.mail("<>")
        assert (code, reply[:5]) == (553, b"5.7.1")
        assert smtp.mail("Sales@Example.test")[0] == 250


def test_sends_per_hour_limit_gets_451_471(maild: LiveDaemon) -> None:
    with logged_in(maild) as smtp:
        assert smtp.sendmail("bob@example.test", ["a@remote.test", "b@remote.test"], MESSAGE) == {}
        smtp.mail("bob@example.test")
        assert smtp.rcpt("c@remote.test")[0] == 250
        code, reply = smtp.rcpt("d@remote.test")
        assert (code, reply[:5]) == (451, b"4.7.1")
        assert smtp.data(MESSAGE)[0] == 250
        code, reply = smtp.mail("bob@example.test")
        assert (code, reply[:5]) == (451, b"4.7.1")
    with logged_in(maild, "carol@example.test") as smtp:  # the limit is per mailbox
        assert smtp.sendmail("carol@example.test", ["e@remote.test"], MESSAGE) == {}


def test_message_over_plan_size_gets_552_534(maild: LiveDaemon) -> None:
    with logged_in(maild) as smtp:
        code, reply = smtp.mail("bob@example.test", ["SIZE=6000"])
        assert (code, reply[:5]) == (552, b"5.3.4")
        smtp.rset()
        smtp.mail("bob@example.test")
        smtp.rcpt("x@remote.test")
        code, reply = smtp.data(MESSAGE + (b"y" * 70 + b"\r\n") * 80)
        assert (code, reply[:5]) == (552, b"5.3.4")
    assert maild.queue.queued == []


def test_local_copy_delivered_and_remote_queued_both_dkim_signed(maild: LiveDaemon) -> None:
    with logged_in(maild) as smtp:
        assert smtp.sendmail("bob@example.test", ["carol@example.test", "x@remote.test"], MESSAGE) == {}
    [local] = stored_messages(maild.maildir("carol@example.test"))
    [(_, recipients, queued)] = maild.queue.queued
    assert recipients == ["x@remote.test"] and local == b"Return-Path: <bob@example.test>\r\n" + queued
    assert local.endswith(MESSAGE)

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return DKIM_RECORD if name == b"mail._domainkey.example.test." else None

    assert b"d=example.test" in local and b"s=mail" in local
    assert dkim.verify(local, dnsfunc=dns)
    assert not dkim.verify(local.replace(b"numbers", b"NUMBERS"), dnsfunc=dns)


def test_unknown_local_recipient_gets_550_511_and_catch_all_takes_the_rest(maild: LiveDaemon) -> None:
    with logged_in(maild) as smtp:
        smtp.mail("bob@example.test")
        code, reply = smtp.rcpt("nobody@plain.test")
        assert (code, reply[:5]) == (550, b"5.1.1")
        assert smtp.rcpt("nobody@example.test")[0] == 250
        assert smtp.data(MESSAGE)[0] == 250
    assert len(stored_messages(maild.maildir("carol@example.test"))) == 1


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed (scripts/install-test-deps)")
def test_swaks_submits_over_starttls(maild: LiveDaemon) -> None:
    result = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(maild.port("submission")), "--tls",
         "--auth", "LOGIN", "--auth-user", "bob@example.test", "--auth-password", PASSWORD,
         "--from", "bob@example.test", "--to", "carol@example.test", "--header", "Subject: from swaks",
         "--body", "hello from swaks"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<~  235 2.7.0" in result.stdout
    [stored] = stored_messages(maild.maildir("carol@example.test"))
    assert b"Subject: from swaks" in stored and b"hello from swaks" in stored
