"""Logins shared by SMTP, IMAP and POP3: hash checks, throttling; and reply code formatting."""
from __future__ import annotations

import asyncio
from dataclasses import replace

from maild import replies
from maild.auth import Authenticator, Outcome, Throttle, ThrottlePolicy, still_allowed
from tests.maild.support import mailbox, node_config


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_tarpits_then_refuses_then_forgives_after_the_window() -> None:
    clock = Clock()
    throttle = Throttle(ThrottlePolicy(window=60, tarpit_after=2, tarpit_step=1.5, tarpit_max=4, refuse_after=5), clock)
    delays = []
    for _ in range(5):
        delays.append(throttle.delay("ip:192.0.2.1"))
        assert not throttle.refused("ip:192.0.2.1")
        throttle.record_failure("ip:192.0.2.1")
    assert delays == [0.0, 0.0, 1.5, 3.0, 4.0]
    assert throttle.refused("ip:192.0.2.1", "account:bob@example.test")
    assert not throttle.refused("ip:192.0.2.2")
    clock.now += 61
    assert not throttle.refused("ip:192.0.2.1") and throttle.delay("ip:192.0.2.1") == 0.0


def test_login_accepts_the_right_password_only() -> None:
    bob = mailbox("bob@example.test", "right")
    config = node_config(mailboxes=[bob, mailbox("off@example.test", "right", enabled=False)])
    authenticator = Authenticator()

    async def attempts() -> list[Outcome]:
        return [
            (await authenticator.login(config, "192.0.2.1", "Bob@Example.TEST", "right")).outcome,
            (await authenticator.login(config, "192.0.2.1", "bob@example.test", "wrong")).outcome,
            (await authenticator.login(config, "192.0.2.1", "nobody@example.test", "right")).outcome,
            (await authenticator.login(config, "192.0.2.1", "off@example.test", "right")).outcome,
        ]

    assert asyncio.run(attempts()) == [Outcome.OK, Outcome.INVALID, Outcome.INVALID, Outcome.INVALID]


def test_malformed_hash_in_bundle_fails_the_login_without_crashing() -> None:
    broken = replace(mailbox("bob@example.test"), password_hash="$argon2id$garbage")
    config = node_config(mailboxes=[broken])
    result = asyncio.run(Authenticator().login(config, "192.0.2.1", "bob@example.test", "secret"))
    assert result.outcome is Outcome.INVALID


def test_per_account_failures_refuse_that_account_from_any_address() -> None:
    config = node_config(mailboxes=[mailbox("bob@example.test", "right")])
    authenticator = Authenticator(Throttle(ThrottlePolicy(tarpit_after=100, refuse_after=3)))

    async def spray() -> Outcome:
        for n in range(3):
            await authenticator.login(config, f"192.0.2.{n}", "bob@example.test", "guess")
        return (await authenticator.login(config, "198.51.100.7", "bob@example.test", "right")).outcome

    assert asyncio.run(spray()) is Outcome.THROTTLED


def test_a_good_login_does_not_forgive_the_clients_guesses_at_other_accounts() -> None:
    config = node_config(mailboxes=[mailbox("bob@example.test", "right")])
    authenticator = Authenticator(Throttle(ThrottlePolicy(tarpit_after=100, refuse_after=6)))

    async def interleaved() -> Outcome:
        async def guess_twice(round_: int) -> None:
            for n in range(2):
                await authenticator.login(config, "192.0.2.9", f"victim{round_}{n}@example.test", "guess")

        for round_ in range(2):
            await guess_twice(round_)
            assert (await authenticator.login(config, "192.0.2.9", "bob@example.test", "right")).outcome is Outcome.OK
        await guess_twice(2)
        return (await authenticator.login(config, "192.0.2.9", "bob@example.test", "right")).outcome

    assert asyncio.run(interleaved()) is Outcome.THROTTLED  # 6 failures from the IP in the window


def test_a_session_ends_with_its_mailbox_deleted_re_created_or_disabled() -> None:
    bob = replace(mailbox("bob@example.test", "right"), created=100)
    config = node_config(mailboxes=[bob])
    assert still_allowed(config, bob)
    for changed in (replace(bob, created=200), replace(bob, id=bob.id + 1), replace(bob, enabled=False)):
        assert not still_allowed(node_config(mailboxes=[changed]), bob)
    assert not still_allowed(node_config(mailboxes=[]), bob)


def test_aiosmtpd_replies_gain_enhanced_codes_ours_keep_theirs() -> None:
    assert replies.with_enhanced_code("552 Error: Too much mail data") == "552 5.3.4 Error: Too much mail data"
    assert replies.with_enhanced_code("503 Error: need RCPT command") == "503 5.5.1 Error: need RCPT command"
    assert replies.with_enhanced_code("250 OK") == "250 2.0.0 OK"
    assert replies.with_enhanced_code(str(replies.AUTH_THROTTLED)) == str(replies.AUTH_THROTTLED)
    assert replies.with_enhanced_code("354 End data with <CR><LF>.<CR><LF>").startswith("354 End")
    assert replies.NO_SUCH_USER.format(address="x@y") == "550 5.1.1 <x@y>: no such user here"
