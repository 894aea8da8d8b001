"""Mailbox logins for every protocol: hash checks off the event loop, failures throttled.

`Authenticator.check` runs any credential check (passwords, APOP digests) inside the throttle;
`Authenticator.login` checks a password against the bundle's passlib hash in a worker thread
(argon2 takes tens of milliseconds: never on the loop). Failures are counted per client IP and per
account over a sliding window: past `tarpit_after` each further attempt is delayed (tarpit), past
`refuse_after` attempts are refused outright (a temporary refusal, so legitimate clients recover).
SMTP, IMAP and POP3 share one Authenticator so a guesser cannot rotate protocols.
"""
from __future__ import annotations

import asyncio
import enum
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from passlib.context import CryptContext

from maild.config import Config, Mailbox

# pbkdf2_sha256: app passwords (random secrets, so a fast hash suffices: panel/services/app_passwords.py).
_HASHES = CryptContext(schemes=["argon2", "bcrypt", "pbkdf2_sha256"])
# Verified when the account does not exist, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _HASHES.handler("bcrypt").using(rounds=4).hash("no such account")


@dataclass(frozen=True)
class ThrottlePolicy:
    window: float = 900.0  # seconds a failure counts against an IP or an account
    tarpit_after: int = 3  # failures before answers are delayed
    tarpit_step: float = 1.0  # seconds added per failure past tarpit_after
    tarpit_max: float = 10.0
    refuse_after: int = 10  # failures before attempts are refused without a check
    max_tracked: int = 100_000  # keys kept before expired ones are swept


class Throttle:
    """Failure counts over a sliding window, per key (`ip:...` and `account:...`)."""

    def __init__(self, policy: ThrottlePolicy | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def failures(self, key: str) -> int:
        recent = self._failures.get(key)
        if recent is None:
            return 0
        horizon = self._clock() - self.policy.window
        while recent and recent[0] < horizon:
            recent.popleft()
        if not recent:
            del self._failures[key]
            return 0
        return len(recent)

    def record_failure(self, key: str) -> None:
        if len(self._failures) >= self.policy.max_tracked:
            self._sweep()
        self._failures.setdefault(key, deque()).append(self._clock())

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def refused(self, *keys: str) -> bool:
        return any(self.failures(key) >= self.policy.refuse_after for key in keys)

    def delay(self, *keys: str) -> float:
        """The tarpit delay owed before answering an attempt by these keys."""
        worst = max((self.failures(key) for key in keys), default=0)
        excess = worst - self.policy.tarpit_after + 1
        return 0.0 if excess <= 0 else min(self.policy.tarpit_max, excess * self.policy.tarpit_step)

    def _sweep(self) -> None:
        for key in list(self._failures):
            self.failures(key)


class Outcome(enum.Enum):
    OK = "ok"
    INVALID = "invalid"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    mailbox: Mailbox | None = None


Verify = Callable[[Mailbox | None], Awaitable[bool]]


class Authenticator:
    """Logins against a Config's mailboxes (passwords, APOP), throttled per client IP and per account."""

    def __init__(self, throttle: Throttle | None = None) -> None:
        self.throttle = throttle or Throttle()

    def refused(self, ip: str) -> bool:
        """Whether this client is refused before it even names an account."""
        return self.throttle.refused(f"ip:{ip}")

    async def login(self, config: Config, ip: str, username: str, password: str) -> LoginResult:
        """A password (or app password) login."""
        async def verify(mailbox: Mailbox | None) -> bool:
            hashes = (mailbox.password_hash, *mailbox.app_password_hashes) if mailbox is not None else (_DUMMY_HASH,)
            return await asyncio.to_thread(_verify_any, password, hashes)

        return await self.check(config, ip, username, verify)

    async def check(self, config: Config, ip: str, username: str, verify: Verify) -> LoginResult:
        """Any credential check (password, APOP digest) inside the one throttle per IP and account.

        `verify` gets the enabled mailbox named `username`, or None when there is none (it should
        then fail in about the time a wrong credential takes, so a miss reveals nothing).
        """
        address = account_name(username)
        keys = (f"ip:{ip}", f"account:{address}")
        if self.throttle.refused(*keys):
            return LoginResult(Outcome.THROTTLED)
        mailbox = config.mailbox(address)
        if mailbox is not None and not config.serves(mailbox):
            mailbox = None
        if await verify(mailbox) and mailbox is not None:
            # The account's failures only: one good login must not wipe the guesses its client
            # made at other accounts (the IP's count fades with the window instead).
            self.throttle.clear(keys[1])
            return LoginResult(Outcome.OK, mailbox)
        delay = self.throttle.delay(*keys)
        for key in keys:
            self.throttle.record_failure(key)
        if delay:
            await asyncio.sleep(delay)
        return LoginResult(Outcome.INVALID)


def account_name(username: str) -> str:
    """The mailbox a login names: lower-case, the domain as IDNA, since users type `taro@例え.jp`
    where the bundle has `taro@xn--r8jz45g.jp`."""
    local, at, domain = username.strip().lower().rpartition("@")
    try:
        return f"{local}{at}{domain.encode('idna').decode('ascii')}"
    except UnicodeError:  # not a domain name at all: no mailbox has it, the login fails as unknown
        return username.strip().lower()


def still_allowed(config: Config, mailbox: Mailbox) -> bool:
    """Whether a session logged in as `mailbox` may go on under `config` (a newer bundle): the
    mailbox is still there, the same one (not deleted and created again), and may log in."""
    current = config.mailbox(mailbox.address)
    return (current is not None and (current.id, current.created) == (mailbox.id, mailbox.created)
            and config.serves(current))


def _verify_any(password: str, hashes: tuple[str, ...]) -> bool:
    """The mailbox password or any of its app passwords (docs/bundle.md `app_password_hashes`)."""
    return any(_verify(password, hashed) for hashed in hashes)


def _verify(password: str, hashed: str) -> bool:
    """passlib's check; a malformed or unknown hash in the bundle fails the login, never crashes it."""
    try:
        return _HASHES.verify(password, hashed)
    except (ValueError, TypeError):
        return False
