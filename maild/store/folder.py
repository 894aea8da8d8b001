"""One open folder: its messages in memory, its change log, and the sessions watching it.

All sessions of a mailbox in this process share one `Folder`, so a delivery or another session's
STORE/EXPUNGE is visible at once: each change is appended to the folder's change log and every
`Watcher` is woken (IDLE pushes immediately; other sessions report at their next command).
Message files are written outside the folder lock (fsync is slow); UIDs are reserved in order
and published in order, so a session never sees a lower UID appear after a higher one.
"""
from __future__ import annotations

import asyncio
import bisect
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

from maild.store import maildir
from maild.store.commit import Committer
from maild.store.index import IndexFile, IndexState, Message
from maild.store.mime import summarize
from maild.store.quota import QuotaCounter

UIDVALIDITY_FILE = "tegami-uidvalidity"
KEYWORDS_FILE = "dovecot-keywords"
MAX_CHANGE_LOG = 4096
READ_RETRIES = 3
HEADER_LIMIT = 256 * 1024
HEADER_CACHE_BYTES = 16 * 1024 * 1024


class OverQuota(Exception):
    """Storing the message would exceed the mailbox quota; nothing was stored."""


class MessageGone(Exception):
    """The message was expunged (by another session) before it could be read."""


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change log. kind: "exists", "expunge" or "flags"."""

    kind: str
    uid: int
    origin: object | None


class Watcher:
    """A session's cursor in a folder's change log, woken on every change."""

    def __init__(self, folder: Folder, wake: Callable[[], None]) -> None:
        self.folder = folder
        self.wake = wake
        self.position = folder.change_end
        # Set when this watcher fell MAX_CHANGE_LOG changes behind: the log no longer holds what
        # it missed, so its owner must compare its view with the folder as a whole.
        self.overflowed = False

    def pending(self) -> list[Change]:
        """Changes since the last `advance`, oldest first (not consumed)."""
        return self.folder.changes_from(self.position)

    def advance(self, count: int) -> None:
        self.position += count

    def close(self) -> None:
        self.folder.unwatch(self)


def _read_header(handle: BinaryIO) -> bytes:
    """The header block of an open message file (up to HEADER_LIMIT bytes)."""
    data = b""
    while len(data) < HEADER_LIMIT:
        chunk = handle.read(8192)
        if not chunk:
            break
        data += chunk
        end = data.find(b"\r\n\r\n")
        if end < 0:
            end = data.find(b"\n\n")
        if end >= 0:
            return data[: end + 4]
    return data


def _read_keywords(path: Path) -> list[str]:
    keywords: list[str] = []
    try:
        lines = (path / KEYWORDS_FILE).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return keywords
    for line in lines:
        number, _, name = line.partition(" ")
        if number.isdigit() and name and int(number) == len(keywords):
            keywords.append(name)
    return keywords


def _read_uidvalidity(path: Path) -> int:
    """The folder's UIDVALIDITY, created (durably) on first use."""
    file = path / UIDVALIDITY_FILE
    try:
        return int(file.read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        value = max(1, int(time.time()))
        maildir.write_durably(path, ".", UIDVALIDITY_FILE, str(value).encode())
        return value


class Folder:
    """A Maildir folder with its index; create with `Folder.open` (blocking, run in a thread)."""

    def __init__(self, name: str, path: Path, quota: QuotaCounter, index: IndexFile,
                 state: IndexState, uidvalidity: int, keywords: list[str], committer: Committer) -> None:
        self.name = name
        self.path = path
        self.quota = quota
        self._committer = committer
        self.uidvalidity = uidvalidity
        self.keywords = keywords
        self._index = index
        self._state = state
        self.uids: list[int] = sorted(state.messages)
        self.lock = asyncio.Lock()
        self.recent_floor = min((m.uid - 1 for m in state.messages.values() if m.subdir == "new"),
                                default=state.uidnext - 1)
        self._changes: list[Change] = []
        self._change_base = 0
        self._watchers: set[Watcher] = set()
        self._next_reserved = state.uidnext
        self._reserved: deque[int] = deque()
        self._written: dict[int, Message | None] = {}
        self._published: dict[int, asyncio.Future[None]] = {}
        self._header_cache: dict[int, bytes] = {}
        # uid -> "cur/<name>" while a flag change renames the file (worker thread) and the index
        # entry still has the old name; cleared once the entries are updated.
        self._moved: dict[int, str] = {}
        self._snapshot: list[int] | None = None
        self._header_cache_bytes = 0

    # ---- loading -------------------------------------------------------------------------

    @classmethod
    def open(cls, name: str, path: Path, quota: QuotaCounter, committer: Committer) -> Folder:
        """Load the index and reconcile it with the files (blocking)."""
        maildir.make_maildir(path)
        maildir.clean_tmp(path)
        uidvalidity = _read_uidvalidity(path)
        keywords = _read_keywords(path)
        index = IndexFile(path)
        stored = index.load()
        state = stored or IndexState(1, 1, {})
        removed, changed, adopted = _reconcile(path, state, keywords)
        if stored is None or index.needs_compaction(len(state.messages) - len(removed) - len(adopted)):
            index.write_snapshot(state)
        else:  # a few differences (mail delivered while closed): journal them, O(differences)
            if removed:
                state.highestmodseq += 1
                index.record_expunge(removed, state.highestmodseq)
            index.record_flags(changed)
            index.record_add(adopted)
        return cls(name, path, quota, index, state, uidvalidity, keywords, committer)

    # ---- reading -------------------------------------------------------------------------

    @property
    def uidnext(self) -> int:
        return self._next_reserved

    @property
    def highestmodseq(self) -> int:
        return self._state.highestmodseq

    def message(self, uid: int) -> Message | None:
        return self._state.messages.get(uid)

    def with_flag(self, uids: Iterable[int], flag: str, present: bool = True) -> list[int]:
        """The UIDs among `uids` that have (or, with present=False, lack) `flag`."""
        messages = self._state.messages
        return [uid for uid in uids if uid in messages and (flag in messages[uid].flags) == present]

    def __len__(self) -> int:
        return len(self.uids)

    def snapshot(self) -> list[int]:
        """The current UIDs as a list shared by every caller until the next change: never mutate it."""
        if self._snapshot is None:
            self._snapshot = list(self.uids)
        return self._snapshot

    @property
    def busy(self) -> bool:
        """Messages are being written: the folder must stay cached until they are published."""
        return bool(self._reserved)

    async def read(self, uid: int) -> bytes:
        """The message bytes exactly as stored; MessageGone if it was expunged."""
        found = await self.read_many([uid])
        if uid not in found:
            raise MessageGone(uid)
        return found[uid]

    async def read_many(self, uids: list[int], header_only: bool = False) -> dict[int, bytes]:
        """Bytes of several messages in one worker-thread hop; expunged ones are left out.

        `header_only` stops at the blank line ending the header (for header searches). Header
        blocks are kept in memory (up to HEADER_CACHE_BYTES per folder), as Dovecot's cache
        keeps the fields clients search, so repeated header searches do not touch the disk.
        """
        if not header_only:
            return await asyncio.to_thread(self._read_files, uids, False)
        cache = self._header_cache
        found = {uid: cache[uid] for uid in uids if uid in cache}
        missing = [uid for uid in uids if uid not in found]
        if missing:
            read = await asyncio.to_thread(self._read_files, missing, True)
            for uid, header in read.items():
                if self._header_cache_bytes + len(header) <= HEADER_CACHE_BYTES and uid in self._state.messages:
                    cache[uid] = header
                    self._header_cache_bytes += len(header)
            found.update(read)
        return found

    def _read_files(self, uids: list[int], header_only: bool) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        for uid in uids:
            for _ in range(READ_RETRIES):
                message = self._state.messages.get(uid)
                if message is None:
                    break
                # A flag change records the new name before renaming the file and updates the
                # index entry after: in between, the file is found under the recorded name.
                names = [f"{message.subdir}/{message.name}", self._moved.get(uid)]
                data = self._read_first([name for name in names if name], header_only)
                if data is not None:
                    found[uid] = data
                    break
        return found

    def _read_first(self, names: list[str], header_only: bool) -> bytes | None:
        """The first of `names` (relative to the folder) that exists; None if none does."""
        for name in names:
            try:
                with open(self.path / name, "rb") as handle:
                    return _read_header(handle) if header_only else handle.read()
            except FileNotFoundError:
                continue
        return None

    def claim_recent(self, upto: int) -> int:
        """Claim \\Recent up to UID `upto`: UIDs above the returned floor are recent for the caller only."""
        floor = self.recent_floor
        self.recent_floor = max(floor, upto)
        return floor

    # ---- watching ------------------------------------------------------------------------

    @property
    def change_end(self) -> int:
        return self._change_base + len(self._changes)

    def watch(self, wake: Callable[[], None]) -> Watcher:
        watcher = Watcher(self, wake)
        self._watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    @property
    def watched(self) -> bool:
        return bool(self._watchers)

    def changes_from(self, position: int) -> list[Change]:
        return self._changes[position - self._change_base:]

    def _publish(self, changes: list[Change]) -> None:
        if not changes:
            return
        self._changes.extend(changes)
        if len(self._changes) > MAX_CHANGE_LOG:
            floor = self.change_end - MAX_CHANGE_LOG
            for watcher in self._watchers:
                if watcher.position < floor:  # a silent session must not make the log grow forever
                    watcher.overflowed, watcher.position = True, self.change_end
            oldest = min((w.position for w in self._watchers), default=self.change_end)
            drop = oldest - self._change_base
            del self._changes[:drop]
            self._change_base += drop
        for watcher in list(self._watchers):
            watcher.wake()

    # ---- adding messages -----------------------------------------------------------------

    async def append(self, data: bytes, flags: Iterable[str] = (), internal_date: float | None = None,
                     origin: object | None = None, quota_limit: int | None = None) -> int:
        """Store a message durably and return its UID. OverQuota if `quota_limit` would be exceeded."""
        if quota_limit is not None and quota_limit > 0 and self.quota.usage.bytes + len(data) > quota_limit:
            raise OverQuota()
        flag_set = frozenset(flags) - {"\\Recent"}
        uid = self._next_reserved
        self._next_reserved += 1
        self._reserved.append(uid)
        published = asyncio.get_running_loop().create_future()
        self._published[uid] = published
        letters = self._letters(flag_set)
        try:
            # Parsed first, off the loop: on the committer's thread it would hold up every delivery.
            summary = await asyncio.to_thread(summarize, data)
            message = await self._committer.commit(
                partial(self._stage_message, uid, data, summary, flag_set, letters, internal_date))
        except BaseException:
            self._written[uid] = None
            await self._publish_written(origin)
            raise
        self._written[uid] = message
        await self._publish_written(origin)
        await published
        return uid

    def _stage_message(self, uid: int, data: bytes, summary: tuple[str, str], flags: frozenset[str],
                       letters: str, internal_date: float | None) -> tuple[Message, maildir.StagedFile]:
        """Stage one message's file (committer thread), which the committer makes durable
        together with the rest of its batch."""
        envelope, bodystructure = summary
        base = maildir.new_base(uid, len(data))
        subdir = "cur" if flags else "new"
        name = maildir.file_name(base, letters) if subdir == "cur" else base
        when = time.time() if internal_date is None else internal_date
        staged = maildir.stage_file(self.path, subdir, name, data, mtime=when)
        return Message(uid, subdir, name, len(data), when, 0, flags, envelope, bodystructure), staged

    async def _publish_written(self, origin: object | None) -> None:
        """Index and announce written messages in UID order."""
        ready: list[Message] = []
        done: list[int] = []
        while self._reserved and self._reserved[0] in self._written:
            uid = self._reserved.popleft()
            done.append(uid)
            message = self._written.pop(uid)
            if message is not None:
                ready.append(message)
        if not done:
            return
        async with self.lock:
            for message in ready:
                self._state.highestmodseq += 1
                message.modseq = self._state.highestmodseq
            try:
                await asyncio.to_thread(self._index_added, ready)
            finally:
                for message in ready:
                    self._state.messages[message.uid] = message
                    self.uids.append(message.uid)
                self._snapshot = None
                self._state.uidnext = max(self._state.uidnext, done[-1] + 1)
                self._publish([Change("exists", m.uid, origin) for m in ready])
                for uid in done:
                    future = self._published.pop(uid)
                    if not future.done():
                        future.set_result(None)

    def _index_added(self, messages: list[Message]) -> None:
        self.quota.add(sum(m.size for m in messages), len(messages))
        self._index.record_add(messages)
        self._maybe_compact()

    def _maybe_compact(self) -> None:
        if self._index.needs_compaction(len(self._state.messages)):
            self._index.write_snapshot(self._state)

    # ---- flags ---------------------------------------------------------------------------

    def _letters(self, flags: frozenset[str]) -> str:
        """Maildir flag letters; new keywords get the next free letter in dovecot-keywords."""
        letters = [maildir.SYSTEM_FLAG_LETTERS[f] for f in flags if f in maildir.SYSTEM_FLAG_LETTERS]
        for flag in flags:
            if flag.startswith("\\"):
                continue
            if flag not in self.keywords and len(self.keywords) < maildir.MAX_KEYWORD_LETTERS:
                self.keywords.append(flag)
                text = "".join(f"{i} {name}\n" for i, name in enumerate(self.keywords))
                (self.path / KEYWORDS_FILE).write_text(text, encoding="utf-8")
            if flag in self.keywords:
                letters.append(chr(ord("a") + self.keywords.index(flag)))
        return "".join(letters)

    async def store_flags(self, uids: Iterable[int], mode: str, flags: Iterable[str], origin: object | None = None,
                          unchanged_since: int | None = None) -> tuple[list[Message], list[int]]:
        """Add ("+"), remove ("-") or replace ("=") flags. Returns (changed, failed UNCHANGEDSINCE)."""
        wanted = frozenset(flags) - {"\\Recent"}
        async with self.lock:
            plans: list[tuple[Message, frozenset[str], str]] = []
            failed: list[int] = []
            for uid in uids:
                message = self._state.messages.get(uid)
                if message is None:
                    continue
                if unchanged_since is not None and message.modseq > unchanged_since:
                    failed.append(uid)
                    continue
                new = {"+": message.flags | wanted, "-": message.flags - wanted, "=": wanted}[mode]
                if new != message.flags:
                    plans.append((message, new, self._letters(new)))
            if not plans:
                return [], failed
            renamed = await asyncio.to_thread(self._rename_for_flags, plans)
            changed: list[Message] = []
            for message, new, subdir, name in renamed:
                self._state.highestmodseq += 1
                message.flags, message.subdir, message.name = new, subdir, name
                message.modseq = self._state.highestmodseq
                changed.append(message)
            self._moved.clear()
            await asyncio.to_thread(self._index_flags, changed)
            self._publish([Change("flags", m.uid, origin) for m in changed])
            return changed, failed

    async def settle(self, uids: Iterable[int]) -> None:
        """Move messages a session has seen from new/ to cur/ (as Dovecot does), so that after a
        restart they are no longer \\Recent. Flags and MODSEQ stay as they are."""
        async with self.lock:
            plans = [(m, m.flags, self._letters(m.flags)) for m in map(self._state.messages.get, uids)
                     if m is not None and m.subdir == "new"]
            if not plans:
                return
            renamed = await asyncio.to_thread(self._rename_for_flags, plans)
            for message, _, subdir, name in renamed:
                message.subdir, message.name = subdir, name
            self._moved.clear()
            await asyncio.to_thread(self._index_flags, [message for message, *_ in renamed])

    def _rename_for_flags(self, plans: list[tuple[Message, frozenset[str], str]]
                          ) -> list[tuple[Message, frozenset[str], str, str]]:
        done = []
        for message, new, letters in plans:
            name = maildir.file_name(maildir.parse_name(message.name).base, letters)
            self._moved[message.uid] = f"cur/{name}"  # readers racing the rename find it here
            try:
                os.rename(self.path / message.subdir / message.name, self.path / "cur" / name)
            except FileNotFoundError:
                continue  # removed behind our back; the next load reconciles
            done.append((message, new, "cur", name))
        return done

    def _index_flags(self, messages: list[Message]) -> None:
        self._index.record_flags(messages)
        self._maybe_compact()

    # ---- expunge -------------------------------------------------------------------------

    async def expunge(self, uids: Iterable[int], origin: object | None = None) -> list[int]:
        """Remove messages for good; returns the UIDs removed, ascending."""
        async with self.lock:
            victims = sorted((self._state.messages[uid] for uid in set(uids) if uid in self._state.messages),
                             key=lambda m: m.uid)
            if not victims:
                return []
            self._state.highestmodseq += 1
            await asyncio.to_thread(self._remove_files, victims, self._state.highestmodseq)
            for message in victims:
                del self._state.messages[message.uid]
                self._header_cache_bytes -= len(self._header_cache.pop(message.uid, b""))
                position = bisect.bisect_left(self.uids, message.uid)
                del self.uids[position]
            self._snapshot = None
            self._publish([Change("expunge", m.uid, origin) for m in victims])
            return [m.uid for m in victims]

    def _remove_files(self, victims: list[Message], modseq: int) -> None:
        for message in victims:
            (self.path / message.subdir / message.name).unlink(missing_ok=True)
        self.quota.add(-sum(m.size for m in victims), -len(victims))
        self._index.record_expunge((m.uid for m in victims), modseq)
        self._maybe_compact()


def _reconcile(path: Path, state: IndexState, keywords: list[str]) -> tuple[list[int], list[Message], list[Message]]:
    """Bring `state` in line with the files on disk: (UIDs gone, messages renamed, messages adopted)."""
    on_disk: dict[str, tuple[str, str]] = {}
    for subdir in ("new", "cur"):
        with os.scandir(path / subdir) as entries:
            for entry in entries:
                if not entry.name.startswith("."):
                    on_disk[maildir.parse_name(entry.name).base] = (subdir, entry.name)
    removed: list[int] = []
    changed: list[Message] = []
    for uid, message in list(state.messages.items()):
        found = on_disk.pop(maildir.parse_name(message.name).base, None)
        if found is None:
            del state.messages[uid]
            removed.append(uid)
        elif found != (message.subdir, message.name):
            message.subdir, message.name = found
            message.flags = _flags_from_letters(maildir.parse_name(found[1]).letters, keywords, message.flags)
            state.highestmodseq += 1
            message.modseq = state.highestmodseq
            changed.append(message)
    adopted = [_adopt(path, state, keywords, subdir, name)
               for subdir, name in sorted(on_disk.values(), key=_adoption_order)]
    return removed, changed, adopted


def _adoption_order(item: tuple[str, str]) -> tuple[int, int, str]:
    """Files that carry a UID keep it (in UID order); others (copied in from elsewhere) follow."""
    uid = maildir.parse_name(item[1]).uid
    return (0, uid, item[1]) if uid is not None else (1, 0, item[1])


def _adopt(path: Path, state: IndexState, keywords: list[str], subdir: str, name: str) -> Message:
    """Index a file the index did not know (lost index, crash before indexing, file copy)."""
    parsed = maildir.parse_name(name)
    uid = parsed.uid
    if uid is None or uid in state.messages:
        uid = state.uidnext
        base = ",".join(part for part in parsed.base.split(",") if not part.startswith("U=")) + f",U={uid}"
        new_name = maildir.file_name(base, parsed.letters) if subdir == "cur" else base
        os.rename(path / subdir / name, path / subdir / new_name)
        name = new_name
    file = path / subdir / name
    data = file.read_bytes()
    envelope, bodystructure = summarize(data)
    state.highestmodseq += 1
    message = state.messages[uid] = Message(uid, subdir, name, len(data), file.stat().st_mtime, state.highestmodseq,
                                            _flags_from_letters(parsed.letters, keywords), envelope, bodystructure)
    state.uidnext = max(state.uidnext, uid + 1)
    return message


def _flags_from_letters(letters: str, keywords: list[str], previous: frozenset[str] = frozenset()) -> frozenset[str]:
    flags = {maildir.LETTER_SYSTEM_FLAGS[c] for c in letters if c in maildir.LETTER_SYSTEM_FLAGS}
    flags |= {keywords[ord(c) - ord("a")] for c in letters if "a" <= c <= "z" and ord(c) - ord("a") < len(keywords)}
    # keywords beyond the 26 letters live only in the index: keep them
    flags |= {f for f in previous if not f.startswith("\\") and f not in keywords}
    return frozenset(flags)
