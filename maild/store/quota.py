"""Per-mailbox quota usage, kept incrementally in Dovecot's `maildirsize` format.

The first line holds the limit (`<bytes>S,<count>C`), every other line a delta `<bytes> <count>`.
Appending one line per change keeps each delivery O(1); the file is rewritten from a full scan
when it grows past 5120 bytes, is unreadable, or on `recalc()` (Maildir++ quota rules).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from maild.config import Mailbox
from maild.store import maildir

FILE_NAME = "maildirsize"
MAX_FILE_BYTES = 5120


@dataclass(frozen=True)
class Usage:
    """Storage used by one mailbox across all its folders."""

    bytes: int
    messages: int


def _scan(root: Path) -> Usage:
    """Sum the sizes of every message in the Maildir and its folders (the slow, exact way)."""
    total = count = 0
    folders = [root] + [root / entry for entry in os.listdir(root) if entry.startswith(".") and entry not in (".", "..")]
    for folder in folders:
        for sub in ("cur", "new"):
            try:
                entries = os.scandir(folder / sub)
            except FileNotFoundError:
                continue
            with entries:
                for entry in entries:
                    size = maildir.parse_name(entry.name).size
                    if size is None:
                        try:
                            size = entry.stat().st_size
                        except FileNotFoundError:
                            continue
                    total += size
                    count += 1
    return Usage(total, count)


def over_quota(usage_bytes: int, mailbox: Mailbox, incoming: int) -> bool:
    """Whether `incoming` more bytes would not fit; a quota of 0 means unlimited."""
    return mailbox.quota_bytes > 0 and usage_bytes + incoming > mailbox.quota_bytes


class QuotaCounter:
    """The running usage of one Maildir; updated from worker threads, so it holds a lock."""

    def __init__(self, root: Path) -> None:
        self._path = root / FILE_NAME
        self.root = root
        self._lock = threading.Lock()
        self._usage = self._read() or self._rewrite()
        self.observer: Callable[[int, int], None] | None = None  # told every (bytes, messages) delta

    @property
    def usage(self) -> Usage:
        return self._usage

    def add(self, size: int, count: int) -> None:
        """Record a change (negative for removals) by appending one line."""
        with self._lock:
            self._usage = Usage(self._usage.bytes + size, self._usage.messages + count)
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, f"{size} {count}\n".encode("ascii"))
                too_big = os.lseek(fd, 0, os.SEEK_CUR) > MAX_FILE_BYTES
            finally:
                os.close(fd)
        if self.observer is not None:
            self.observer(size, count)
        if too_big:
            self.recalc()

    def recalc(self) -> Usage:
        """Recount from the files (`maild quota recalc`)."""
        with self._lock:
            before = self._usage
            self._usage = self._rewrite()
        if self.observer is not None:
            self.observer(self._usage.bytes - before.bytes, self._usage.messages - before.messages)
        return self._usage

    def _read(self) -> Usage | None:
        try:
            lines = self._path.read_text(encoding="ascii").splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        total = count = 0
        for line in lines[1:]:
            fields = line.split()
            if len(fields) != 2:
                return None
            try:
                total += int(fields[0])
                count += int(fields[1])
            except ValueError:
                return None
        if not lines or total < 0 or count < 0:
            return None
        return Usage(total, count)

    def _rewrite(self) -> Usage:
        usage = _scan(self.root)
        tmp = self._path.with_name(f"{FILE_NAME}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(f"0S,0C\n{usage.bytes} {usage.messages}\n", encoding="ascii")
        os.replace(tmp, self._path)
        return usage
