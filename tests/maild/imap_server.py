"""A live IMAP server on free loopback ports, run on its own event loop in a thread.

Blocking clients (imaplib, mbsync) talk to it from the test; `deliver` and `call` run store
operations on the server's loop, as SMTP delivery would.
"""
from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import imaplib
from passlib.hash import bcrypt

from maild.config import Config, Listener, Mailbox, Server
from maild.imap import serve_imap, serve_imaps
from maild.runtime import Runtime
from maild.store import Store

T = TypeVar("T")
PASSWORD = "correct horse"
_hash = bcrypt.using(rounds=4).hash(PASSWORD)
MAILBOX = Mailbox(id=1, local_part="bob", domain="example.com", password_hash=_hash, quota_bytes=50_000,
                  enabled=True, customer_id=1, max_message_bytes=1_000_000, sends_per_hour=None)


@dataclass
class _Configs:
    current: Config


class _NoQueue:
    async def enqueue(self, sender: str, recipients: list[str], data: bytes) -> object:
        raise RuntimeError("IMAP tests send no mail")


class ImapServer:
    """The server, its store and ports; stop() ends the loop and closes the listeners."""

    def __init__(self, data_dir: Path, mailbox: Mailbox = MAILBOX) -> None:
        self.mailbox = mailbox
        self.store = Store(data_dir / "mail")
        config = Config(schema=1, serial=1, checksum="test", server=Server("node1", "mail.test", ()),
                        mailboxes={mailbox.address: mailbox})
        self.runtime = Runtime(_Configs(config), self.store, _NoQueue(), data_dir)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._servers = self.call(self._start())
        self.port = self._servers[0].sockets[0].getsockname()[1]
        self.tls_port = self._servers[1].sockets[0].getsockname()[1]

    async def _start(self) -> list[asyncio.AbstractServer]:
        return [await serve_imap(self.runtime, Listener("imap", "127.0.0.1", 0)),
                await serve_imaps(self.runtime, Listener("imaps", "127.0.0.1", 0))]

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def deliver(self, data: bytes, folder: str = "INBOX") -> None:
        self.call(self.store.deliver(self.mailbox, data, folder))

    def set_quota(self, quota_bytes: int) -> None:
        self.mailbox = replace(self.mailbox, quota_bytes=quota_bytes)
        config = self.runtime.configs.current
        self.runtime.configs.current = replace(config, mailboxes={self.mailbox.address: self.mailbox})  # type: ignore[misc]

    def stop(self) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()
            for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
                task.cancel()

        self.call(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def client(self, login: bool = True, select: str | None = "INBOX") -> imaplib.IMAP4:
        """An imaplib client after STARTTLS (and LOGIN and SELECT unless told otherwise)."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=20)
        client.starttls(insecure_context())
        if login:
            client.login(self.mailbox.address, PASSWORD)
            if select:
                client.select(select)
        return client


def insecure_context() -> ssl.SSLContext:
    """Tests trust the node's self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def running_server(data_dir: Path) -> Iterator[ImapServer]:
    server = ImapServer(data_dir)
    try:
        yield server
    finally:
        server.stop()
