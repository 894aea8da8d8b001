"""aiosmtpd's SMTP protocol, adapted: per-connection Config, envelope routing, enhanced codes."""
from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from maild.config import Config, Mailbox
from maild.replies import with_enhanced_code


class MailSession(Session):
    """An aiosmtpd Session that keeps the Config the connection started with."""

    config: Config
    mailbox: Mailbox | None = None  # the authenticated mailbox (submission)
    # A plain attribute: aiosmtpd's deprecated property logs a warning on every AUTH.
    login_data: Any = None


@dataclass
class Routing:
    """What an envelope's accepted recipients resolved to, filled at RCPT time."""

    local: dict[int, Mailbox] = field(default_factory=dict)
    remote: dict[str, None] = field(default_factory=dict)  # ordered set
    declared_size: int | None = None


class MailEnvelope(Envelope):
    def __init__(self) -> None:
        super().__init__()
        self.routing = Routing()


class MailSMTP(SMTP):
    """One SMTP connection. Adds enhanced status codes to aiosmtpd's own replies (RFC 2034:
    every reply but the greeting and the HELO/EHLO answer), and snapshots the running Config."""

    def __init__(self, handler: Any, *, config: Config, **options: Any) -> None:
        self._config = config
        self._greeting_phase = False
        super().__init__(handler, **options)

    def _create_session(self) -> Session:
        session = MailSession(self.loop)
        session.config = self._config
        return session

    def _create_envelope(self) -> Envelope:
        return MailEnvelope()

    async def push(self, status: str | bytes) -> None:
        if isinstance(status, str) and not self._greeting_phase:
            status = with_enhanced_code(status)
        await super().push(status)

    @contextmanager
    def _greeting(self) -> Iterator[None]:
        """HELO/EHLO answers carry no enhanced code (RFC 2034 section 3)."""
        self._greeting_phase = True
        try:
            yield
        finally:
            self._greeting_phase = False

    async def smtp_EHLO(self, hostname: str) -> None:
        with self._greeting():
            await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname: str) -> None:
        with self._greeting():
            await super().smtp_HELO(hostname)

    def tls_info(self) -> tuple[str, str] | None:
        """(version, cipher) of this connection's TLS, whether STARTTLS or implicit."""
        ssl_object: ssl.SSLObject | None = self.transport.get_extra_info("ssl_object") if self.transport else None
        if ssl_object is None:
            return None
        cipher = ssl_object.cipher()
        return (ssl_object.version() or "TLS", cipher[0] if cipher else "unknown")
