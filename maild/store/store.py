"""The mail store shared by SMTP delivery, IMAP and POP3: Maildirs in Dovecot's layout.

`<root>/<domain>/<local>/Maildir` is INBOX; other folders are `.Name` directories inside it.
Open folders are cached per process and shared by every session, so changes are seen at once;
folders nobody watches are evicted beyond `cache_size` folders or `cache_messages` messages.
Every way in goes through `Store.maildir`, which checks once per process that the Maildir is the
mailbox's own (`maild.store.ownership`): a reused address does not see its predecessor's mail.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
import weakref
from collections import OrderedDict
from functools import lru_cache, partial
from pathlib import Path

from maild.config import Config, Mailbox
from maild.ledger import UsageLedger
from maild.store import maildir, names, ownership
from maild.store.commit import Committer
from maild.store.folder import Folder
from maild.store.quota import QuotaCounter, Usage

SPECIAL_USE = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash", "Junk": "\\Junk", "Archive": "\\Archive"}
SUBSCRIPTIONS_FILE = "subscriptions"
log = logging.getLogger(__name__)


def _stage_unindexed(path: Path, data: bytes) -> tuple[None, maildir.StagedFile]:
    """Stage a message for new/ without a UID (committer thread); the next load of the folder
    adopts it."""
    name = maildir.new_base(None, len(data))
    try:
        return None, maildir.stage_file(path, "new", name, data)
    except FileNotFoundError:  # the folder's first message: no Maildir yet
        maildir.make_maildir(path)
        return None, maildir.stage_file(path, "new", name, data)


@lru_cache(maxsize=4096)
def _maildir_path(root: Path, domain: str, local_part: str) -> Path:
    """Built once per recent mailbox: SMTP asks for it several times per message."""
    if domain.startswith("."):  # the store's own directories, such as ownership.DELETED_DIR
        raise ValueError(f"unsafe domain {domain!r}")
    return root / _path_component(domain) / _path_component(local_part) / "Maildir"


class FolderNotFound(LookupError):
    """No folder by that name."""


class FolderExists(Exception):
    """A folder by that name already exists."""


class MailboxGone(LookupError):
    """The mailbox's Maildir was set aside for a newer mailbox of the same address (a session
    that started before the reload deleting it)."""


def _path_component(value: str) -> str:
    if not value or value in (".", "..") or "/" in value or "\x00" in value:
        raise ValueError(f"unsafe path component {value!r}")
    return value


class Store:
    """Maildir storage for all mailboxes under `root`."""

    def __init__(self, root: Path, cache_size: int = 256, cache_messages: int = 200_000, *, claims: bool = True) -> None:
        """`claims`: this store decides whom a Maildir belongs to (the daemon's). Commands that run
        beside the daemon pass False: with a bundle older than the daemon's they could otherwise
        set a live mailbox's mail aside; they use Maildirs as they find them."""
        self.root = Path(root)
        self.claims = claims
        self.cache_size = cache_size
        self.cache_messages = cache_messages
        self._folders: OrderedDict[tuple[Path, str], Folder] = OrderedDict()
        self._opening: dict[tuple[Path, str], asyncio.Task[Folder]] = {}
        # An evicted folder still in use (a COPY in progress, say) must be found again rather
        # than opened twice: two objects for one folder would hand out the same UIDs.
        self._alive: weakref.WeakValueDictionary[tuple[Path, str], Folder] = weakref.WeakValueDictionary()
        self._quotas: dict[Path, QuotaCounter] = {}
        self._unindexed_writes: dict[tuple[Path, str], int] = {}
        self._writes_done: dict[tuple[Path, str], asyncio.Event] = {}
        self._committer = Committer()  # deliveries share thread hand-offs and directory fsyncs
        self.ledger = UsageLedger()  # per-customer pools and the usage journal (maild.usage)
        self._pools_primed: Config | None = None
        self._owners: dict[Path, ownership.Owner] = {}  # Maildir -> the mailbox found or recorded there
        self._gone: set[ownership.Owner] = set()  # mailboxes whose Maildir was set aside for a newer one

    def maildir(self, mailbox: Mailbox, create: bool = False) -> Path:
        """INBOX of `mailbox`: `<root>/<domain>/<local>/Maildir`, made if `create`.

        The first call for a Maildir in this process checks whom it belongs to; later ones cost
        a dict lookup (SMTP asks several times per message). Like opening the quota counter, the
        check's few file operations run once, on the event loop and without an await, so
        concurrent deliveries cannot both set the old mail aside.
        """
        path = _maildir_path(self.root, mailbox.domain.lower(), mailbox.local_part.lower())
        if self.claims and self._owners.get(path) != ownership.Owner.of(mailbox):
            self._claim(ownership.Owner.of(mailbox), path, create)
        elif create and not self.claims:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def _claim(self, mailbox: ownership.Owner, path: Path, create: bool) -> None:
        """Make `path` the Maildir of `mailbox`: set aside one recorded for an older mailbox at
        the address, adopt one with no owner (or only an id) recorded, make a missing one if
        `create`. A newer mailbox recorded means this bundle is stale: MailboxGone."""
        if mailbox in self._gone:
            raise MailboxGone(mailbox.id)
        recorded = ownership.owner(path)
        if recorded is not None and recorded.newer_than(mailbox):
            raise MailboxGone(mailbox.id)
        if recorded is not None and not recorded.same_as(mailbox):
            self._set_aside(path, recorded)
            recorded = None
        if recorded != mailbox:
            if recorded is None and not create and not path.is_dir():
                return  # nothing stored yet: whoever makes the Maildir records its owner
            ownership.record(path, mailbox)  # new, adopted, or completed with its creation time
        self._owners[path] = mailbox

    def _set_aside(self, path: Path, previous_owner: ownership.Owner) -> None:
        """Move the previous owner's mail to `.deleted/` and forget everything cached for it."""
        moved = ownership.set_aside(self.root, path.parent, previous_owner.id, time.time())
        log.warning("%s belonged to mailbox %d, not to the one using it now: moved to %s",
                    path.parent, previous_owner.id, moved)
        self._gone.add(previous_owner)
        self._owners.pop(path, None)
        counter = self._quotas.pop(path, None)
        if counter is not None and counter.observer is not None:  # no longer in its customer's pool
            counter.observer(-counter.usage.bytes, -counter.usage.messages)
        for cache in (self._folders, self._alive, self._opening):
            for key in [key for key in cache if path in (key[0], key[0].parent)]:
                del cache[key]

    def _folder_path(self, mailbox: Mailbox, name: str) -> Path:
        base = self.maildir(mailbox)
        return base if name == names.INBOX else base / names.directory_name(name)

    # ---- delivery and quota (used by SMTP and the queue) --------------------------------

    async def deliver(self, mailbox: Mailbox, data: bytes, folder: str = names.INBOX) -> None:
        """Store `data` durably in `folder` (created if missing) before returning.

        Updates the quota usage. If the folder is open (a session has it, or it is cached) the
        message is indexed at once and IDLE sessions are woken; otherwise it is only written to
        `new/`, as Dovecot's LDA does, and indexed when the folder is next opened, so delivery
        to a large folder nobody reads never loads its index. Does not check the quota: SMTP
        refuses over-quota mail at RCPT time (`usage()` is cheap).
        """
        name = names.normalize(folder)
        path = self._folder_path(mailbox, name)
        key = (path, name)
        if key in self._folders or key in self._alive or key in self._opening:
            target = await self.folder(mailbox, name, create=True)
            await target.append(data)
            return
        quota = self._quota(mailbox)
        self._unindexed_writes[key] = self._unindexed_writes.get(key, 0) + 1
        try:
            await self._committer.commit(partial(_stage_unindexed, path, data), quota=quota)
        finally:
            self._unindexed_writes[key] -= 1
            if not self._unindexed_writes[key]:
                del self._unindexed_writes[key]
                done = self._writes_done.pop(key, None)
                if done is not None:
                    done.set()

    def usage(self, mailbox: Mailbox) -> Usage:
        """Bytes and messages stored for `mailbox`, from the incremental counter."""
        return self._quota(mailbox).usage

    async def recalc(self, mailbox: Mailbox) -> Usage:
        """Recount usage from the files (`maild quota recalc`)."""
        return await asyncio.to_thread(self._quota(mailbox).recalc)

    def _quota(self, mailbox: Mailbox) -> QuotaCounter:
        root = self.maildir(mailbox, create=True)
        counter = self._quotas.get(root)
        if counter is None:
            counter = self._quotas[root] = QuotaCounter(root)
            counter.observer = self.ledger.opened(mailbox, counter.usage.bytes)
        return counter

    def pool_full(self, config: Config, mailbox: Mailbox, incoming: int) -> bool:
        """Whether `incoming` more bytes would overflow the storage pool of the mailbox's customer.

        The pool is the real usage of all the customer's mailboxes, kept by `self.ledger` from
        the quota counters; the first check after a reload opens counters not yet counted.
        """
        if mailbox.pool_bytes <= 0:
            return False
        if self._pools_primed is not config:
            for box in config.mailboxes.values():
                if box.pool_bytes > 0 and not self.ledger.counted(box):
                    if self.maildir(box).is_dir():
                        self._quota(box)
                    else:  # never used: counts 0 without creating its Maildir
                        self.ledger.opened(box, 0)
            self._pools_primed = config
        return self.ledger.pool_used(mailbox.customer_id) + incoming > mailbox.pool_bytes

    # ---- folders -------------------------------------------------------------------------

    async def folder(self, mailbox: Mailbox, name: str, create: bool = False) -> Folder:
        """The shared open folder `name` (FolderNotFound unless it exists or `create`)."""
        name = names.normalize(name)
        path = self._folder_path(mailbox, name)
        key = (path, name)
        cached = self._folders.get(key) or self._alive.get(key)
        if cached is not None:
            self._folders[key] = cached
            self._folders.move_to_end(key)
            return cached
        if name != names.INBOX and not create and not await asyncio.to_thread(path.is_dir):
            raise FolderNotFound(name)
        task = self._opening.get(key)
        if task is None:
            task = self._opening[key] = asyncio.ensure_future(self._open(key, self._quota(mailbox)))
            task.add_done_callback(partial(self._opened, key))
        folder = await asyncio.shield(task)
        self.maildir(mailbox)  # MailboxGone if its Maildir was set aside while this one loaded
        if key not in self._folders:
            self._evict()
            self._folders[key] = self._alive[key] = folder
        return self._folders[key]

    def _opened(self, key: tuple[Path, str], task: asyncio.Task[Folder]) -> None:
        if self._opening.get(key) is task:  # not a newer opening after `_set_aside` dropped this one
            del self._opening[key]

    async def _open(self, key: tuple[Path, str], quota: QuotaCounter) -> Folder:
        """Load a folder once the unindexed deliveries under way have landed (they are adopted
        by the load; later ones see the folder opening and go through it)."""
        while key in self._unindexed_writes:
            await self._writes_done.setdefault(key, asyncio.Event()).wait()
        path, name = key
        return await asyncio.to_thread(Folder.open, name, path, quota, self._committer)

    def _evict(self) -> None:
        """Drop least recently used folders nobody is using, past `cache_size` folders or
        `cache_messages` indexed messages in all (an index costs about 1 KB per message)."""
        cached = sum(len(folder) for folder in self._folders.values())
        for key, folder in list(self._folders.items()):
            if len(self._folders) <= self.cache_size and cached <= self.cache_messages:
                break
            if not folder.watched and not folder.lock.locked() and not folder.busy:
                del self._folders[key]
                cached -= len(folder)

    async def list_folders(self, mailbox: Mailbox) -> list[str]:
        """All folder names of `mailbox`, INBOX first."""
        root = self.maildir(mailbox, create=True)

        def scan() -> list[str]:
            found = (names.folder_name(entry.name) for entry in os.scandir(root) if entry.is_dir())
            return sorted(name for name in found if name)

        return [names.INBOX] + await asyncio.to_thread(scan)

    async def create_folder(self, mailbox: Mailbox, name: str) -> None:
        name = names.normalize(name)
        path = self._folder_path(mailbox, name)
        if name == names.INBOX or await asyncio.to_thread(path.exists):
            raise FolderExists(name)
        await self.folder(mailbox, name, create=True)

    async def ensure_special_folders(self, mailbox: Mailbox) -> None:
        """Create Sent, Drafts, Trash, Junk and Archive (subscribed) if missing: first login."""
        existing = set(await self.list_folders(mailbox))
        missing = [name for name in SPECIAL_USE if name not in existing]
        for name in missing:
            await self.folder(mailbox, name, create=True)
        if missing:
            await self.set_subscribed(mailbox, missing, True)

    async def delete_folder(self, mailbox: Mailbox, name: str) -> None:
        """Remove a folder and its messages (INBOX cannot be deleted)."""
        name = names.normalize(name)
        if name == names.INBOX:
            raise FolderExists(name)
        path = self._folder_path(mailbox, name)
        folder = await self.folder(mailbox, name)
        await folder.expunge(list(folder.uids))
        async with folder.lock:
            self._folders.pop((path, name), None)
            self._alive.pop((path, name), None)
            await asyncio.to_thread(shutil.rmtree, path)

    async def rename_folder(self, mailbox: Mailbox, old: str, new: str) -> None:
        """Rename a folder and its children (INBOX's messages move to the new folder, RFC 3501)."""
        old, new = names.normalize(old), names.normalize(new)
        new_path = self._folder_path(mailbox, new)
        if new == names.INBOX or await asyncio.to_thread(new_path.exists):
            raise FolderExists(new)
        if old == names.INBOX:
            inbox = await self.folder(mailbox, names.INBOX)
            target = await self.folder(mailbox, new, create=True)
            for uid in list(inbox.uids):
                message = inbox.message(uid)
                if message is not None:
                    await target.append(await inbox.read(uid), message.flags, message.internal_date)
            await inbox.expunge(list(inbox.uids))
            return
        children = [name for name in await self.list_folders(mailbox)
                    if name == old or name.startswith(old + names.SEPARATOR)]
        if not children:
            raise FolderNotFound(old)
        for name in children:
            source = self._folder_path(mailbox, name)
            for key in [key for key in self._folders if key[0] == source]:
                if self._folders[key].watched:
                    raise FolderExists(name)  # open elsewhere: refuse rather than pull it away
                del self._folders[key]
                self._alive.pop(key, None)
            target = self._folder_path(mailbox, new + name[len(old):])
            await asyncio.to_thread(os.rename, source, target)

    # ---- subscriptions (Dovecot's `subscriptions` file, one name per line) ---------------

    async def subscriptions(self, mailbox: Mailbox) -> list[str]:
        path = self.maildir(mailbox) / SUBSCRIPTIONS_FILE

        def read() -> list[str]:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
            return [line for line in lines if line and line != "V\t2"]

        return await asyncio.to_thread(read)

    async def set_subscribed(self, mailbox: Mailbox, folder_names: list[str], subscribed: bool) -> None:
        current = await self.subscriptions(mailbox)
        wanted = [n for n in current if n not in folder_names] + (folder_names if subscribed else [])
        path = self.maildir(mailbox) / SUBSCRIPTIONS_FILE

        def write() -> None:
            tmp = path.with_name(SUBSCRIPTIONS_FILE + ".tmp")
            tmp.write_text("".join(name + "\n" for name in dict.fromkeys(wanted)), encoding="utf-8")
            os.replace(tmp, path)

        await asyncio.to_thread(write)
