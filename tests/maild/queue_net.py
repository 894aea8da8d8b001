"""A small mail network on loopback for queue tests: DNS server, SMTP sinks, a running Queue.

Sinks are aiosmtpd servers that record what they accept and can refuse recipients with scripted
replies. All sinks share one port on different loopback addresses (127.0.0.x), because MX
records carry no port: the queue dials `Server.outbound_port` on every MX host.
"""
from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from maild.config import Config, Domain, Mailbox, Server
from maild.queue import Queue
from maild.srs import Srs
from maild.store import Store
from tests.maild.dns_server import DnsServer, Records

TIMEOUT = 20.0
HOSTNAME = "mx.origin.test"


def async_test(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test in a fresh event loop, failing it if it takes more than a minute."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 60))

    return run


async def eventually(predicate: Callable[[], object], what: str) -> None:
    """Wait (generously: the CI machine is shared) until `predicate()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    tls: bool


@dataclass
class Sink:
    """An SMTP server that accepts everything except what `refuse` scripts per recipient."""

    host: str
    tls: ssl.SSLContext | None = None
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, list[str]] = field(default_factory=dict)  # address -> refusals, then accepted
    hold: float = 0.0  # seconds each DATA takes, so that overlapping deliveries show in `peak`
    busy: int = 0
    peak: int = 0  # most DATA commands in progress at once
    server: asyncio.Server | None = None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        replies = self.refuse.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.busy += 1
        self.peak = max(self.peak, self.busy)
        await asyncio.sleep(self.hold)
        self.busy -= 1
        self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos),
                                      envelope.original_content or b"", session.ssl is not None))
        return "250 2.0.0 Ok: queued"

    async def start(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self, hostname=f"sink-{self.host}", tls_context=self.tls, enable_SMTPUTF8=True),
            self.host, port,
        )

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class StaticConfig:
    """A ConfigSource whose Config a test may replace."""

    def __init__(self, config: Config) -> None:
        self.current = config


def node(resolver: str, port: int, *, mailboxes: Iterable[Mailbox] = (), **server: Any) -> Config:
    """The sending node's Config: DNS from `resolver` ("ip:port"), MX hosts dialled on `port`."""
    settings: dict[str, Any] = {"queue_retry_base": 0.1, "resolver": (resolver,), "outbound_port": port}
    settings.update(server)
    return Config(
        schema=1, serial=1, checksum="test",
        server=Server(node="origin", hostname=HOSTNAME, listeners=(), **settings),
        domains={box.domain: Domain(box.domain, "active", box.customer_id) for box in mailboxes},
        mailboxes={box.address: box for box in mailboxes},
    )


class Net:
    """DNS + sinks (one per address) + a running Queue on `directory`; stops all on exit.

    `net.restart()` stops the worker and starts a new Queue on the same directory, as after a
    daemon restart.
    """

    def __init__(self, directory: Path, records: Records, sinks: Iterable[str] = ("127.0.0.1",), *,
                 tls: ssl.SSLContext | None = None, mailboxes: Iterable[Mailbox] = (),
                 run: bool = True, concurrency: int = 20, **server: Any) -> None:
        self.directory = directory
        self.dns = DnsServer(records)
        self.sinks = {host: Sink(host, tls) for host in sinks}
        self.mailboxes = tuple(mailboxes)
        self.server_settings = server
        self.store = Store(directory / "mail")
        self.run = run
        self.concurrency = concurrency
        self.port = 0
        self.worker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Net:
        await self.dns.start()
        await self._start_sinks()
        self.configs = StaticConfig(node(self.dns.address, self.port, mailboxes=self.mailboxes, **self.server_settings))
        self.queue = self._new_queue()
        return self

    async def _start_sinks(self) -> None:
        """All sinks on one free port (retried: another test may take the port on a 2nd address)."""
        for _ in range(20):
            first, *others = self.sinks.values()
            await first.start(0)
            assert first.server is not None
            self.port = first.server.sockets[0].getsockname()[1]
            try:
                for sink in others:
                    await sink.start(self.port)
                return
            except OSError:
                for sink in self.sinks.values():
                    await sink.stop()
        raise RuntimeError("no port free on all sink addresses")

    def _new_queue(self) -> Queue:
        queue = Queue(self.directory / "queue", self.configs, store=self.store, srs=Srs.load(self.directory),
                      smtp_timeout=TIMEOUT, concurrency=self.concurrency)
        if self.run:
            self.worker = asyncio.create_task(queue.run())
        return queue

    async def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            await asyncio.gather(self.worker, return_exceptions=True)
            self.worker = None

    async def restart(self) -> Queue:
        await self.stop_worker()
        self.run = True
        self.queue = self._new_queue()
        return self.queue

    def sink(self, host: str = "127.0.0.1") -> Sink:
        return self.sinks[host]

    async def drained(self) -> None:
        """Wait until the queue holds nothing (delivered, bounced, or dropped)."""
        await eventually(lambda: len(self.queue) == 0, "the queue to empty")

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop_worker()
        for sink in self.sinks.values():
            await sink.stop()
        await self.dns.stop()


def mx(*hosts: tuple[int, str]) -> Mapping[str, list[str]]:
    return {"MX": [f"{preference} {host}." for preference, host in hosts]}
