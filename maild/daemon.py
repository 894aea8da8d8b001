"""The daemon: one server per configured listener, plus background services, until told to stop.

Listener kinds map to server factories in `SERVERS`. A protocol adds its kinds with one line
each, e.g. the IMAP and POP3 servers::

    SERVERS["imap"] = imap.serve_imap   # async (runtime, listener) -> asyncio.Server

Background services (the bundle reloader, the queue worker) are coroutine factories run as tasks
for the daemon's lifetime; one that crashes is logged and restarted after a pause, so a bug in
one never takes the listeners down with it.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from maild.config import Listener
from maild.imap import serve_imap, serve_imaps
from maild.pop3 import serve_pop3, serve_pop3s
from maild.runtime import Runtime
from maild.smtp.server import serve_mx, serve_submission, serve_submissions
from maild.tls import limit_read_buffers

log = logging.getLogger("maild")

ServerFactory = Callable[[Runtime, Listener], Awaitable[asyncio.Server]]
Service = Callable[[], Awaitable[None]]

SERVERS: dict[str, ServerFactory] = {
    "mx": serve_mx,
    "submission": serve_submission,
    "submissions": serve_submissions,
    "pop3": serve_pop3,
    "pop3s": serve_pop3s,
    "imap": serve_imap,
    "imaps": serve_imaps,
}
RESTART_PAUSE = 5.0  # seconds before a crashed background service runs again
SHUTDOWN_GRACE = 10.0  # seconds a stop waits for messages being stored (their clients await 250)


class UnknownListener(ValueError):
    """The bundle names a listener kind this daemon has no server for."""


@dataclass(frozen=True)
class Bound:
    kind: str
    host: str
    port: int


class Daemon:
    def __init__(self, runtime: Runtime, listeners: Sequence[Listener] | None = None, services: Sequence[Service] = ()) -> None:
        self.runtime = runtime
        self.listeners = tuple(listeners if listeners is not None else runtime.config.server.listeners)
        self.services = tuple(services)
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> list[Bound]:
        """Bind every listener (all or none) and start the services; the addresses actually bound."""
        unknown = sorted({listener.kind for listener in self.listeners} - SERVERS.keys())
        if unknown:
            raise UnknownListener(f"no server for listener kind(s) {', '.join(unknown)}")
        limit_read_buffers()  # every listener speaks TLS (implicit or after STARTTLS)
        bound: list[Bound] = []
        try:
            for listener in self.listeners:
                server = await SERVERS[listener.kind](self.runtime, listener)
                self._servers.append(server)
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    bound.append(Bound(listener.kind, host, port))
                    log.info("listening: %s on %s port %d", listener.kind, host, port)
        except BaseException:
            await self.stop()
            raise
        self._tasks = [asyncio.create_task(self._keep_running(service)) for service in self.services]
        return bound

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then shut down."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop accepting connections, let messages being stored finish, end the services."""
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        if not await self.runtime.inflight.drained(SHUTDOWN_GRACE):
            log.warning("stopping with deliveries still in flight after %.0f s", SHUTDOWN_GRACE)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._servers, self._tasks = [], []
        log.info("stopped")

    async def _keep_running(self, service: Service) -> None:
        while True:
            try:
                await service()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background service %s crashed; restarting", getattr(service, "__name__", service))
                await asyncio.sleep(RESTART_PAUSE)
