"""What every protocol server gets from the daemon: config, store, queue, logins and TLS.

The store and queue are described by the small protocols below (what SMTP, IMAP and POP3 call),
so a server module depends on behaviour, not on a concrete class.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Protocol

from maild.auth import Authenticator
from maild.config import Config, Mailbox
from maild.ledger import UsageLedger
from maild.smtp.ratelimit import SendRate
from maild.srs import Srs
from maild.tls import ServerTls, TlsCache


class ConfigSource(Protocol):
    """Holds the running Config; a reload replaces `current` as a whole."""

    @property
    def current(self) -> Config: ...


class Usage(Protocol):
    @property
    def bytes(self) -> int: ...

    @property
    def messages(self) -> int: ...


class MailStore(Protocol):
    async def deliver(self, mailbox: Mailbox, data: bytes, folder: str = "INBOX") -> object:
        """Durable (fsync'd file and directory) before it returns."""

    def usage(self, mailbox: Mailbox) -> Usage: ...

    def pool_full(self, config: Config, mailbox: Mailbox, incoming: int) -> bool:
        """Whether the customer's storage pool has no room for `incoming` more bytes."""

    @property
    def ledger(self) -> UsageLedger: ...


class OutboundQueue(Protocol):
    async def enqueue(self, sender: str, recipients: list[str], data: bytes) -> object:
        """Durable before it returns; the delivery worker takes it from there."""


class Inflight:
    """Work a shutdown lets finish: a message being stored whose client waits for its 250."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if not self._count:
                self._idle.set()

    async def drained(self, timeout: float) -> bool:
        """Wait until nothing is in flight; False if `timeout` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass
class Runtime:
    configs: ConfigSource
    store: MailStore
    queue: OutboundQueue
    data_dir: Path
    authenticator: Authenticator = field(default_factory=Authenticator)
    tls_cache: TlsCache = field(default_factory=TlsCache)
    send_rate: SendRate = field(default_factory=SendRate)  # shared by every submission listener
    inflight: Inflight = field(default_factory=Inflight)
    apop_key_file: Path | None = None  # None: `<data_dir>/apop.key` (maild.apop.default_key_file)
    srs_key: InitVar[Srs | None] = None  # None: the key in `<data_dir>/srs.key`, made if missing
    srs: Srs = field(init=False)

    def __post_init__(self, srs_key: Srs | None) -> None:
        self.srs = srs_key or Srs.load(self.data_dir)

    @property
    def config(self) -> Config:
        return self.configs.current

    def tls(self, config: Config) -> ServerTls:
        """The TLS contexts for `config`, built once per distinct set of certificates."""
        return self.tls_cache.get(config, self.data_dir)
