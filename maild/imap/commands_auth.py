"""Connection-level commands: CAPABILITY, NOOP, LOGOUT, ID, ENABLE, STARTTLS, LOGIN, AUTHENTICATE, IDLE.

Logins need TLS (LOGINDISABLED before STARTTLS) and go through the daemon's shared
`Authenticator` (hash check off the loop, per-IP and per-account throttling).
"""
from __future__ import annotations

import asyncio
import base64
import binascii

from maild.auth import Outcome
from maild.imap.parser import Atom, BadCommand, Token, astring
from maild.imap.session import ANY, AUTHENTICATED, No, Session, State, command

SASL_LINE_LIMIT = 8 * 1024


@command("CAPABILITY", *ANY)
async def capability(session: Session, arguments: list[Token], uid: bool) -> str:
    session.send(f"* CAPABILITY {session.capabilities()}\r\n".encode())
    return "CAPABILITY completed"


@command("NOOP", *ANY)
async def noop(session: Session, arguments: list[Token], uid: bool) -> str:
    return "NOOP completed"


@command("CHECK", State.SELECTED)
async def check(session: Session, arguments: list[Token], uid: bool) -> str:
    return "CHECK completed"  # every change is already durable


@command("LOGOUT", *ANY)
async def logout(session: Session, arguments: list[Token], uid: bool) -> str:
    session.send(b"* BYE Logging out\r\n")
    session.state = State.LOGOUT
    return "LOGOUT completed"


@command("ID", *ANY)
async def ident(session: Session, arguments: list[Token], uid: bool) -> str:
    if len(arguments) != 1 or not (isinstance(arguments[0], list) or arguments[0] == "NIL"):
        raise BadCommand("ID expects a parameter list or NIL")
    session.send(b'* ID ("name" "Tegami maild" "vendor" "Tegami")\r\n')
    return "ID completed"


@command("ENABLE", *AUTHENTICATED)
async def enable(session: Session, arguments: list[Token], uid: bool) -> str:
    if not arguments:
        raise BadCommand("ENABLE needs capability names")
    enabled = [str(a).upper() for a in arguments if isinstance(a, Atom) and a.upper() == "CONDSTORE"]
    session.enabled.update(enabled)
    session.send(("* ENABLED" + "".join(" " + name for name in enabled) + "\r\n").encode())
    return "ENABLE completed"


@command("STARTTLS", State.NOT_AUTHENTICATED)
async def starttls(session: Session, arguments: list[Token], uid: bool) -> str | None:
    connection = session.connection
    if connection.secure:
        raise BadCommand("TLS is already active")
    if connection.has_unread_input:
        # Commands pipelined behind STARTTLS would run inside TLS although sent in clear.
        session.send(b"* BYE Commands sent after STARTTLS are refused\r\n")
        session.state = State.LOGOUT
        raise No("STARTTLS refused")
    session.send(f"{session.tag} OK Begin TLS negotiation now\r\n".encode())
    await session.flush()
    await connection.start_tls(session.runtime.tls(session.config).default)
    return None


async def _login(session: Session, username: str, password: str) -> str:
    if not session.connection.secure:
        raise No("[PRIVACYREQUIRED] Log in only after STARTTLS")
    result = await session.runtime.authenticator.login(session.config, session.connection.peer_ip, username, password)
    if result.outcome is Outcome.THROTTLED:
        raise No("[UNAVAILABLE] Too many failed logins; try again later")
    if result.outcome is not Outcome.OK or result.mailbox is None:
        raise No("[AUTHENTICATIONFAILED] Invalid credentials")
    session.mailbox = result.mailbox
    session.state = State.AUTHENTICATED
    await session.store.ensure_special_folders(result.mailbox)
    return f"[CAPABILITY {session.capabilities()}] Logged in"


@command("LOGIN", State.NOT_AUTHENTICATED)
async def login(session: Session, arguments: list[Token], uid: bool) -> str:
    if len(arguments) != 2:
        raise BadCommand("LOGIN expects a user name and a password")
    return await _login(session, astring(arguments[0]), astring(arguments[1]))


def _decode_plain(text: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as error:
        raise BadCommand("invalid base64 in SASL response") from error
    parts = decoded.split("\x00")
    if len(parts) != 3 or (parts[0] and parts[0] != parts[1]):
        raise No("[AUTHENTICATIONFAILED] Invalid PLAIN response")
    return parts[1], parts[2]


@command("AUTHENTICATE", State.NOT_AUTHENTICATED)
async def authenticate(session: Session, arguments: list[Token], uid: bool) -> str:
    if not arguments or not isinstance(arguments[0], Atom) or len(arguments) > 2:
        raise BadCommand("AUTHENTICATE expects a mechanism")
    if arguments[0].upper() != "PLAIN":
        raise No("[CANNOT] Unsupported mechanism; use PLAIN")
    if not session.connection.secure:
        raise No("[PRIVACYREQUIRED] Authenticate only after STARTTLS")
    if len(arguments) == 2:
        response = astring(arguments[1])
        response = "" if response == "=" else response
    else:
        session.send(b"+ \r\n")
        await session.flush()
        line = await session.connection.readline()
        response = line.decode("ascii", "replace").strip()
        if len(line) > SASL_LINE_LIMIT:
            raise BadCommand("SASL response too long")
    if response == "*":
        raise BadCommand("authentication cancelled")
    username, password = _decode_plain(response)
    return await _login(session, username, password)


@command("IDLE", *AUTHENTICATED)
async def idle(session: Session, arguments: list[Token], uid: bool) -> str:
    """Push updates as soon as the folder changes until the client sends DONE (RFC 2177)."""
    session.send(b"+ idling\r\n")
    session.send_updates(allow_expunge=True)
    await session.flush()
    done = asyncio.ensure_future(session.connection.readline())
    try:
        while True:
            changed = asyncio.ensure_future(session.changed.wait())
            finished, _ = await asyncio.wait({done, changed}, timeout=session.idle_timeout(),
                                             return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
            if not finished:
                session.send(b"* BYE Autologout; idle for too long\r\n")
                session.state = State.LOGOUT
                raise No("IDLE timed out")
            if done in finished:
                break
            session.send_updates(allow_expunge=True)
            await session.flush()
            await session.settle()
    finally:
        if not done.done():
            done.cancel()
    if done.result().strip().upper() != b"DONE":
        raise BadCommand("expected DONE")
    return "IDLE terminated"
