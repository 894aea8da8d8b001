"""One POP3 session (RFC 1939, CAPA from RFC 2449, STLS from RFC 2595, AUTH PLAIN from RFC 5034).

AUTHORIZATION accepts CAPA, STLS, USER/PASS, AUTH PLAIN, APOP and QUIT; TRANSACTION the mail
commands. Passwords are never accepted before TLS on any connection (as Dovecot's
`disable_plaintext_auth`); APOP is, because its digest does not reveal the secret. Every login
path is throttled per client IP and per account with the Authenticator shared with SMTP and IMAP.
The session keeps the Config it started with; commands are handled one at a time in the order
received, which is all PIPELINING asks of a server.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import ssl
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from maild.apop import ApopKey, apop_login, new_timestamp
from maild.auth import LoginResult, Outcome, still_allowed
from maild.config import Mailbox
from maild.connection import ConnectionClosed, LineConnection, LineTooLong
from maild.pop3 import replies, wire
from maild.pop3.maildrop import Entry, InUse, Maildrop, NoSuchMessage
from maild.pop3.replies import Reply
from maild.runtime import Runtime
from maild.store import Folder, MessageGone

log = logging.getLogger("maild.pop3")

MAX_LINE = 4096  # RFC 2449 allows 255 octets; AUTH PLAIN responses with long passwords need more
MAX_BAD_COMMANDS = 20
MAX_NUMBER_DIGITS = 10
INBOX = "INBOX"


@runtime_checkable
class FolderStore(Protocol):
    """What POP3 needs of the store: the shared INBOX folder of a mailbox."""

    async def folder(self, mailbox: Mailbox, name: str, create: bool = False) -> Folder: ...


class Pop3Session:
    """Protocol state for one connection; `run` drives it until QUIT, a timeout or a hang-up."""

    def __init__(self, connection: LineConnection, runtime: Runtime, store: FolderStore, apop_key: ApopKey | None,
                 implicit_tls: bool) -> None:
        self.connection = connection
        self.runtime = runtime
        self.config = runtime.config
        self.store = store
        self.apop_key = apop_key
        self.implicit_tls = implicit_tls
        self.timestamp = new_timestamp(self.config.server.hostname) if apop_key is not None else None
        self.user: str | None = None
        self.maildrop: Maildrop | None = None
        self.mailbox: Mailbox | None = None  # whose maildrop is open
        self.bad_commands = 0
        self._authorization = {
            "CAPA": self.capa, "STLS": self.stls, "USER": self.user_command, "PASS": self.pass_command,
            "AUTH": self.auth, "APOP": self.apop, "QUIT": self.quit,
        }
        self._transaction = {
            "CAPA": self.capa, "STAT": self.stat, "LIST": self.list_command, "UIDL": self.uidl,
            "RETR": self.retr, "TOP": self.top, "DELE": self.dele, "RSET": self.rset, "NOOP": self.noop,
            "QUIT": self.quit,
        }

    # ---- the session loop ----------------------------------------------------------------

    async def run(self) -> None:
        try:
            if self.implicit_tls:
                await self.connection.start_tls(self._tls_context())
            self.reply(replies.GREETING, timestamp=f" {self.timestamp}" if self.timestamp else "")
            while True:
                if await self.dispatch(await self._read_line()):
                    break
                await self._flush()
        except LineTooLong:
            self.reply(replies.LINE_TOO_LONG)
        except TimeoutError:
            self.reply(replies.IDLE_TIMEOUT)
        except (ConnectionClosed, ConnectionError, ssl.SSLError) as error:
            log.debug("pop3 %s: connection ended: %r", self.connection.peer_ip, error)
        except Exception:
            log.exception("pop3 %s: session failed", self.connection.peer_ip)
            self.reply(replies.TEMPORARY_FAILURE)
        finally:
            if self.maildrop is not None:
                self.maildrop.close()  # nothing applied: deletions and \Seen happen only in QUIT

    async def _read_line(self) -> bytes:
        async with asyncio.timeout(self.config.server.idle_timeout):
            return await self.connection.readline()

    async def _flush(self) -> None:
        """Wait for the client to take what was written; one that stops reading is timed out too."""
        async with asyncio.timeout(self.config.server.idle_timeout):
            await self.connection.drain()

    def reply(self, reply: Reply, **details: object) -> None:
        self.connection.write(reply.line(**details))

    async def dispatch(self, raw: bytes) -> bool:
        """Run one command line; True when the session is over."""
        try:
            line = raw.rstrip(b"\r\n").decode("utf-8")
        except UnicodeDecodeError:
            return self._bad(replies.BAD_ENCODING)
        name, _, arguments = line.partition(" ")
        handlers = self._transaction if self.maildrop is not None else self._authorization
        handler = handlers.get(name.upper())
        if handler is None:
            known = name.upper() in self._authorization or name.upper() in self._transaction
            return self._bad(replies.WRONG_STATE if known else replies.UNKNOWN_COMMAND)
        return await handler(arguments)

    def _bad(self, reply: Reply) -> bool:
        self.bad_commands += 1
        if self.bad_commands >= MAX_BAD_COMMANDS:
            self.reply(replies.TOO_MANY_ERRORS)
            return True
        self.reply(reply)
        return False

    def _tls_context(self) -> ssl.SSLContext:
        return self.runtime.tls(self.config).default

    # ---- AUTHORIZATION -------------------------------------------------------------------

    async def capa(self, arguments: str) -> bool:
        capabilities = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION Tegami"]
        if self.maildrop is None:
            if self.connection.secure:
                capabilities += ["USER", "SASL PLAIN"]
            else:
                capabilities.append("STLS")
        self.reply(replies.CAPABILITIES)
        self.connection.write(wire.multiline("".join(f"{c}\r\n" for c in capabilities).encode()))
        return False

    async def stls(self, arguments: str) -> bool:
        if self.connection.secure:
            return self._bad(replies.TLS_ACTIVE)
        if self.connection.has_unread_input:
            self.reply(replies.STLS_PIPELINED)  # plaintext queued behind STLS could be injected
            return True
        self.reply(replies.BEGIN_TLS)
        await self.connection.start_tls(self._tls_context())
        self.user = None  # RFC 2595: forget what was said in the clear
        return False

    async def user_command(self, arguments: str) -> bool:
        if not self.connection.secure:
            return self._bad(replies.PLAINTEXT_REFUSED)
        words = arguments.split()
        if len(words) != 1:
            return self._bad(replies.BAD_ARGUMENTS)
        self.user = words[0]
        self.reply(replies.USER_OK)
        return False

    async def pass_command(self, arguments: str) -> bool:
        if not self.connection.secure:
            return self._bad(replies.PLAINTEXT_REFUSED)
        if self.user is None:
            return self._bad(replies.USER_FIRST)
        user, self.user = self.user, None
        return await self._password_login(user, arguments)  # the whole rest of the line, spaces too

    async def auth(self, arguments: str) -> bool:
        if not arguments.strip():  # pre-RFC 5034 clients ask for the list of mechanisms this way
            self.reply(replies.CAPABILITIES)
            self.connection.write(wire.multiline(b"PLAIN\r\n" if self.connection.secure else b""))
            return False
        if not self.connection.secure:
            return self._bad(replies.PLAINTEXT_REFUSED)
        words = arguments.split()
        if words[0].upper() != "PLAIN" or len(words) > 2:
            return self._bad(replies.AUTH_MECHANISM)
        if len(words) == 2:
            response = words[1]
        else:
            self.connection.write(b"+ \r\n")
            await self._flush()
            response = (await self._read_line()).rstrip(b"\r\n").decode("ascii", "replace")
        if response == "*":
            self.reply(replies.AUTH_CANCELLED)
            return False
        credentials = _decode_plain(response)
        if credentials is None:
            return self._bad(replies.AUTH_MALFORMED)
        return await self._password_login(*credentials)

    async def _password_login(self, username: str, password: str) -> bool:
        result = await self.runtime.authenticator.login(self.config, self.connection.peer_ip, username, password)
        return await self._logged_in(result)

    async def apop(self, arguments: str) -> bool:
        if self.apop_key is None or self.timestamp is None:
            return self._bad(replies.APOP_UNAVAILABLE)
        words = arguments.split()
        if len(words) != 2:
            return self._bad(replies.BAD_ARGUMENTS)
        result = await apop_login(self.runtime.authenticator, self.config, self.connection.peer_ip, self.apop_key,
                                  self.timestamp, *words)
        return await self._logged_in(result)

    async def _logged_in(self, result: LoginResult) -> bool:
        """Answer a login attempt; a good one opens the maildrop (unless another session holds it)."""
        if result.outcome is Outcome.THROTTLED:
            self.reply(replies.AUTH_THROTTLED)
        elif result.outcome is Outcome.INVALID or result.mailbox is None:
            self.reply(replies.AUTH_FAILED)
        else:
            await self._open_maildrop(result.mailbox)
        return False

    async def _open_maildrop(self, mailbox: Mailbox) -> None:
        folder = await self.store.folder(mailbox, INBOX)
        try:
            self.maildrop = Maildrop(folder)
        except InUse:
            self.reply(replies.IN_USE)
            return
        self.mailbox = mailbox
        count, octets = self.maildrop.stat()
        self.reply(replies.LOGGED_IN, count=count, octets=octets)

    async def quit(self, arguments: str) -> bool:
        if self.maildrop is None:
            self.reply(replies.BYE)
            return True
        if self.mailbox is not None and not still_allowed(self.runtime.config, self.mailbox):
            self.reply(replies.MAILBOX_GONE)  # deleted or disabled since the login: change nothing
            return True
        deleted = len(self.maildrop.deleted)
        try:
            await self.maildrop.commit()
        except OSError:
            log.exception("pop3 %s: applying the session failed", self.connection.peer_ip)
            self.reply(replies.UPDATE_FAILED)
            return True
        self.reply(replies.BYE_UPDATED, deleted=deleted)
        return True

    # ---- TRANSACTION ---------------------------------------------------------------------

    @property
    def _drop(self) -> Maildrop:
        assert self.maildrop is not None
        return self.maildrop

    async def stat(self, arguments: str) -> bool:
        if arguments.strip():
            return self._bad(replies.BAD_ARGUMENTS)
        count, octets = self._drop.stat()
        self.reply(replies.STAT, count=count, octets=octets)
        return False

    async def list_command(self, arguments: str) -> bool:
        return self._scan(arguments, lambda entry: str(entry.size))

    async def uidl(self, arguments: str) -> bool:
        return self._scan(arguments, self._drop.uidl)

    def _scan(self, arguments: str, describe: Callable[[Entry], str]) -> bool:
        """LIST and UIDL: one message with an argument, else a multi-line listing."""
        words = arguments.split()
        if len(words) > 1:
            return self._bad(replies.BAD_ARGUMENTS)
        if words:
            number = _number(words[0])
            if number is None:
                return self._bad(replies.BAD_ARGUMENTS)
            try:
                entry = self._drop.entry(number)
            except NoSuchMessage:
                return self._bad(replies.NO_SUCH_MESSAGE)
            self.reply(replies.SCAN_LISTING, number=number, detail=describe(entry))
            return False
        self.reply(replies.LISTING)
        rows = "".join(f"{n} {describe(e)}\r\n" for n, e in self._drop.listing())
        self.connection.write(wire.multiline(rows.encode()))
        return False

    async def retr(self, arguments: str) -> bool:
        number = _single_number(arguments)
        if number is None:
            return self._bad(replies.BAD_ARGUMENTS)
        return await self._send(number, None)

    async def top(self, arguments: str) -> bool:
        words = arguments.split()
        if len(words) != 2:
            return self._bad(replies.BAD_ARGUMENTS)
        number, lines = _number(words[0]), _number(words[1], allow_zero=True)
        if number is None or lines is None:
            return self._bad(replies.BAD_ARGUMENTS)
        return await self._send(number, lines)

    async def _send(self, number: int, lines: int | None) -> bool:
        """RETR (`lines` None) or TOP: the reply line and the message in one write."""
        try:
            data = wire.crlf(await self._drop.read(number, full=lines is None))
        except NoSuchMessage:
            return self._bad(replies.NO_SUCH_MESSAGE)
        except MessageGone:
            self.reply(replies.MESSAGE_GONE)
            return False
        if lines is not None:
            data = wire.top(data, lines)
        self.connection.write(replies.MESSAGE.line(octets=len(data)) + wire.multiline(data))
        return False

    async def dele(self, arguments: str) -> bool:
        number = _single_number(arguments)
        if number is None:
            return self._bad(replies.BAD_ARGUMENTS)
        try:
            self._drop.delete(number)
        except NoSuchMessage:
            return self._bad(replies.NO_SUCH_MESSAGE)
        self.reply(replies.DELETED, number=number)
        return False

    async def rset(self, arguments: str) -> bool:
        self._drop.reset()
        count, octets = self._drop.stat()
        self.reply(replies.RESET, count=count, octets=octets)
        return False

    async def noop(self, arguments: str) -> bool:
        self.reply(replies.NOOP)
        return False


def _number(text: str, allow_zero: bool = False) -> int | None:
    """A message number (or TOP's line count when `allow_zero`), or None if it is not one."""
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_NUMBER_DIGITS:
        return None
    value = int(text)
    return value if value > 0 or allow_zero else None


def _single_number(arguments: str) -> int | None:
    words = arguments.split()
    return _number(words[0]) if len(words) == 1 else None


def _decode_plain(response: str) -> tuple[str, str] | None:
    """(username, password) from a SASL PLAIN response; None if malformed or acting as another user."""
    try:
        authzid, authcid, password = base64.b64decode(response, validate=True).decode("utf-8").split("\0")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not authcid or (authzid and authzid != authcid):
        return None
    return authcid, password
