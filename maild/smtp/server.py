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

TIMEOUT = 300  # seconds idle before the connection closes (RFC 5321 4.5.3.2 minimums)


async def _serve(
    runtime: Runtime, listener: Listener, handler: MailHandler, *, starttls: bool, implicit_tls: bool
) -> asyncio.Server:
    def connection() -> MailSMTP:
        config = runtime.config
        return MailSMTP(
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
        )

    tls: ssl.SSLContext | None = runtime.tls(runtime.config).default if implicit_tls else None
    return await asyncio.get_running_loop().create_server(connection, listener.host, listener.port, ssl=tls)


async def serve_mx(runtime: Runtime, listener: Listener) -> asyncio.Server:
    return await _serve(runtime, listener, MxHandler(runtime), starttls=True, implicit_tls=False)


async def serve_submission(runtime: Runtime, listener: Listener) -> asyncio.Server:
    handler = SubmissionHandler(runtime)
    return await _serve(runtime, listener, handler, starttls=True, implicit_tls=False)


async def serve_submissions(runtime: Runtime, listener: Listener) -> asyncio.Server:
    """Implicit TLS: the certificate in force at start-up serves until the next restart."""
    handler = SubmissionHandler(runtime)
    return await _serve(runtime, listener, handler, starttls=False, implicit_tls=True)
