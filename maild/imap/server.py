"""IMAP listeners: `imap` (port 143, STARTTLS before login) and `imaps` (port 993, implicit TLS).

Each connection gets a Session with the Config current when it connects.
"""
from __future__ import annotations

import asyncio

from maild.config import Listener
from maild.imap import commands_auth, commands_mailbox, commands_message  # noqa: F401  (register commands)
from maild.imap.connection import MAX_LINE, ConnectionClosed, ImapConnection
from maild.imap.session import Session
from maild.runtime import Runtime


async def _serve(runtime: Runtime, listener: Listener, implicit_tls: bool) -> asyncio.Server:
    async def session(connection: ImapConnection) -> None:  # type: ignore[override]
        if implicit_tls:
            try:
                await connection.start_tls(runtime.tls(runtime.config).default)
            except ConnectionClosed:
                return  # the handshake failed (start_tls logged it): no session to run
        await Session(runtime, connection).run()

    return await asyncio.get_running_loop().create_server(
        lambda: ImapConnection(session, MAX_LINE), listener.host, listener.port)  # type: ignore[arg-type]


async def serve_imap(runtime: Runtime, listener: Listener) -> asyncio.Server:
    return await _serve(runtime, listener, implicit_tls=False)


async def serve_imaps(runtime: Runtime, listener: Listener) -> asyncio.Server:
    return await _serve(runtime, listener, implicit_tls=True)
