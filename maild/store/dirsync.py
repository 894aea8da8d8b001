"""Group commit for directory fsyncs: deliveries into one directory share each fsync.

A message is durable once its file is fsynced and its rename into `new/` (or `cur/`) is too,
which takes an fsync of the directory. Under load many deliveries land in the same directory at
once; one fsync issued after their renames covers them all. `DirectorySyncs.sync(path)` returns
only after an fsync of `path` that *started* after the caller's rename completed: the first
caller starts one, callers arriving while it runs wait for it and then share the next one.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from maild.store.maildir import fsync_dir


@dataclass
class _Directory:
    """Sync state of one directory: renames announced, renames covered, the fsync under way."""

    requested: int = 0
    synced: int = 0
    running: asyncio.Future[None] | None = None
    waiters: int = 0


class DirectorySyncs:
    """Coalesced directory fsyncs for one event loop (the store keeps one)."""

    def __init__(self) -> None:
        self._directories: dict[Path, _Directory] = {}  # only directories with waiters or an fsync

    async def sync(self, path: Path) -> None:
        """Return once an fsync of `path` begun after this call has completed (raises its error)."""
        state = self._directories.setdefault(path, _Directory())
        state.requested += 1
        ticket = state.requested
        state.waiters += 1
        try:
            while state.synced < ticket:
                if state.running is None:
                    self._start(path, state)
                assert state.running is not None
                # Shielded: a cancelled delivery must not cancel the fsync others wait on.
                await asyncio.shield(state.running)
        finally:
            state.waiters -= 1
            self._forget_idle(path, state)

    def _start(self, path: Path, state: _Directory) -> None:
        state.running = asyncio.ensure_future(self._fsync(path, state))

    async def _fsync(self, path: Path, state: _Directory) -> None:
        """One fsync covering every rename announced so far; the state is settled before any
        waiter wakes, so none sees a finished fsync as still running."""
        covered = state.requested
        try:
            await asyncio.to_thread(fsync_dir, path)
            state.synced = max(state.synced, covered)
        finally:
            state.running = None
            self._forget_idle(path, state)

    def _forget_idle(self, path: Path, state: _Directory) -> None:
        """Drop a directory nobody waits on, so the table only holds directories in use."""
        if not state.waiters and state.running is None and self._directories.get(path) is state:
            del self._directories[path]
