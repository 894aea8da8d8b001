"""A line-oriented connection on an asyncio Protocol, with in-place STARTTLS (POP3 and IMAP).

Streams would do for reading lines, but STLS/STARTTLS must refuse plaintext a client pipelined behind it
(otherwise an attacker's injected commands run inside the TLS session, CVE-2011-0411), and that
needs to see the unread input. So this owns its buffer: lines are bounded, reading pauses while
the buffer is full (a fast client cannot make it grow), and writes honour transport flow control.
"""
from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from maild.tls import log_failed_handshake

READ_BUFFER_HIGH = 64 * 1024  # stop reading from the socket past this much unread input
TLS_HANDSHAKE_TIMEOUT = 30.0


class ConnectionClosed(Exception):
    """The peer closed the connection (or it broke) before a full line arrived."""


class LineTooLong(Exception):
    """The peer sent more than the line limit without a line end."""


class LineConnection(asyncio.Protocol):
    """One client connection; `session` runs as a task from `connection_made` until it returns."""

    def __init__(self, session: Callable[[LineConnection], Coroutine[Any, Any, None]], max_line: int) -> None:
        self._session = session
        self.max_line = max_line
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._reading_paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    # ---- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > READ_BUFFER_HIGH and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake(self._data_waiter)

    def eof_received(self) -> bool:
        self._eof = True
        self._wake(self._data_waiter)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake(self._data_waiter)
        self._wake(self._drain_waiter)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake(self._drain_waiter)

    @staticmethod
    def _wake(waiter: asyncio.Future[None] | None) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _run(self) -> None:
        try:
            await self._session(self)
        finally:
            self.close()

    # ---- for the session -----------------------------------------------------------------

    @property
    def peer_ip(self) -> str:
        peer = self.transport.get_extra_info("peername") if self.transport is not None else None
        return str(peer[0]) if peer else "unknown"

    @property
    def secure(self) -> bool:
        return self.transport is not None and self.transport.get_extra_info("ssl_object") is not None

    @property
    def has_unread_input(self) -> bool:
        return bool(self._buffer)

    async def readline(self) -> bytes:
        """The next line with its line end; LineTooLong past `max_line`, ConnectionClosed at EOF."""
        while True:
            end = self._buffer.find(b"\n", 0, self.max_line)
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                self._maybe_resume_reading()
                return line
            if len(self._buffer) >= self.max_line:
                raise LineTooLong()
            await self.wait_for_data()

    async def wait_for_data(self) -> None:
        """Until more input arrives; ConnectionClosed if none ever will (for readers of the buffer)."""
        if self._eof:
            raise ConnectionClosed()
        self._data_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._data_waiter
        finally:
            self._data_waiter = None

    def _maybe_resume_reading(self) -> None:
        if self._reading_paused and len(self._buffer) <= READ_BUFFER_HIGH // 2 and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the transport's write buffer is over its high-water mark."""
        while self._write_paused and not self._eof:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None
        if self._eof:
            raise ConnectionClosed()

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Switch to TLS in place (after `+OK` to STLS, or at once on an implicit-TLS port).

        A handshake that fails is the client's doing (scanners, TLS 1.1 clients): it is logged
        in one line here and ends the session as ConnectionClosed, which sessions expect anyway.
        """
        assert self.transport is not None
        peer = self.transport.get_extra_info("peername")
        try:
            transport = await asyncio.get_running_loop().start_tls(
                self.transport, self, context, server_side=True, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        except OSError as error:  # ssl.SSLError, a reset, or the handshake timeout (ConnectionAbortedError)
            log_failed_handshake(peer, error)
            raise ConnectionClosed() from error
        if transport is None:
            log_failed_handshake(peer, None)
            raise ConnectionClosed()
        self.transport = transport

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
