"""Periodic cleanup per domain policy: old Trash and Junk expunged, old INBOX mail archived.

`Domain.trash_days` (0 = never) expunges messages in Trash and Junk whose internal date is older
than that many days; `Domain.archive_days` (0 = never) moves older INBOX messages to Archive.
What was freed goes to the store's ledger and so into the next usage report. Run daily by the
daemon and on demand by `maild cleanup`. The daily run also purges the mail of deleted mailboxes
that the store set aside when their address was reused (`maild.store.ownership`), once it has
been kept DELETED_KEEP_DAYS for an operator to recover a mistaken deletion.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from pathlib import Path

from maild.config import Config, Mailbox
from maild.ledger import Freed
from maild.runtime import ConfigSource
from maild.store import Folder, FolderNotFound, Store, names, ownership

log = logging.getLogger(__name__)

DAY = 86400
EXPIRING_FOLDERS = ("Trash", "Junk")
ARCHIVE_FOLDER = "Archive"
DELETED_KEEP_DAYS = 30


def _older(folder: Folder, cutoff: float) -> list[int]:
    return [uid for uid in folder.uids if (m := folder.message(uid)) is not None and m.internal_date < cutoff]


async def _existing(store: Store, mailbox: Mailbox, name: str) -> Folder | None:
    try:
        return await store.folder(mailbox, name)
    except FolderNotFound:
        return None


async def expire(store: Store, mailbox: Mailbox, days: int, now: float) -> Freed:
    """Expunge Trash and Junk messages older than `days`; what that freed."""
    messages = size = 0
    for name in EXPIRING_FOLDERS:
        folder = await _existing(store, mailbox, name)
        if folder is None:
            continue
        old = _older(folder, now - days * DAY)
        sizes = {uid: message.size for uid in old if (message := folder.message(uid)) is not None}
        removed = await folder.expunge(old)
        messages += len(removed)
        size += sum(sizes.get(uid, 0) for uid in removed)
    return Freed(messages, size)


async def archive(store: Store, mailbox: Mailbox, days: int, now: float) -> int:
    """Move INBOX messages older than `days` to Archive (created if missing); how many moved."""
    inbox = await store.folder(mailbox, names.INBOX)
    old = _older(inbox, now - days * DAY)
    if not old:
        return 0
    target = await store.folder(mailbox, ARCHIVE_FOLDER, create=True)
    moved = []
    for uid in old:
        message = inbox.message(uid)
        if message is None:
            continue
        await target.append(await inbox.read(uid), message.flags, message.internal_date)
        moved.append(uid)
    await inbox.expunge(moved)
    return len(moved)


async def clean(store: Store, config: Config, mailboxes: Iterable[Mailbox] | None = None,
                now: float | None = None) -> dict[str, Freed]:
    """Apply each mailbox's domain policy; what was freed, by address (mailboxes touched only)."""
    now = time.time() if now is None else now
    results: dict[str, Freed] = {}
    for mailbox in config.mailboxes.values() if mailboxes is None else mailboxes:
        domain = config.domains.get(mailbox.domain)
        if domain is None or not (domain.trash_days or domain.archive_days):
            continue
        freed = await expire(store, mailbox, domain.trash_days, now) if domain.trash_days else Freed(0, 0)
        moved = await archive(store, mailbox, domain.archive_days, now) if domain.archive_days else 0
        if freed.messages or moved:
            store.ledger.cleaned(mailbox, freed)
            results[mailbox.address] = freed
            log.info("cleanup %s: %d messages (%d bytes) expunged, %d archived",
                     mailbox.address, freed.messages, freed.bytes, moved)
    return results


async def purge_deleted(store: Store, now: float | None = None) -> list[Path]:
    """Remove the mail of reused addresses' previous mailboxes set aside over DELETED_KEEP_DAYS ago."""
    now = time.time() if now is None else now
    removed = await asyncio.to_thread(ownership.purge, store.root, now - DELETED_KEEP_DAYS * DAY)
    for path in removed:
        log.info("cleanup: removed %s, set aside over %d days ago", path, DELETED_KEEP_DAYS)
    return removed


async def run_daily(configs: ConfigSource, store: Store) -> None:
    """The daemon's background service: one cleanup pass a day, the first an hour after start."""
    await asyncio.sleep(3600)
    while True:
        await clean(store, configs.current)
        try:
            await purge_deleted(store)
        except OSError:  # a crash would restart the service and so run `clean` hourly
            log.exception("cleanup: could not purge %s", store.root / ownership.DELETED_DIR)
        await asyncio.sleep(DAY)
