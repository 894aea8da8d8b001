"""aiosmtpd's SMTP protocol, adapted: per-connection Config, envelope routing, enhanced codes,
and a bulk DATA reader (aiosmtpd reads the message line by line, which dominates the CPU cost of
large messages)."""
from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, TLSSetupException
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError

from maild import replies
from maild.config import Config, Mailbox
from maild.replies import with_enhanced_code
from maild.tls import log_failed_handshake

DOT_LINE = b".\r\n"
CRLF = b"\r\n"
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9-]+"
# `<local@domain>` of plain ASCII dot-atoms, then nothing or blanks and parameters: the address
# every ordinary client sends, which the email package's parser would return unchanged.
_PLAIN_PATH = re.compile(rf"<({_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*)>(?:[ \t]+([^ \t(].*))?", re.DOTALL)


LINE_DOT_PROBES = 32  # dots looked at one by one before a search for CRLF "." takes over


def has_line_dot(data: bytes) -> bool:
    """Whether any line of `data` starts with a dot.

    Searches for "." alone first, which is memchr-fast: large messages are mostly base64, which
    has no dots, while a search for CRLF "." crawls through them (CR recurs on every line, ~1 ms
    per MB). After a few dots inside lines (text), the search for CRLF "." takes over.
    """
    if data.startswith(b"."):
        return True
    dot = data.find(b".")
    for _ in range(LINE_DOT_PROBES):
        if dot < 0:
            return False
        if data[dot - 2:dot] == CRLF:
            return True
        dot = data.find(b".", dot + 1)
    return dot >= 0 and data.find(CRLF + b".", max(dot - 2, 0)) >= 0


def unstuff(data: bytes) -> bytes:
    """Undo SMTP dot-stuffing (RFC 5321 4.5.2): drop the first dot of every line that has one."""
    if not has_line_dot(data):
        return data  # the common case: no copies of a large message
    return (CRLF + data).replace(CRLF + b".", CRLF)[len(CRLF):]


HOOK_PREFIXES = ("smtp_", "auth_", "handle_")


@cache
def hook_names(cls: type) -> list[str]:
    """The methods of `cls` that aiosmtpd looks up by name (commands, AUTH mechanisms, hooks)."""
    return sorted(name for name in dir(cls) if name.startswith(HOOK_PREFIXES))


class HookDir:
    """Limits dir() to `hook_names`: aiosmtpd's SMTP.__init__ scans dir() of the protocol and
    the handler (inspect.getmembers, evaluating every attribute) on each connection, which cost
    more than the rest of accepting a message's connection."""

    def __dir__(self) -> list[str]:
        return hook_names(type(self))


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
    remote: dict[str, str | None] = field(default_factory=dict)  # address -> forwarding domain (None: sent, not forwarded)
    declared_size: int | None = None
    refused: list[tuple[str, str]] = field(default_factory=list)  # (mailbox, reply) dropped at DATA
    spf: asyncio.Future[str] | None = None  # MX: started at the first accepted RCPT, awaited at DATA


class MailEnvelope(Envelope):
    def __init__(self) -> None:
        super().__init__()
        self.routing = Routing()


class MailSMTP(HookDir, SMTP):
    """One SMTP connection. Adds enhanced status codes to aiosmtpd's own replies (RFC 2034:
    every reply but the greeting and the HELO/EHLO answer), and snapshots the running Config."""

    def __init__(self, handler: Any, *, config: Config, **options: Any) -> None:
        self._config = config
        self._greeting_phase = False
        self._continuation: list[str] = []
        super().__init__(handler, **options)

    def connection_lost(self, error: Exception | None) -> None:
        """asyncio reports a failed implicit-TLS handshake (port 465) to this protocol although it
        never got `connection_made`, and aiosmtpd asserts it had; ImplicitTls has logged it."""
        if self.session is None:
            return
        super().connection_lost(error)

    async def handle_exception(self, error: Exception) -> str:
        """A failed STARTTLS handshake is the client's doing: one line, not the handler's traceback.

        aiosmtpd closes the connection after this and sends no reply, so the one returned is unused.
        """
        if isinstance(error, TLSSetupException):
            assert self.session is not None
            log_failed_handshake(self.session.peer, error.__cause__)
            return str(replies.TEMPORARY_FAILURE)
        return await super().handle_exception(error)

    def _create_session(self) -> Session:
        session = MailSession(self.loop)
        session.config = self._config
        return session

    def _create_envelope(self) -> Envelope:
        return MailEnvelope()

    async def push(self, status: str | bytes) -> None:  # type: ignore[override]
        """Send a reply; a multi-line one (EHLO) goes out in one write instead of one per line."""
        if isinstance(status, str):
            if not self._greeting_phase:
                status = with_enhanced_code(status)
            elif status[3:4] == "-":
                self._continuation.append(status)
                return
            if self._continuation:
                status = "\r\n".join([*self._continuation, status])
                self._continuation.clear()
        await super().push(status)  # type: ignore[type-var]

    async def smtp_DATA(self, arg: str) -> None:
        """DATA as aiosmtpd does it, but reading the message in bulk.

        The message ends only at CRLF "." CRLF: a dot after a bare LF or CR does not end it, so
        a client cannot smuggle a second message past the one we accept (SMTP smuggling).
        """
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None  # set when the connection was made
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        data = await self._read_message(self.data_size_limit or 0)
        if data is None:
            self._set_post_data_state()
            await self.push(replies.MESSAGE_TOO_BIG.format(limit=self.data_size_limit))
            return
        self.envelope.content = self.envelope.original_content = unstuff(data)
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_message(self, limit: int) -> bytes | None:
        """The dot-stuffed message up to its final CRLF, or None (drained) when over `limit` bytes.

        Reads with the stream's line limit raised for the duration (aiosmtpd sets it to the
        command line length), one chunk per line that ends in a dot rather than one per line.
        """
        reader = self._reader
        line_limit = reader._limit  # type: ignore[attr-defined]
        reader._limit = max(limit, 2**16)  # type: ignore[attr-defined]
        data = bytearray()
        dropped = False
        try:
            while True:
                try:
                    data += await reader.readuntil(DOT_LINE)
                except asyncio.LimitOverrunError as overrun:
                    data += await reader.readexactly(overrun.consumed)
                end = len(data) - len(DOT_LINE)
                if data.endswith(DOT_LINE) and (end == 0 or data[end - 2:end] == CRLF):
                    del data[end:]
                    return None if dropped else bytes(data)
                if limit and len(data) > limit:
                    dropped = True
                    del data[:-2]  # keep what can still start the terminator
        finally:
            reader._limit = line_limit  # type: ignore[attr-defined]

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

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The address and the rest of a MAIL or RCPT argument, as aiosmtpd parses it, with a
        fast path for plain addresses (its parser costs more than the rest of the command and
        defines a class on every call). None, None when the address does not parse."""
        plain = _PLAIN_PATH.fullmatch(arg)
        if plain:
            address, rest = plain.group(1), plain.group(2) or ""
        elif not arg:
            return "", ""
        else:
            try:
                parsed, rest = (get_angle_addr if arg.lstrip().startswith("<") else get_addr_spec)(arg)
            except HeaderParseError:
                return None, None
            address = parsed.addr_spec
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest

    def tls_info(self) -> tuple[str, str] | None:
        """(version, cipher) of this connection's TLS, whether STARTTLS or implicit."""
        ssl_object: ssl.SSLObject | None = self.transport.get_extra_info("ssl_object") if self.transport else None
        if ssl_object is None:
            return None
        cipher = ssl_object.cipher()
        return (ssl_object.version() or "TLS", cipher[0] if cipher else "unknown")
