"""Directory fsyncs: shared by concurrent deliveries (group commit), never skipped for any, and
done for every directory a new Maildir adds."""
from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from maild.config import Mailbox
from maild.store import Store, dirsync, maildir
from maild.store.dirsync import DirectorySyncs

MAILBOX = Mailbox(id=1, local_part="bob", domain="example.com", password_hash="x", quota_bytes=0,
                  enabled=True, customer_id=1, max_message_bytes=1_000_000, sends_per_hour=None)
WAIT = 20.0


class RecordingFsync:
    """Wraps the real directory fsync, noting which entries each one could have covered."""

    def __init__(self) -> None:
        self.started: list[set[str]] = []
        self.completed: list[set[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> None:
        entries = set(os.listdir(path))
        with self._lock:
            self.started.append(entries)
        assert self.gate.wait(WAIT)
        maildir.fsync_dir(path)
        with self._lock:
            self.completed.append(entries)


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> RecordingFsync:
    recorder = RecordingFsync()
    monkeypatch.setattr(dirsync, "fsync_dir", recorder)
    return recorder


def test_waiters_during_an_fsync_share_the_next_one(tmp_path: Path, fsyncs: RecordingFsync) -> None:
    syncs = DirectorySyncs()
    fsyncs.gate.clear()

    async def scenario() -> None:
        first = asyncio.ensure_future(syncs.sync(tmp_path))
        while not fsyncs.started:  # the first fsync is under way (and held at the gate)
            await asyncio.sleep(0.01)
        (tmp_path / "later").touch()  # renames done while it runs: it cannot cover them
        later = [asyncio.ensure_future(syncs.sync(tmp_path)) for _ in range(9)]
        await asyncio.sleep(0)  # every later caller has asked and is waiting
        assert not any(task.done() for task in [first, *later])
        fsyncs.gate.set()
        await asyncio.wait_for(asyncio.gather(first, *later), WAIT)

    asyncio.run(scenario())
    assert len(fsyncs.completed) == 2
    assert "later" not in fsyncs.completed[0] and "later" in fsyncs.completed[1]


def test_a_failed_fsync_fails_its_waiters_and_the_next_caller_syncs_again(tmp_path: Path) -> None:
    syncs = DirectorySyncs()

    async def scenario() -> None:
        with pytest.raises(FileNotFoundError):
            await syncs.sync(tmp_path / "missing")
        (tmp_path / "missing").mkdir()
        await syncs.sync(tmp_path / "missing")

    asyncio.run(scenario())


def test_every_concurrent_delivery_returns_after_an_fsync_that_saw_its_file(
        tmp_path: Path, fsyncs: RecordingFsync) -> None:
    store = Store(tmp_path)
    new = store.maildir(MAILBOX) / "new"
    covered: dict[int, bool] = {}

    async def deliver(number: int) -> None:
        marker = f"Subject: message {number}\r\n".encode()
        await store.deliver(MAILBOX, marker + b"\r\nbody\r\n")
        mine = [path.name for path in new.iterdir() if path.read_bytes().startswith(marker)]
        covered[number] = len(mine) == 1 and any(mine[0] in entries for entries in list(fsyncs.completed))

    async def scenario() -> None:
        await asyncio.gather(*(deliver(number) for number in range(20)))

    asyncio.run(scenario())
    assert covered == {number: True for number in range(20)}
    assert len(list(new.iterdir())) == 20
    assert store.usage(MAILBOX).messages == 20


def test_a_new_maildir_fsyncs_every_directory_that_gained_an_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(maildir, "fsync_dir", synced.append)
    path = tmp_path / "example.com" / "bob" / "Maildir"
    maildir.make_maildir(path)
    assert sorted(synced) == sorted([tmp_path, tmp_path / "example.com", tmp_path / "example.com" / "bob", path])
    synced.clear()
    maildir.make_maildir(path)
    assert synced == []
