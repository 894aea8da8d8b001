"""Group commit for new messages: one thread stages every delivery waiting, then makes them
durable together.

A message is durable once its file is fsynced and its rename into `new/` (or `cur/`) is too,
which takes an fsync of the directory. Under load many deliveries arrive at once. Giving each
its own worker thread (and a second hop for the directory fsync) cost more in thread switches
and GIL hand-offs than the writes. The committer's thread instead takes every delivery waiting
and, for the batch: writes all files into tmp/, fsyncs them, renames them into place, and
fsyncs each directory once. Then it wakes the event loop once. A delivery reported done is covered by a directory fsync that began
after its rename. A failure is reported to its caller only: a file that could not be written,
fsynced or renamed is removed from tmp/; one whose directory fsync failed stays in place (it may
yet reach the disk, so the client's retry can make a duplicate, never a loss) and is counted.
The quota usage a batch adds is recorded as one `maildirsize` line per mailbox, not one per
message. A batch holds at most MAX_BATCH open files.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from maild.store import maildir
from maild.store.quota import QuotaCounter

T = TypeVar("T")
IDLE_SECONDS = 30.0  # the committer's thread ends after this long without work
MAX_BATCH = 64  # deliveries per batch: each holds an open file until the batch's fsyncs
log = logging.getLogger(__name__)

# Writes a file into tmp/ (committer thread) and returns the caller's result with the file.
Stage = Callable[[], tuple[T, maildir.StagedFile]]


@dataclass
class _Job(Generic[T]):
    stage: Stage[T]
    quota: QuotaCounter | None  # counts the file once it is durable
    future: asyncio.Future[T]
    result: Any = None
    file: maildir.StagedFile | None = None
    error: BaseException | None = None

    def fail(self, error: BaseException) -> None:
        self.error = error
        if self.file is not None:
            try:
                self.file.discard()
            except OSError:
                log.warning("could not remove %s", self.file.tmp_path, exc_info=True)
            self.file = None


class Committer:
    """Runs staged writes on one thread, in batches that share fsyncs."""

    def __init__(self, name: str = "maild-commit") -> None:
        self._name = name
        self._pending: list[_Job[Any]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    async def commit(self, stage: Stage[T], quota: QuotaCounter | None = None) -> T:
        """Run `stage` on the committer's thread; return its result once the file is durable in
        its directory (and counted in `quota`, if given). The work completes even if the caller
        is cancelled meanwhile."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        job = _Job(stage, quota, future)
        with self._wake:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                thread.start()  # may raise (no threads left): then nothing was queued
                self._thread = thread
            self._pending.append(job)
            self._wake.notify()
        return await future

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    if not self._wake.wait(IDLE_SECONDS) and not self._pending:
                        self._thread = None  # the next commit starts another
                        return
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                _commit(batch)
            except Exception as error:  # a bug here must fail this batch, not hang every delivery
                log.exception("committing %d deliveries failed", len(batch))
                for job in batch:
                    job.error = job.error or error
            _settle_on_loops(batch)


def _commit(batch: list[_Job[Any]]) -> None:
    """Stage, fsync and rename every job's file, fsync each directory once, count the quota.
    Any error is kept on its job (and on every job of a directory whose fsync failed)."""
    for job in batch:
        try:
            job.result, job.file = job.stage()
        except BaseException as error:  # whatever the stage raised is handed to its caller
            job.fail(error)
    for step in (maildir.StagedFile.sync, maildir.StagedFile.publish):
        for job in batch:
            if job.file is not None:
                try:
                    step(job.file)
                except OSError as error:
                    job.fail(error)
    by_directory: defaultdict[Path, list[_Job[Any]]] = defaultdict(list)
    for job in batch:
        if job.file is not None:
            by_directory[job.file.final_path.parent].append(job)
    for directory, jobs in by_directory.items():
        try:
            maildir.fsync_dir(directory)
        except OSError as error:
            for job in jobs:
                job.error = error  # renamed but not known durable: the client must retry
    _count(batch)


def _count(batch: list[_Job[Any]]) -> None:
    """Add the batch's stored messages to their quota counters, one update per counter."""
    added: dict[QuotaCounter, list[int]] = {}
    for job in batch:
        if job.quota is not None and job.file is not None:  # in place, even if not known durable
            totals = added.setdefault(job.quota, [0, 0])
            totals[0] += job.file.size
            totals[1] += 1
    for counter, (size, count) in added.items():
        try:
            counter.add(size, count)
        except OSError:  # the mail is stored: `maild quota recalc` or the next rewrite recounts
            log.exception("could not record quota usage of %s", counter.root)


def _settle_on_loops(batch: list[_Job[Any]]) -> None:
    """Wake each waiting event loop once for its jobs of the batch."""
    by_loop: defaultdict[asyncio.AbstractEventLoop, list[_Job[Any]]] = defaultdict(list)
    for job in batch:
        by_loop[job.future.get_loop()].append(job)
    for loop, jobs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, jobs)
        except RuntimeError:  # that loop has closed: nobody waits on these any more
            continue


def _settle(jobs: list[_Job[Any]]) -> None:
    for job in jobs:
        if job.future.done():  # the caller was cancelled
            continue
        if job.error is None:
            job.future.set_result(job.result)
        elif isinstance(job.error, StopIteration):  # a future refuses it (PEP 479)
            job.future.set_exception(RuntimeError(f"delivery failed: {job.error!r}"))
        else:
            job.future.set_exception(job.error)
