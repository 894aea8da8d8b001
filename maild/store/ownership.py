"""Which mailbox a Maildir belongs to, so that an address deleted and created again starts empty.

Maildirs are found by address, but the panel gives a re-created address a new mailbox id. maild
may be down, or serving another node, when the panel deletes a mailbox, so it cannot count on
seeing deletions: instead each Maildir records its mailbox id in `tegami-mailbox-id`. A mailbox
that finds another id there moves the old `<domain>/<local>` directory to
`.deleted/<domain>/<local>.<old id>.<unix time>` (kept a while so a mistaken deletion can be
undone, then purged by `maild.cleanup`) and starts afresh. A Maildir made before ids were
recorded is adopted by the first mailbox that uses it.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import NamedTuple

from maild.config import Mailbox
from maild.store import maildir

log = logging.getLogger(__name__)

OWNER_FILE = "tegami-mailbox-id"
DELETED_DIR = ".deleted"  # in the mail root, beside the domains; no domain starts with "."


class Owner(NamedTuple):
    """Which mailbox a Maildir is: its id and creation time (microseconds; 0 when unknown)."""

    id: int
    created: int = 0

    @classmethod
    def of(cls, mailbox: Mailbox) -> Owner:
        return cls(mailbox.id, mailbox.created)

    def newer_than(self, other: Owner) -> bool:
        """Whether this mailbox came after `other` at the same address. The creation time decides
        when both are known (SQLite can give a re-created mailbox the deleted one's id), else the
        id (ids only grow otherwise)."""
        if self.created and other.created and self.created != other.created:
            return self.created > other.created
        return self.id > other.id

    def same_as(self, other: Owner) -> bool:
        return not self.newer_than(other) and not other.newer_than(self)


def owner(path: Path) -> Owner | None:
    """The mailbox recorded in the Maildir `path` (`<id> <created>`, or `<id>` as first written);
    None if none is, or there is no Maildir.

    An unreadable record counts as none (the mailbox using the address adopts the Maildir and
    writes it anew) rather than failing every delivery to the address."""
    try:
        fields = path.joinpath(OWNER_FILE).read_text(encoding="ascii").split()
        return Owner(*(int(field) for field in fields))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, UnicodeDecodeError):
        log.warning("%s: unreadable %s, taken as no owner recorded", path, OWNER_FILE)
        return None


def record(path: Path, mailbox: Owner) -> None:
    """Make the Maildir `path` if missing and durably mark it as `mailbox`'s."""
    maildir.make_maildir(path)
    # Written in the Maildir's tmp/, fsynced and renamed into the Maildir itself.
    maildir.write_durably(path, ".", OWNER_FILE, f"{mailbox.id} {mailbox.created}\n".encode("ascii"))


def set_aside(root: Path, home: Path, previous_owner: int, now: float) -> Path:
    """Move `home` (`<root>/<domain>/<local>`) under `<root>/.deleted/` in one rename, durably;
    where it went."""
    target = root / DELETED_DIR / home.parent.name / f"{home.name}.{previous_owner}.{int(now)}"
    grown = {directory.parent for directory in (target.parent.parent, target.parent) if not directory.is_dir()}
    for directory in (target.parent.parent, target.parent):  # each 0700, like the domains beside them
        directory.mkdir(exist_ok=True, mode=0o700)
    home.rename(target)
    for directory in grown | {home.parent, target.parent}:
        maildir.fsync_dir(directory)
    return target


def purge(root: Path, cutoff: float) -> list[Path]:
    """Remove what was set aside before `cutoff` (unix time), and domain directories left empty;
    what was removed. Entries not named by `set_aside` are left alone."""
    deleted = root / DELETED_DIR
    if not deleted.is_dir():
        return []
    removed = []
    for domain in sorted(path for path in deleted.iterdir() if path.is_dir() and not path.is_symlink()):
        for entry in sorted(domain.iterdir()):
            stamp = entry.name.rpartition(".")[2]
            if entry.is_dir() and not entry.is_symlink() and stamp.isdigit() and int(stamp) < cutoff:
                shutil.rmtree(entry)
                removed.append(entry)
        if not any(domain.iterdir()):
            domain.rmdir()
    return removed
