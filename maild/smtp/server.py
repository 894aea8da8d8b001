"""Listening sockets for the three SMTP listener kinds.

- `mx`: port 25, opportunistic STARTTLS, no AUTH.
- `submission`: port 587, STARTTLS required before anything else, then AUTH.
- `submissions`: port 465, implicit TLS from the first byte, then AUTH.

Each connection gets a fresh protocol with the Config that is current when it connects.
"""
from __future__ import annotations

import asyncio
import ssl

from maild.config import Listener
from maild.runtime import Runtime
from maild.smtp.handlers import MailHandler, MxHandler, SubmissionHandler
from maild.smtp.protocol import MailSMTP
from maild.tls import log_failed_handshake

TIMEOUT = 300  # seconds idle before the connection closes (RFC 5321 4.5.3.2 minimums)
HANDSHAKE_TIMEOUT = 30.0


class ImplicitTls(asyncio.Protocol):
    """An implicit-TLS connection: the handshake uses the certificates in force when the client
    connects (so a renewed certificate serves at once), then the SMTP protocol takes over."""

    def __init__(self, smtp: MailSMTP, context: ssl.SSLContext) -> None:
        self._smtp = smtp
        self._context = context
        self._handshake: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()  # the ClientHello waits in the socket for start_tls
        self._handshake = asyncio.ensure_future(self._start(transport))

    async def _start(self, transport: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        try:
            tls = await loop.start_tls(
                transport, self._smtp, self._context, server_side=True, ssl_handshake_timeout=HANDSHAKE_TIMEOUT
            )
        except OSError as error:  # ssl.SSLError, a reset, or the handshake timeout (ConnectionAbortedError)
            log_failed_handshake(transport.get_extra_info("peername"), error)
            transport.close()
            return
        if tls is None:
            log_failed_handshake(transport.get_extra_info("peername"), None)
            return
        self._smtp.connection_made(tls)


async def _serve(
    runtime: Runtime, listener: Listener, handler: MailHandler, *, starttls: bool, implicit_tls: bool
) -> asyncio.Server:
    def connection() -> asyncio.Protocol:
        config = runtime.config
        smtp = MailSMTP(
            handler,
            config=config,
            hostname=config.server.hostname,
            ident="Tegami maild",
            data_size_limit=config.server.max_message_bytes,
            enable_SMTPUTF8=True,
            tls_context=runtime.tls(config).default if starttls else None,
            require_starttls=starttls and handler.advertise_auth,
            # MX answers AUTH itself (never offered); submission over STARTTLS only after TLS.
            auth_require_tls=handler.advertise_auth and not implicit_tls,
            timeout=TIMEOUT,
            loop=asyncio.get_running_loop(),  # spares aiosmtpd's own look-up on each connection
        )
        return ImplicitTls(smtp, runtime.tls(config).default) if implicit_tls else smtp

    return await asyncio.get_running_loop().create_server(connection, listener.host, listener.port)


async def serve_mx(runtime: Runtime, listener: Listener) -> asyncio.Server:
    return await _serve(runtime, listener, MxHandler(runtime), starttls=True, implicit_tls=False)


async def serve_submission(runtime: Runtime, listener: Listener) -> asyncio.Server:
    handler = SubmissionHandler(runtime)
    return await _serve(runtime, listener, handler, starttls=True, implicit_tls=False)


async def serve_submissions(runtime: Runtime, listener: Listener) -> asyncio.Server:
    handler = SubmissionHandler(runtime)
    return await _serve(runtime, listener, handler, starttls=False, implicit_tls=True)
