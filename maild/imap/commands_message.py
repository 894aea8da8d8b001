"""Selected-state commands: FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE and their UID forms.

Messages are addressed through the session's view (`SelectedFolder`), so sequence numbers stay
what the client was told even while other sessions change the folder. Message files are read
in batches (one worker-thread hop per batch) and responses are flushed in large chunks.
"""
from __future__ import annotations

from maild.imap import sequence
from maild.imap.commands_mailbox import check_flags, folder_argument
from maild.imap.fetch import parse_items, render
from maild.imap.parser import Atom, BadCommand, Token, astring
from maild.imap.search import NEEDS_HEADER, BadCharset, Candidate, parse_criteria
from maild.imap.selected import SelectedFolder
from maild.imap.session import SELECTED, No, Session, command
from maild.store import FolderNotFound, Message, OverQuota

READ_BATCH = 64


def _view(session: Session) -> SelectedFolder:
    assert session.selected is not None
    return session.selected


def _targets(view: SelectedFolder, text: Token, uid: bool) -> list[tuple[int, int]]:
    """(sequence number, uid) pairs named by a set argument, ascending."""
    if not isinstance(text, Atom):
        raise BadCommand("expected a sequence set")
    if uid:
        return [(view.sequence_of(u) or 0, u) for u in sequence.uids_in(text, view.uids)]
    return [(n, view.uid_at(n)) for n in sequence.sequence_numbers(text, len(view))]


# ---- FETCH ---------------------------------------------------------------------------------

@command("FETCH", *SELECTED, allows_expunge=False, uid_form=True)
async def fetch(session: Session, arguments: list[Token], uid: bool) -> str:
    view = _view(session)
    if len(arguments) not in (2, 3):
        raise BadCommand("expected: FETCH set items [(CHANGEDSINCE n)]")
    request = parse_items(arguments[1])
    changed_since = None
    if len(arguments) == 3:
        modifier = arguments[2]
        if not (isinstance(modifier, list) and len(modifier) == 2 and str(modifier[0]).upper() == "CHANGEDSINCE"
                and isinstance(modifier[1], Atom) and modifier[1].isdigit()):
            raise BadCommand("unsupported FETCH modifier")
        changed_since = int(modifier[1])
        session.enabled.add("CONDSTORE")
        view.condstore = True
    targets = _targets(view, arguments[0], uid)
    folder = view.folder
    if request.sets_seen and not view.readonly:
        unseen = [u for _, u in targets if (m := folder.message(u)) is not None and "\\Seen" not in m.flags]
        if unseen:
            await folder.store_flags(unseen, "+", ["\\Seen"], origin=session)
    include_flags = request.sets_seen and not view.readonly
    expunged = False
    for start in range(0, len(targets), READ_BATCH):
        batch = targets[start:start + READ_BATCH]
        messages = [(n, folder.message(u)) for n, u in batch]
        if changed_since is not None:
            messages = [(n, m) for n, m in messages if m is not None and m.modseq > changed_since]
        data = await folder.read_many([m.uid for _, m in messages if m is not None]) if request.needs_body else {}
        for number, message in messages:
            if message is None or (request.needs_body and message.uid not in data):
                expunged = True
                continue
            items = render(request, message, data.get(message.uid), message.uid in view.recent,
                           include_uid=uid, include_flags=include_flags, modseq=session.condstore)
            session.send(b"* %d FETCH %s\r\n" % (number, items))
        await session.flush(force=False)
    if expunged:
        raise No("[EXPUNGEISSUED] Some messages were expunged before they could be fetched")
    return "FETCH completed"


# ---- STORE ---------------------------------------------------------------------------------

@command("STORE", *SELECTED, allows_expunge=False, uid_form=True)
async def store(session: Session, arguments: list[Token], uid: bool) -> str:
    view = _view(session)
    if len(arguments) == 4 and isinstance(arguments[1], list):
        modifier = arguments.pop(1)
        if not (len(modifier) == 2 and str(modifier[0]).upper() == "UNCHANGEDSINCE" and str(modifier[1]).isdigit()):
            raise BadCommand("unsupported STORE modifier")
        unchanged_since: int | None = int(str(modifier[1]))
        session.enabled.add("CONDSTORE")
        view.condstore = True
    else:
        unchanged_since = None
    if len(arguments) != 3 or not isinstance(arguments[1], Atom):
        raise BadCommand("expected: STORE set [+|-]FLAGS[.SILENT] (flags)")
    item = arguments[1].upper()
    silent = item.endswith(".SILENT")
    item = item.removesuffix(".SILENT")
    modes = {"FLAGS": "=", "+FLAGS": "+", "-FLAGS": "-"}
    if item not in modes:
        raise BadCommand("unknown STORE item")
    if view.readonly:
        raise No("[READ-ONLY] The mailbox is read-only")
    flag_tokens = arguments[2] if isinstance(arguments[2], list) else [arguments[2]]
    flags = check_flags(flag_tokens)
    targets = _targets(view, arguments[0], uid)
    changed, failed = await view.folder.store_flags([u for _, u in targets], modes[item], flags,
                                                    origin=session, unchanged_since=unchanged_since)
    changed_uids = {m.uid for m in changed}
    if not silent or session.condstore:
        for number, target_uid in targets:
            message = view.folder.message(target_uid)
            if message is None or target_uid in failed or (silent and target_uid not in changed_uids):
                continue
            line = view.fetch_flags_line(message, with_uid=uid)
            if line:
                session.send(line)
    if failed:
        return f"[MODIFIED {sequence.compress(sorted(failed))}] Conditional STORE failed for some messages"
    return "STORE completed"


# ---- SEARCH --------------------------------------------------------------------------------

@command("SEARCH", *SELECTED, allows_expunge=False, uid_form=True)
async def search(session: Session, arguments: list[Token], uid: bool) -> str:
    view = _view(session)
    try:
        criteria = parse_criteria(arguments, view.uids)
    except BadCharset as error:
        raise No("[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset") from error
    folder = view.folder
    found: list[tuple[int, Message]] = []
    uids = list(view.uids)
    step = READ_BATCH if criteria.needs else max(1, len(uids))
    for start in range(0, len(uids), step):
        batch = uids[start:start + step]
        data: dict[int, bytes] = {}
        if criteria.needs:
            data = await folder.read_many(batch, header_only=criteria.needs == NEEDS_HEADER)
        for offset, message_uid in enumerate(batch):
            message = folder.message(message_uid)
            if message is None or (criteria.needs and message_uid not in data):
                continue  # expunged meanwhile
            candidate = Candidate(start + offset + 1, message, message_uid in view.recent, data.get(message_uid))
            if criteria.matches(candidate):
                found.append((start + offset + 1, message))
    numbers = [m.uid if uid else number for number, m in found]
    line = "* SEARCH" + "".join(f" {n}" for n in numbers)
    if criteria.uses_modseq and found:
        line += f" (MODSEQ {max(m.modseq for _, m in found)})"
        session.enabled.add("CONDSTORE")
    session.send(line.encode() + b"\r\n")
    return "SEARCH completed"


# ---- COPY / MOVE / EXPUNGE -----------------------------------------------------------------

async def _copy(session: Session, arguments: list[Token], uid: bool) -> tuple[str, list[int]]:
    """Copy the named messages; returns the COPYUID code and the source UIDs copied."""
    view = _view(session)
    assert session.mailbox is not None
    if len(arguments) != 2:
        raise BadCommand("expected a set and a mailbox name")
    targets = [u for _, u in _targets(view, arguments[0], uid)]
    name = folder_argument(arguments[1])
    try:
        destination = await session.store.folder(session.mailbox, name)
    except FolderNotFound as error:
        raise No("[TRYCREATE] No such mailbox") from error
    source = view.folder
    messages = [m for m in (source.message(u) for u in targets) if m is not None]
    quota = session.mailbox.quota_bytes
    if quota > 0 and session.store.usage(session.mailbox).bytes + sum(m.size for m in messages) > quota:
        raise No("[OVERQUOTA] Quota exceeded; nothing was copied")
    if session.store.pool_full(session.config, session.mailbox, sum(m.size for m in messages)):
        raise No("[OVERQUOTA] The account's storage is full; nothing was copied")
    copied: list[tuple[int, int]] = []
    for start in range(0, len(messages), READ_BATCH):
        batch = messages[start:start + READ_BATCH]
        data = await source.read_many([m.uid for m in batch])
        for message in batch:
            if message.uid not in data:
                continue
            try:
                new_uid = await destination.append(data[message.uid], message.flags, message.internal_date,
                                                   origin=session)
            except OverQuota as error:
                raise No("[OVERQUOTA] Quota exceeded") from error
            copied.append((message.uid, new_uid))
    if not copied:
        return "", []
    code = (f"[COPYUID {destination.uidvalidity} {sequence.compress([s for s, _ in copied])} "
            f"{sequence.compress([d for _, d in copied])}]")
    return code, [s for s, _ in copied]


@command("COPY", *SELECTED, uid_form=True)
async def copy(session: Session, arguments: list[Token], uid: bool) -> str:
    code, _ = await _copy(session, arguments, uid)
    return f"{code} COPY completed".lstrip()


@command("MOVE", *SELECTED, uid_form=True)
async def move(session: Session, arguments: list[Token], uid: bool) -> str:
    view = _view(session)
    if view.readonly:
        raise No("[READ-ONLY] The mailbox is read-only")
    code, moved = await _copy(session, arguments, uid)
    if code:
        session.send(f"* OK {code} Moved\r\n".encode())
    await view.folder.expunge(moved, origin=session)
    return "MOVE completed"


@command("EXPUNGE", *SELECTED, uid_form=True)
async def expunge(session: Session, arguments: list[Token], uid: bool) -> str:
    view = _view(session)
    if view.readonly:
        raise No("[READ-ONLY] The mailbox is read-only")
    folder = view.folder
    if uid:
        if len(arguments) != 1:
            raise BadCommand("UID EXPUNGE needs a UID set")
        candidates = sequence.uids_in(astring(arguments[0]), folder.uids)
    elif arguments:
        raise BadCommand("EXPUNGE takes no arguments")
    else:
        candidates = folder.uids
    await folder.expunge(folder.with_flag(candidates, "\\Deleted"), origin=session)
    return "EXPUNGE completed"
