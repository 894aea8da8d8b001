"""The per-folder index: a JSON snapshot plus an append-only journal, rebuildable from the files.

`tegami-index` holds the whole folder (UIDNEXT, HIGHESTMODSEQ, one row per message); every later
change appends one line to `tegami-index.log`, so a delivery or a flag change costs O(1) on disk.
The journal is folded into a new snapshot once it outgrows the folder. The files stay the truth:
on load the index is reconciled with the `cur/` and `new/` listings, and a missing or corrupt
index is rebuilt from the file names (UID in `U=`, flags in `:2,`), keeping UIDs and flags.

Format 1 cached ENVELOPE/BODYSTRUCTURE with 8-bit header bytes replaced by U+FFFD; a format 1
index is read as it stands, those rows alone are summarised again from their files, and a
format 2 snapshot replaces it (UIDs, flags and MODSEQs kept).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from maild.store.mime import summarize

SNAPSHOT = "tegami-index"
JOURNAL = "tegami-index.log"
FORMAT_VERSION = 2
MANGLED_VERSION = 1  # summaries may hold U+FFFD for 8-bit header bytes: repaired on load


@dataclass(slots=True)
class Message:
    """One message as the index knows it. `flags` holds system flags and keywords."""

    uid: int
    subdir: str  # "new" or "cur"
    name: str  # current file name inside subdir
    size: int
    internal_date: float
    modseq: int
    flags: frozenset[str]
    envelope: str  # cached IMAP ENVELOPE, computed once when stored
    bodystructure: str  # cached IMAP BODYSTRUCTURE

    def row(self) -> list[object]:
        return [self.uid, self.subdir, self.name, self.size, self.internal_date, self.modseq,
                sorted(self.flags), self.envelope, self.bodystructure]

    @classmethod
    def from_row(cls, row: list[object]) -> Message:
        uid, subdir, name, size, date, modseq, flags, envelope, bodystructure = row
        if not (isinstance(uid, int) and isinstance(name, str) and subdir in ("new", "cur")
                and isinstance(envelope, str) and isinstance(bodystructure, str)):
            raise ValueError("bad index row")
        return cls(uid, subdir, name, int(size), float(date), int(modseq),  # type: ignore[arg-type]
                   frozenset(flags), envelope, bodystructure)  # type: ignore[arg-type]


@dataclass
class IndexState:
    uidnext: int
    highestmodseq: int
    messages: dict[int, Message]


class IndexFile:
    """Reads and writes one folder's snapshot and journal."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._journal_lines = 0

    def load(self) -> IndexState | None:
        """The stored state, or None if there is none or it is unreadable (then rebuild)."""
        try:
            with open(self.folder / SNAPSHOT, encoding="utf-8") as handle:
                snapshot = json.load(handle)
            version = snapshot.get("v")
            if version not in (MANGLED_VERSION, FORMAT_VERSION):
                return None
            state = IndexState(int(snapshot["uidnext"]), int(snapshot["modseq"]), {})
            for row in snapshot["messages"]:
                message = Message.from_row(row)
                state.messages[message.uid] = message
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self._replay(state)
        if version == MANGLED_VERSION:
            self._resummarize_mangled(state)
            self.write_snapshot(state)
        return state

    def _resummarize_mangled(self, state: IndexState) -> None:
        """Summarise again the rows format 1 may have mangled, so that no client is served a
        U+FFFD envelope for good. A row whose file is not where it says is dropped: the
        reconciliation that follows every load adopts the file again, with the UID in its name."""
        for uid, message in list(state.messages.items()):
            if "\ufffd" not in message.envelope and "\ufffd" not in message.bodystructure:
                continue
            try:
                data = (self.folder / message.subdir / message.name).read_bytes()
            except FileNotFoundError:
                del state.messages[uid]
                continue
            message.envelope, message.bodystructure = summarize(data)

    def _replay(self, state: IndexState) -> None:
        """Apply journal lines; a torn last line (crash mid-write) is ignored."""
        try:
            handle = open(self.folder / JOURNAL, encoding="utf-8")
        except FileNotFoundError:
            return
        with handle:
            for line in handle:
                try:
                    op, row = json.loads(line)
                    self._apply(state, op, row)
                except (ValueError, TypeError, KeyError):
                    break
                self._journal_lines += 1

    @staticmethod
    def _apply(state: IndexState, op: str, row: list[object]) -> None:
        if op == "add":
            message = Message.from_row(row)
            state.messages[message.uid] = message
            state.uidnext = max(state.uidnext, message.uid + 1)
            state.highestmodseq = max(state.highestmodseq, message.modseq)
        elif op == "flags":
            uid, subdir, name, modseq, flags = row
            message = state.messages[uid]  # type: ignore[index]
            message.subdir, message.name = subdir, name  # type: ignore[assignment]
            message.modseq, message.flags = int(modseq), frozenset(flags)  # type: ignore[arg-type]
            state.highestmodseq = max(state.highestmodseq, message.modseq)
        elif op == "expunge":
            uid, modseq = row
            state.messages.pop(uid, None)  # type: ignore[arg-type]
            state.highestmodseq = max(state.highestmodseq, int(modseq))  # type: ignore[arg-type]
        else:
            raise ValueError(op)

    def record_add(self, messages: Iterable[Message]) -> None:
        self._append([["add", message.row()] for message in messages])

    def record_flags(self, messages: Iterable[Message]) -> None:
        self._append([["flags", [m.uid, m.subdir, m.name, m.modseq, sorted(m.flags)]] for m in messages])

    def record_expunge(self, uids: Iterable[int], modseq: int) -> None:
        self._append([["expunge", [uid, modseq]] for uid in uids])

    def _append(self, entries: list[list[object]]) -> None:
        if not entries:
            return
        text = "".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in entries)
        with open(self.folder / JOURNAL, "a", encoding="utf-8") as handle:
            handle.write(text)
        self._journal_lines += len(entries)

    def needs_compaction(self, message_count: int) -> bool:
        return self._journal_lines > max(512, message_count)

    def write_snapshot(self, state: IndexState) -> None:
        """Replace the snapshot atomically and start an empty journal."""
        tmp = self.folder / f"{SNAPSHOT}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"v": FORMAT_VERSION, "uidnext": state.uidnext, "modseq": state.highestmodseq,
                       "messages": [m.row() for m in state.messages.values()]}, handle,
                      separators=(",", ":"))
        os.replace(tmp, self.folder / SNAPSHOT)
        (self.folder / JOURNAL).unlink(missing_ok=True)
        self._journal_lines = 0
