"""Mailbox commands: SELECT/EXAMINE, CLOSE/UNSELECT, CREATE, DELETE, RENAME, (UN)SUBSCRIBE,
LIST/LSUB, STATUS, APPEND, NAMESPACE and QUOTA (RFC 9208)."""
from __future__ import annotations

import bisect
import datetime
import re
from collections.abc import Iterator
from contextlib import contextmanager

from maild.imap.parser import Atom, BadCommand, Token, astring
from maild.imap.responses import SYSTEM_FLAGS, flag_list, mailbox_name
from maild.imap.selected import SelectedFolder
from maild.imap.session import AUTHENTICATED, SELECTED, No, Session, State, command
from maild.store import SPECIAL_USE, Folder, FolderExists, FolderNotFound, InvalidName, OverQuota, names
from maild.store.names import decode_mutf7

_DATE_TIME = re.compile(r"^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
MAX_FLAGS = 64
MAX_KEYWORD_LENGTH = 64
STATUS_ITEMS = {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"}


@contextmanager
def store_errors() -> Iterator[None]:
    """Store errors as the IMAP response codes of RFC 5530."""
    try:
        yield
    except FolderNotFound as error:
        raise No("[NONEXISTENT] No such mailbox") from error
    except FolderExists as error:
        raise No("[ALREADYEXISTS] The mailbox exists (or is in use)") from error
    except InvalidName as error:
        raise No(f"[CANNOT] {error}") from error


def folder_argument(token: Token) -> str:
    """A mailbox name argument (modified UTF-7 on the wire) as a canonical folder name."""
    with store_errors():
        return names.normalize(decode_mutf7(astring(token)).rstrip(names.SEPARATOR))


async def open_folder(session: Session, name: str) -> Folder:
    assert session.mailbox is not None
    with store_errors():
        return await session.store.folder(session.mailbox, name)


# ---- SELECT / EXAMINE / CLOSE / UNSELECT ---------------------------------------------------

async def _select(session: Session, arguments: list[Token], readonly: bool) -> str:
    if not arguments or len(arguments) > 2:
        raise BadCommand("expected a mailbox name")
    condstore = False
    if len(arguments) == 2:
        options = arguments[1]
        if not isinstance(options, list) or [str(o).upper() for o in options] != ["CONDSTORE"]:
            raise BadCommand("unsupported SELECT parameters")
        condstore = True
    name = folder_argument(arguments[0])
    session.deselect()
    folder = await open_folder(session, name)
    if condstore:
        session.enabled.add("CONDSTORE")
    selected = SelectedFolder(folder, readonly, session.wake, condstore=session.condstore)
    session.selected, session.state = selected, State.SELECTED
    session.changed.clear()
    flags = list(SYSTEM_FLAGS) + folder.keywords
    unseen = folder.with_flag(selected.uids, "\\Seen", present=False)
    first_unseen = selected.sequence_of(unseen[0]) if unseen else None
    permanent = "()" if readonly else flag_list(flags + ["\\*"]).decode()
    lines = [f"* FLAGS {flag_list(flags).decode()}",
             f"* OK [PERMANENTFLAGS {permanent}] Limited",
             f"* {len(selected)} EXISTS", f"* {len(selected.recent)} RECENT",
             f"* OK [UIDVALIDITY {folder.uidvalidity}] UIDs valid",
             f"* OK [UIDNEXT {folder.uidnext}] Predicted next UID",
             f"* OK [HIGHESTMODSEQ {folder.highestmodseq}] Highest"]
    if first_unseen is not None:
        lines.append(f"* OK [UNSEEN {first_unseen}] First unseen")
    session.send(("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape"))
    return f"[{'READ-ONLY' if readonly else 'READ-WRITE'}] {'EXAMINE' if readonly else 'SELECT'} completed"


@command("SELECT", *AUTHENTICATED)
async def select(session: Session, arguments: list[Token], uid: bool) -> str:
    return await _select(session, arguments, readonly=False)


@command("EXAMINE", *AUTHENTICATED)
async def examine(session: Session, arguments: list[Token], uid: bool) -> str:
    return await _select(session, arguments, readonly=True)


@command("CLOSE", *SELECTED)
async def close(session: Session, arguments: list[Token], uid: bool) -> str:
    selected = session.selected
    assert selected is not None
    if not selected.readonly:
        folder = selected.folder
        await folder.expunge(folder.with_flag(folder.uids, "\\Deleted"), origin=session)
    session.deselect()
    return "CLOSE completed"


@command("UNSELECT", *SELECTED)
async def unselect(session: Session, arguments: list[Token], uid: bool) -> str:
    session.deselect()
    return "UNSELECT completed"


# ---- CREATE / DELETE / RENAME / SUBSCRIBE ---------------------------------------------------

def _one_name(arguments: list[Token]) -> str:
    if len(arguments) != 1:
        raise BadCommand("expected one mailbox name")
    return folder_argument(arguments[0])


@command("CREATE", *AUTHENTICATED)
async def create(session: Session, arguments: list[Token], uid: bool) -> str:
    assert session.mailbox is not None
    with store_errors():
        await session.store.create_folder(session.mailbox, _one_name(arguments))
    return "CREATE completed"


@command("DELETE", *AUTHENTICATED)
async def delete(session: Session, arguments: list[Token], uid: bool) -> str:
    assert session.mailbox is not None
    name = _one_name(arguments)
    if name == names.INBOX:
        raise No("[CANNOT] INBOX cannot be deleted")
    if session.selected is not None and session.selected.folder.name == name:
        session.deselect()
    with store_errors():
        await session.store.delete_folder(session.mailbox, name)
    await session.store.set_subscribed(session.mailbox, [name], False)
    return "DELETE completed"


@command("RENAME", *AUTHENTICATED)
async def rename(session: Session, arguments: list[Token], uid: bool) -> str:
    assert session.mailbox is not None
    if len(arguments) != 2:
        raise BadCommand("expected two mailbox names")
    old, new = folder_argument(arguments[0]), folder_argument(arguments[1])
    with store_errors():
        await session.store.rename_folder(session.mailbox, old, new)
    return "RENAME completed"


async def _subscribe(session: Session, arguments: list[Token], subscribed: bool) -> None:
    assert session.mailbox is not None
    await session.store.set_subscribed(session.mailbox, [_one_name(arguments)], subscribed)


@command("SUBSCRIBE", *AUTHENTICATED)
async def subscribe(session: Session, arguments: list[Token], uid: bool) -> str:
    await _subscribe(session, arguments, True)
    return "SUBSCRIBE completed"


@command("UNSUBSCRIBE", *AUTHENTICATED)
async def unsubscribe(session: Session, arguments: list[Token], uid: bool) -> str:
    await _subscribe(session, arguments, False)
    return "UNSUBSCRIBE completed"


# ---- LIST / LSUB ---------------------------------------------------------------------------

def _pattern(reference: str, pattern: str) -> re.Pattern[str]:
    """`*` matches anything, `%` anything but the separator; INBOX matches in any case."""
    full = reference + pattern

    def translate(text: str) -> str:
        return "".join(".*" if c == "*" else "[^.]*" if c == "%" else re.escape(c) for c in text)

    regex = "(?i:INBOX)" + translate(full[5:]) if full[:5].upper() == "INBOX" else translate(full)
    return re.compile(f"^{regex}$", re.DOTALL)


def _list_arguments(arguments: list[Token]) -> tuple[str, str]:
    if len(arguments) != 2 or isinstance(arguments[0], list) or isinstance(arguments[1], list):
        raise BadCommand("expected a reference and a mailbox pattern")
    try:
        return decode_mutf7(astring(arguments[0])), decode_mutf7(astring(arguments[1]))
    except InvalidName as error:
        raise BadCommand(str(error)) from error


def _with_parents(folder_names: list[str]) -> dict[str, bool]:
    """Every name and its implied parents; True if it exists, False if only implied."""
    found = {name: True for name in folder_names}
    for name in folder_names:
        parts = name.split(names.SEPARATOR)
        for depth in range(1, len(parts)):
            found.setdefault(names.SEPARATOR.join(parts[:depth]), False)
    return found


def _list_lines(kind: str, reference: str, pattern: str, candidates: dict[str, bool], all_names: set[str]) -> bytes:
    if not pattern:
        return f'* {kind} (\\Noselect) "{names.SEPARATOR}" ""\r\n'.encode()
    matcher = _pattern(reference, pattern)
    out = bytearray()
    for name in sorted(candidates, key=lambda n: (n != names.INBOX, n)):
        if not matcher.match(name):
            continue
        attributes = []
        if not candidates[name]:
            attributes.append("\\Noselect")
        has_children = any(other.startswith(name + names.SEPARATOR) for other in all_names)
        attributes.append("\\HasChildren" if has_children else "\\HasNoChildren")
        if name in SPECIAL_USE:
            attributes.append(SPECIAL_USE[name])
        out += f'* {kind} ({" ".join(attributes)}) "{names.SEPARATOR}" '.encode() + mailbox_name(name) + b"\r\n"
    return bytes(out)


@command("LIST", *AUTHENTICATED)
async def list_(session: Session, arguments: list[Token], uid: bool) -> str:
    assert session.mailbox is not None
    reference, pattern = _list_arguments(arguments)
    existing = await session.store.list_folders(session.mailbox)
    candidates = _with_parents(existing)
    session.send(_list_lines("LIST", reference, pattern, candidates, set(candidates)))
    return "LIST completed"


@command("LSUB", *AUTHENTICATED)
async def lsub(session: Session, arguments: list[Token], uid: bool) -> str:
    assert session.mailbox is not None
    reference, pattern = _list_arguments(arguments)
    subscribed = await session.store.subscriptions(session.mailbox)
    existing = set(await session.store.list_folders(session.mailbox))
    candidates = {name: name in existing for name in subscribed}
    session.send(_list_lines("LSUB", reference, pattern, candidates, existing))
    return "LSUB completed"


# ---- STATUS --------------------------------------------------------------------------------

@command("STATUS", *AUTHENTICATED)
async def status(session: Session, arguments: list[Token], uid: bool) -> str:
    if len(arguments) != 2 or not isinstance(arguments[1], list) or not arguments[1]:
        raise BadCommand("expected a mailbox name and a list of status items")
    wanted = [str(item).upper() for item in arguments[1]]
    if any(item not in STATUS_ITEMS for item in wanted):
        raise BadCommand("unknown status item")
    name = folder_argument(arguments[0])
    folder = await open_folder(session, name)
    values = {
        "MESSAGES": len(folder), "UIDNEXT": folder.uidnext, "UIDVALIDITY": folder.uidvalidity,
        "RECENT": len(folder.uids) - bisect.bisect_right(folder.uids, folder.recent_floor),
        "HIGHESTMODSEQ": folder.highestmodseq,
    }
    if "UNSEEN" in wanted:
        values["UNSEEN"] = len(folder.with_flag(folder.uids, "\\Seen", present=False))
    items = " ".join(f"{item} {values[item]}" for item in dict.fromkeys(wanted))
    session.send(b"* STATUS " + mailbox_name(name) + f" ({items})\r\n".encode())
    return "STATUS completed"


# ---- APPEND --------------------------------------------------------------------------------

def parse_date_time(text: str) -> float:
    match = _DATE_TIME.match(text)
    if match is None or match.group(2).lower() not in _MONTHS:
        raise BadCommand("invalid date-time")
    day, month, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    offset = datetime.timedelta(hours=int(zone_h), minutes=int(zone_m)) * (-1 if sign == "-" else 1)
    try:
        when = datetime.datetime(int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute), int(second),
                                 tzinfo=datetime.timezone(offset))
    except ValueError as error:
        raise BadCommand("invalid date-time") from error
    return when.timestamp()


def check_flags(tokens: list[Token]) -> list[str]:
    """Flags a client may set: system flags (not \\Recent) and keyword atoms, bounded in size."""
    if len(tokens) > MAX_FLAGS:
        raise BadCommand(f"at most {MAX_FLAGS} flags at once")
    flags = []
    for token in tokens:
        if not isinstance(token, Atom):
            raise BadCommand("flags must be atoms")
        if token.startswith("\\"):
            canonical = next((f for f in SYSTEM_FLAGS if f.lower() == token.lower()), None)
            if canonical is None:
                raise BadCommand(f"invalid system flag {token[:40]}")
            flags.append(canonical)
        else:
            if any(c in token for c in "*%]") or not token or len(token) > MAX_KEYWORD_LENGTH:
                raise BadCommand("invalid keyword")
            flags.append(str(token))
    return flags


@command("APPEND", *AUTHENTICATED)
async def append(session: Session, arguments: list[Token], uid: bool) -> str:
    assert session.mailbox is not None
    if len(arguments) < 2 or not isinstance(arguments[-1], bytes):
        raise BadCommand("expected: APPEND mailbox [(flags)] [date-time] literal")
    name = folder_argument(arguments[0])
    flags: list[str] = []
    internal: float | None = None
    for option in arguments[1:-1]:
        if isinstance(option, list):
            flags = check_flags(option)
        elif isinstance(option, bytes):
            internal = parse_date_time(option.decode("ascii", "replace"))
        else:
            raise BadCommand("unexpected APPEND argument")
    data = arguments[-1]
    assert isinstance(data, bytes)
    if not data:
        raise No("Empty message")
    try:
        folder = await session.store.folder(session.mailbox, name)
    except FolderNotFound as error:
        raise No("[TRYCREATE] No such mailbox") from error
    if session.store.pool_full(session.config, session.mailbox, len(data)):
        raise No("[OVERQUOTA] The account's storage is full; nothing was stored")
    try:
        new_uid = await folder.append(data, flags, internal, origin=session, quota_limit=session.mailbox.quota_bytes)
    except OverQuota as error:
        raise No("[OVERQUOTA] Quota exceeded; nothing was stored") from error
    return f"[APPENDUID {folder.uidvalidity} {new_uid}] APPEND completed"


# ---- NAMESPACE and QUOTA -------------------------------------------------------------------

@command("NAMESPACE", *AUTHENTICATED)
async def namespace(session: Session, arguments: list[Token], uid: bool) -> str:
    session.send(f'* NAMESPACE (("" "{names.SEPARATOR}")) NIL NIL\r\n'.encode())
    return "NAMESPACE completed"


def _quota_line(session: Session) -> bytes:
    assert session.mailbox is not None
    usage = session.store.usage(session.mailbox)
    used_kb = (usage.bytes + 1023) // 1024
    return b'* QUOTA "" (STORAGE %d %d)\r\n' % (used_kb, session.mailbox.quota_bytes // 1024)


@command("GETQUOTAROOT", *AUTHENTICATED)
async def getquotaroot(session: Session, arguments: list[Token], uid: bool) -> str:
    assert session.mailbox is not None
    name = _one_name(arguments)
    await open_folder(session, name)
    if session.mailbox.quota_bytes > 0:
        session.send(b"* QUOTAROOT " + mailbox_name(name) + b' ""\r\n' + _quota_line(session))
    else:
        session.send(b"* QUOTAROOT " + mailbox_name(name) + b"\r\n")
    return "GETQUOTAROOT completed"


@command("GETQUOTA", *AUTHENTICATED)
async def getquota(session: Session, arguments: list[Token], uid: bool) -> str:
    assert session.mailbox is not None
    if len(arguments) != 1 or astring(arguments[0]) != "" or session.mailbox.quota_bytes <= 0:
        raise No("[NONEXISTENT] No such quota root")
    session.send(_quota_line(session))
    return "GETQUOTA completed"


@command("SETQUOTA", *AUTHENTICATED)
async def setquota(session: Session, arguments: list[Token], uid: bool) -> str:
    raise No("[NOPERM] Quotas are set by the plan in the control panel")
