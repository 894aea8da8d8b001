"""One IMAP connection: reads commands, dispatches them by state, sends untagged updates.

Command handlers live in `commands_auth`, `commands_mailbox` and `commands_message`; each takes
the session and its arguments, writes untagged responses with `session.send`, and returns the
text of the tagged OK (or raises `No`/`BadCommand`). Output is buffered and written in large
chunks, with back-pressure from the transport.
"""
from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from maild.auth import still_allowed
from maild.config import Config, Mailbox
from maild.imap.connection import ConnectionClosed, ImapConnection, LineTooLong
from maild.imap.parser import BadCommand, LiteralTooLarge, Token, parse, read_command
from maild.imap.selected import SelectedFolder
from maild.runtime import Runtime
from maild.store import Store

log = logging.getLogger("maild.imap")

FLUSH_AT = 256 * 1024
PREAUTH_TIMEOUT = 60.0
MIN_IDLE_TIMEOUT = 30 * 60  # RFC 3501 5.4: at least 30 minutes once authenticated
MAX_BAD_COMMANDS = 20


class State(enum.Enum):
    NOT_AUTHENTICATED = 1
    AUTHENTICATED = 2
    SELECTED = 3
    LOGOUT = 4


class No(Exception):
    """A command that failed: `<tag> NO <text>` (text may start with a response code)."""


Handler = Callable[["Session", list[Token], bool], Awaitable[str | None]]  # None: already answered


@dataclass(frozen=True)
class Command:
    handler: Handler
    states: frozenset[State]
    allows_expunge: bool = True  # False for FETCH, STORE, SEARCH (RFC 3501 7.4.1), UID forms aside
    uid_form: bool = False  # has a UID variant


class Session:
    """The state of one client connection."""

    commands: dict[str, Command] = {}

    def __init__(self, runtime: Runtime, connection: ImapConnection) -> None:
        store = runtime.store
        if not isinstance(store, Store):
            raise TypeError("the IMAP server needs maild.store.Store")
        self.runtime = runtime
        self.store = store
        self.config: Config = runtime.config
        self.connection = connection
        self.state = State.NOT_AUTHENTICATED
        self.mailbox: Mailbox | None = None
        self.selected: SelectedFolder | None = None
        self.enabled: set[str] = set()
        self.changed = asyncio.Event()
        self.tag = "*"  # of the command being executed
        self._out = bytearray()

    # ---- output --------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self._out += data

    async def flush(self, force: bool = True) -> None:
        if self._out and (force or len(self._out) >= FLUSH_AT):
            self.connection.write(bytes(self._out))
            self._out.clear()
            await self.connection.drain()

    # ---- selected-folder updates ---------------------------------------------------------

    def wake(self) -> None:
        self.changed.set()

    def send_updates(self, allow_expunge: bool, with_uid: bool = False) -> None:
        if self.selected is not None:
            self.changed.clear()
            self.send(self.selected.updates(allow_expunge, origin=self, with_uid=with_uid))

    async def settle(self) -> None:
        """After answering: move messages this session has seen out of new/."""
        if self.selected is not None:
            await self.selected.settle()

    def deselect(self) -> None:
        if self.selected is not None:
            self.selected.close()
            self.selected = None
        self.state = State.AUTHENTICATED

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled

    # ---- the command loop ----------------------------------------------------------------

    def capabilities(self) -> str:
        caps = ["IMAP4rev1", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE",
                "SPECIAL-USE", "QUOTA", "QUOTA=RES-STORAGE", "CHILDREN", "UNSELECT", "CONDSTORE"]
        if self.state is State.NOT_AUTHENTICATED:
            if self.connection.secure:
                caps.append("AUTH=PLAIN")
            else:
                caps += ["STARTTLS", "LOGINDISABLED"]
        return " ".join(caps)

    def append_limit(self) -> int:
        server_limit = self.config.server.max_message_bytes
        if self.mailbox is None:
            return 0
        return min(server_limit, self.mailbox.max_message_bytes or server_limit)

    def idle_timeout(self) -> float:
        if self.state is State.NOT_AUTHENTICATED:
            return PREAUTH_TIMEOUT
        return max(MIN_IDLE_TIMEOUT, self.config.server.idle_timeout)

    async def run(self) -> None:
        self.send(f"* OK [CAPABILITY {self.capabilities()}] Tegami IMAP ready\r\n".encode())
        bad = 0
        try:
            while self.state is not State.LOGOUT:
                await self.flush()
                await self.settle()
                try:
                    segments = await asyncio.wait_for(read_command(self.connection, self.append_limit), self.idle_timeout())
                    tag, name, arguments = parse(segments)
                except BadCommand as error:
                    bad += 1
                    self.send(f"{error.tag} BAD {error}\r\n".encode())
                    if bad >= MAX_BAD_COMMANDS:
                        self.send(b"* BYE Too many invalid commands\r\n")
                        break
                    continue
                except LiteralTooLarge as error:
                    if not error.synchronizing:
                        self.send(b"* BYE Literal too large\r\n")
                        break
                    self.send(f"{error.tag} NO [TOOBIG] Literal too large\r\n".encode())
                    continue
                except LineTooLong:
                    self.send(b"* BYE Command line too long\r\n")
                    break
                except TimeoutError:
                    self.send(b"* BYE Autologout; idle for too long\r\n")
                    break
                await self.execute(tag, name, arguments)
            await self.flush()
        except ConnectionClosed:
            return
        finally:
            self.deselect()

    async def execute(self, tag: str, name: str, arguments: list[Token]) -> None:
        uid = False
        if name == "UID" and arguments and isinstance(arguments[0], str):
            uid, name, arguments = True, arguments[0].upper(), arguments[1:]
        command = self.commands.get(name)
        if command is None or (uid and not command.uid_form):
            self.send(f"{tag} BAD Unknown command\r\n".encode())
            return
        if self.state not in command.states:
            self.send(f"{tag} BAD {name} is not allowed now\r\n".encode())
            return
        if self.mailbox is not None and not still_allowed(self.runtime.config, self.mailbox):
            # Deleted, disabled or suspended since the login: nothing more in its name.
            self.send(b"* BYE This mailbox is no longer available\r\n")
            self.state = State.LOGOUT
            return
        self.tag = tag
        try:
            text = await command.handler(self, arguments, uid)
        except BadCommand as error:
            self.send(f"{tag} BAD {error}\r\n".encode())
            return
        except LineTooLong:
            self.send(f"{tag} BAD Line too long\r\n".encode())
            return
        except No as error:
            self.send_updates(allow_expunge=uid or command.allows_expunge)
            self.send(f"{tag} NO {error}\r\n".encode())
            return
        except (ConnectionClosed, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("imap: %s failed for %s", name, self.mailbox.address if self.mailbox else "-")
            self.send(f"{tag} NO [SERVERBUG] Internal error; the error was logged\r\n".encode())
            return
        if text is None:
            return
        if self.state is not State.LOGOUT:
            self.send_updates(allow_expunge=uid or command.allows_expunge, with_uid=uid)
        self.send(f"{tag} OK {text}\r\n".encode())


def command(name: str, *states: State, allows_expunge: bool = True, uid_form: bool = False
            ) -> Callable[[Handler], Handler]:
    """Register a command handler for the given states."""

    def register(handler: Handler) -> Handler:
        Session.commands[name] = Command(handler, frozenset(states), allows_expunge, uid_form)
        return handler

    return register


ANY = (State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED)
AUTHENTICATED = (State.AUTHENTICATED, State.SELECTED)
SELECTED = (State.SELECTED,)
