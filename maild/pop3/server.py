"""Listening sockets for POP3: `pop3` (port 110, STLS) and `pop3s` (port 995, implicit TLS).

Both listen in the clear and start TLS per connection, so every connection gets the Config, the
certificate and the APOP key current when it connects.
"""
from __future__ import annotations

import asyncio

from maild.apop import ApopKeyFile, default_key_file
from maild.config import Listener
from maild.connection import LineConnection
from maild.pop3.session import MAX_LINE, FolderStore, Pop3Session
from maild.runtime import Runtime


async def _serve(runtime: Runtime, listener: Listener, implicit_tls: bool) -> asyncio.Server:
    store = runtime.store
    if not isinstance(store, FolderStore):
        raise TypeError("POP3 needs a store with shared folders (maild.store.Store)")
    apop_key_file = ApopKeyFile(runtime.apop_key_file or default_key_file(runtime.data_dir))

    async def session(connection: LineConnection) -> None:
        await Pop3Session(connection, runtime, store, apop_key_file.current(), implicit_tls).run()

    return await asyncio.get_running_loop().create_server(
        lambda: LineConnection(session, MAX_LINE), listener.host, listener.port)


async def serve_pop3(runtime: Runtime, listener: Listener) -> asyncio.Server:
    return await _serve(runtime, listener, implicit_tls=False)


async def serve_pop3s(runtime: Runtime, listener: Listener) -> asyncio.Server:
    return await _serve(runtime, listener, implicit_tls=True)
