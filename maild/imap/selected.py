"""A session's view of its selected folder: sequence numbers, \\Recent and pending updates.

The view lags the shared folder on purpose: another session's expunge becomes visible only when
this session may send EXPUNGE (never during FETCH, STORE or SEARCH, RFC 3501 7.4.1), so sequence
numbers the client holds stay right. Changes arrive through the folder's change log, so an
update costs O(changes), not O(folder size). A view that is up to date shares the folder's UID
snapshot instead of holding its own copy (1,000 sessions on a 10k folder would otherwise hold
80 MB of identical lists); it copies only while it lags behind an expunge.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

from maild.imap.responses import flag_list
from maild.store import Folder, Message


class SelectedFolder:
    def __init__(self, folder: Folder, readonly: bool, wake: Callable[[], None], condstore: bool = False) -> None:
        self.folder = folder
        self.readonly = readonly
        self.watcher = folder.watch(wake)
        self.uids: list[int] = folder.snapshot()  # shared: never mutated unless `_own`
        self._own = False
        floor = folder.recent_floor if readonly else folder.claim_recent(self.uids[-1] if self.uids else 0)
        self.recent: set[int] = set(self.uids[bisect.bisect_right(self.uids, floor):])
        self.unsettled: list[int] = [] if readonly else sorted(self.recent)  # to move from new/ to cur/
        self.condstore = condstore

    def close(self) -> None:
        self.watcher.close()

    async def settle(self) -> None:
        """Move the messages this session made non-recent out of new/ (see Folder.settle)."""
        if self.unsettled:
            uids, self.unsettled = self.unsettled, []
            await self.folder.settle(uids)

    def __len__(self) -> int:
        return len(self.uids)

    def uid_at(self, sequence: int) -> int:
        return self.uids[sequence - 1]

    def sequence_of(self, uid: int) -> int | None:
        position = bisect.bisect_left(self.uids, uid)
        return position + 1 if position < len(self.uids) and self.uids[position] == uid else None

    def fetch_flags_line(self, message: Message, with_uid: bool = False) -> bytes | None:
        sequence = self.sequence_of(message.uid)
        if sequence is None:
            return None
        items = [b"FLAGS " + flag_list(message.flags, message.uid in self.recent)]
        if with_uid:
            items.insert(0, b"UID %d" % message.uid)
        if self.condstore:
            items.append(b"MODSEQ (%d)" % message.modseq)
        return b"* %d FETCH (%s)\r\n" % (sequence, b" ".join(items))

    def updates(self, allow_expunge: bool, origin: object, with_uid: bool = False) -> bytes:
        """Untagged EXPUNGE/EXISTS/RECENT/FETCH for changes since the last call.

        Stops before the first expunge when `allow_expunge` is false (the expunge and all that
        follows wait for a later command).
        """
        if self.watcher.overflowed:
            return self._resync(with_uid) if allow_expunge else b""
        out = bytearray()
        changes = self.watcher.pending()
        added = 0
        flagged: dict[int, None] = {}
        processed = 0

        def announce_exists() -> None:
            nonlocal added
            if added:
                out.extend(b"* %d EXISTS\r\n* %d RECENT\r\n" % (len(self.uids), len(self.recent)))
                added = 0

        if any(change.kind == "expunge" for change in changes) and not self._own:
            self.uids, self._own = list(self.uids), True  # an expunge is applied step by step
        # Without one, the view catches up at once by taking the folder's snapshot below.
        for change in changes:
            if change.kind == "exists":
                if not self.uids or change.uid > self.uids[-1]:
                    if self._own:
                        self.uids.append(change.uid)
                    added += 1
                    if not self.readonly and self.folder.claim_recent(change.uid) < change.uid:
                        self.recent.add(change.uid)
                        self.unsettled.append(change.uid)
            elif change.kind == "expunge":
                if not allow_expunge:
                    break
                sequence = self.sequence_of(change.uid)
                if sequence is not None:
                    announce_exists()
                    del self.uids[sequence - 1]
                    self.recent.discard(change.uid)
                    flagged.pop(change.uid, None)
                    out.extend(b"* %d EXPUNGE\r\n" % sequence)
            elif change.origin is not origin:
                flagged[change.uid] = None
            processed += 1
        self.watcher.advance(processed)
        if processed == len(changes):
            self.uids, self._own = self.folder.snapshot(), False  # caught up: equal to the folder's
        announce_exists()
        out.extend(self._flag_lines(flagged, with_uid))
        return bytes(out)

    def _resync(self, with_uid: bool) -> bytes:
        """Catch up by comparing with the whole folder, after falling too far behind its log."""
        current = self.folder.snapshot()
        present = set(current)
        out = bytearray()
        for sequence in range(len(self.uids), 0, -1):  # descending: each number is still valid
            if self.uids[sequence - 1] not in present:
                self.recent.discard(self.uids[sequence - 1])
                out.extend(b"* %d EXPUNGE\r\n" % sequence)
        known = sum(1 for uid in self.uids if uid in present)
        for uid in current[known:]:
            if not self.readonly and self.folder.claim_recent(uid) < uid:
                self.recent.add(uid)
                self.unsettled.append(uid)
        self.uids, self._own = current, False
        self.watcher.overflowed, self.watcher.position = False, self.folder.change_end
        out.extend(b"* %d EXISTS\r\n* %d RECENT\r\n" % (len(current), len(self.recent)))
        out.extend(self._flag_lines(current[:known], with_uid))  # flags may have changed meanwhile
        return bytes(out)

    def _flag_lines(self, uids: Iterable[int], with_uid: bool) -> bytes:
        """FETCH FLAGS lines for those of `uids` still in the folder and known to this session."""
        out = bytearray()
        for uid in uids:
            message = self.folder.message(uid)
            line = self.fetch_flags_line(message, with_uid) if message is not None else None
            if line:
                out.extend(line)
        return bytes(out)
