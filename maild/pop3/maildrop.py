"""A POP3 maildrop: INBOX as it stood at login, numbered 1..n, with deletions pending until QUIT.

RFC 1939 numbers messages for the whole session, so the list is a snapshot taken when the
session enters TRANSACTION; mail delivered later waits for the next session. DELE only marks;
`commit` (QUIT in the UPDATE state) expunges the marked messages through the store. Messages
retrieved in full (RETR, not TOP) are marked \\Seen at commit, as Dovecot does, so an IMAP client
of the same mailbox sees them as read; RSET forgets those marks with the deletions, as Dovecot's
does. A dropped connection applies nothing, neither deletions nor \\Seen: RFC 1939 changes the
maildrop only in the UPDATE state. (Dovecot, unlike us, still sets \\Seen for a client that hangs
up without QUIT.) UIDLs come from UIDVALIDITY and UID, which never change while a message exists,
whatever flags IMAP sets on it.

One POP3 session at a time per maildrop (RFC 1939 section 8): a `Maildrop` holds its INBOX from
login to the end of the session, and a second login meanwhile gets `-ERR [IN-USE]`. The store
shares one open `Folder` per mailbox among all sessions and never evicts a watched one, so the
folder object itself is the lock.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

from maild.store import Folder

SEEN = "\\Seen"
SMALL_MESSAGE = 128 * 1024  # read on the event loop up to this size, in a worker thread above

_in_session: weakref.WeakSet[Folder] = weakref.WeakSet()


class InUse(Exception):
    """Another POP3 session holds this maildrop."""


class NoSuchMessage(LookupError):
    """The message number is out of range, or the message is marked deleted."""


@dataclass(frozen=True, slots=True)
class Entry:
    uid: int
    size: int


def _read_small(folder: Folder, uid: int) -> bytes | None:
    """A small message read right here on the loop, or None to go through `Folder.read`.

    A page-cache read of a few kilobytes costs less than the hop to a worker thread, which
    halves POP3's CPU per message when a client downloads a whole maildrop; only large reads
    go to a thread. The store has no such call yet, so this reads the file it names.
    """
    message = folder.message(uid)
    if message is None or message.size > SMALL_MESSAGE:
        return None
    try:
        return (folder.path / message.subdir / message.name).read_bytes()
    except FileNotFoundError:
        return None  # renamed by a flag change or removed meanwhile: Folder.read sorts it out


class Maildrop:
    """The numbered messages of one session, over the shared INBOX folder."""

    def __init__(self, folder: Folder) -> None:
        if folder in _in_session:
            raise InUse()
        _in_session.add(folder)
        self._folder = folder
        # Watching pins this folder in the store's cache; POP3 ignores the changes themselves.
        self._watcher = folder.watch(self._skip_changes)
        self.entries = [Entry(uid, message.size) for uid in folder.uids if (message := folder.message(uid))]
        self.deleted: set[int] = set()
        self._retrieved: set[int] = set()

    def entry(self, number: int) -> Entry:
        """Message `number` (1-based) unless it is out of range or marked deleted."""
        if not 1 <= number <= len(self.entries) or number in self.deleted:
            raise NoSuchMessage(number)
        return self.entries[number - 1]

    def listing(self) -> list[tuple[int, Entry]]:
        """(number, entry) for every message not marked deleted."""
        return [(n, e) for n, e in enumerate(self.entries, 1) if n not in self.deleted]

    def stat(self) -> tuple[int, int]:
        """Message count and total octets, deleted messages excluded."""
        listing = self.listing()
        return len(listing), sum(entry.size for _, entry in listing)

    def uidl(self, entry: Entry) -> str:
        """Dovecot's default `%08Xu%08Xv`, so a mailbox moved from Dovecot is not fetched again."""
        return f"{entry.uid:08X}{self._folder.uidvalidity:08X}"

    async def read(self, number: int, full: bool = True) -> bytes:
        """The message bytes as stored; MessageGone if another session expunged it meanwhile."""
        entry = self.entry(number)
        data = _read_small(self._folder, entry.uid)
        if data is None:
            data = await self._folder.read(entry.uid)
        if full:
            self._retrieved.add(entry.uid)
        return data

    def delete(self, number: int) -> None:
        self.entry(number)
        self.deleted.add(number)

    def reset(self) -> None:
        """RSET: undo the session so far, deletions and the \\Seen marks of RETR alike."""
        self.deleted.clear()
        self._retrieved.clear()

    async def commit(self) -> None:
        """Apply the session: mark retrieved messages \\Seen, then expunge those marked deleted."""
        doomed = {self.entries[number - 1].uid for number in self.deleted}
        seen = self._retrieved - doomed
        if seen:
            await self._folder.store_flags(sorted(seen), "+", (SEEN,), origin=self)
        if doomed:
            await self._folder.expunge(doomed, origin=self)

    def _skip_changes(self) -> None:
        """Mid-session changes are not reported (the snapshot stands); let the change log shrink."""
        self._watcher.advance(self._folder.change_end - self._watcher.position)

    def close(self) -> None:
        self._watcher.close()
        _in_session.discard(self._folder)
