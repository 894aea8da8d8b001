"""Maildir file names and durable writes, in Dovecot's conventions so a file copy migrates mail.

A message file is named `<secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>,U=<uid>:2,<flags>`. `S=` is
the exact byte size (mail is stored with CRLF as received); `U=` carries the IMAP UID so that the
folder index can be rebuilt from the files with the same UIDs. Dovecot ignores fields it does not
know. Flags are the standard letters followed by keyword letters `a`..`z`, whose names live in
the folder's `dovecot-keywords` file.
"""
from __future__ import annotations

import itertools
import os
import socket
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SYSTEM_FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}
LETTER_SYSTEM_FLAGS = {letter: flag for flag, letter in SYSTEM_FLAG_LETTERS.items()}
MAX_KEYWORD_LETTERS = 26

_counter = itertools.count(1)


@cache
def _safe_hostname() -> str:
    """This host's name as Maildir file names carry it (read once, as Dovecot does)."""
    return socket.gethostname().replace("/", "\\057").replace(":", "\\072").replace(",", "\\054")


@dataclass(frozen=True)
class FileName:
    """The parts of a message file name that the store reads back."""

    base: str  # everything before ":2,"; stable while flags change
    size: int | None
    uid: int | None
    letters: str  # flag letters after ":2,"


def new_base(uid: int | None, size: int) -> str:
    """A unique base name for a new message file carrying its size and UID (if it has one yet)."""
    now = time.time()
    secs = int(now)
    usecs = int((now - secs) * 1_000_000)
    uid_field = "" if uid is None else f",U={uid}"
    return f"{secs}.M{usecs:06d}P{os.getpid()}Q{next(_counter)}.{_safe_hostname()},S={size}{uid_field}"


def parse_name(name: str) -> FileName:
    """Split a Maildir file name into base, size, UID and flag letters (missing parts are None)."""
    base, sep, info = name.partition(":2,")
    letters = info if sep else ""
    size = uid = None
    for part in base.split(",")[1:]:
        key, _, value = part.partition("=")
        if value.isdigit():
            if key == "S":
                size = int(value)
            elif key == "U":
                uid = int(value)
    return FileName(base, size, uid, letters)


def file_name(base: str, letters: str) -> str:
    """The file name for `base` with the given flag letters (Maildir wants them sorted)."""
    return f"{base}:2,{''.join(sorted(set(letters)))}"


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class StagedFile:
    """A message written into tmp/ but not yet fsynced or renamed into place.

    Staging apart from finishing lets a batch of deliveries share the work that makes them
    durable (`commit.Committer`: one directory fsync after all their renames). A crash before
    `publish` leaves only a file in tmp/, which readers never look at.
    """

    fd: int
    tmp_path: Path
    final_path: Path
    size: int

    def sync(self) -> None:
        """Make the file's content durable and close it."""
        fd, self.fd = self.fd, -1
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def publish(self) -> None:
        """Rename the file into place; durable once its directory is fsynced."""
        os.rename(self.tmp_path, self.final_path)

    def discard(self) -> None:
        """Drop a file that could not be finished (closing it if still open)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.tmp_path.unlink(missing_ok=True)


def stage_file(folder: Path, subdir: str, name: str, data: bytes, mtime: float | None = None) -> StagedFile:
    """Write `data` to tmp/ (not yet durable) for a later rename into `subdir`. `mtime` is the
    IMAP internal date."""
    tmp_path = folder / "tmp" / name
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    staged = StagedFile(fd, tmp_path, folder / subdir / name, len(data))
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if mtime is not None:
            os.utime(fd, (mtime, mtime))
    except BaseException:
        staged.discard()
        raise
    return staged


def write_durably(folder: Path, subdir: str, name: str, data: bytes, mtime: float | None = None) -> None:
    """Write `data` into `subdir` so that it survives power loss on return."""
    staged = stage_file(folder, subdir, name, data, mtime)
    try:
        staged.sync()
        staged.publish()
    except BaseException:
        staged.discard()
        raise
    fsync_dir(folder / subdir)


def make_maildir(path: Path) -> None:
    """Create a Maildir (cur, new, tmp) and its missing parents; every directory that gains an
    entry is fsynced, so the first message of a new mailbox cannot vanish with its directory."""
    grown: set[Path] = set()
    for sub in ("cur", "new", "tmp"):
        missing: list[Path] = []
        directory = path / sub
        while not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for directory in reversed(missing):
            directory.mkdir(mode=0o700, exist_ok=True)
            grown.add(directory.parent)
    for directory in grown:
        fsync_dir(directory)


def clean_tmp(folder: Path, older_than: float = 36 * 3600) -> None:
    """Remove leftovers of interrupted writes (Dovecot uses the same 36 hour rule)."""
    limit = time.time() - older_than
    with os.scandir(folder / "tmp") as entries:
        for entry in entries:
            if entry.is_file() and entry.stat().st_mtime < limit:
                os.unlink(entry.path)
