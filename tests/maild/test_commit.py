"""Group commit of new messages: concurrent deliveries share the committer's batches and their
directory fsyncs, none returns before an fsync that covers it, a failure stays with its own
delivery, and a new Maildir fsyncs every directory it adds."""
from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from maild.config import Mailbox
from maild.store import Store, commit, maildir
from maild.store.commit import Committer

MAILBOX = Mailbox(id=1, local_part="bob", domain="example.com", password_hash="x", quota_bytes=0,
                  enabled=True, customer_id=1, max_message_bytes=1_000_000, sends_per_hour=None)
WAIT = 20.0
REAL_FSYNC_DIR = maildir.fsync_dir


class RecordingFsync:
    """Wraps the real directory fsync, noting which entries each one could have covered."""

    def __init__(self) -> None:
        self.started: list[set[str]] = []
        self.completed: list[set[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> None:
        if path.name != "new":  # a Maildir being created
            REAL_FSYNC_DIR(path)
            return
        entries = set(os.listdir(path))
        with self._lock:
            self.started.append(entries)
        assert self.gate.wait(WAIT)
        REAL_FSYNC_DIR(path)
        with self._lock:
            self.completed.append(entries)


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> RecordingFsync:
    recorder = RecordingFsync()
    monkeypatch.setattr(maildir, "fsync_dir", recorder)
    return recorder


def stage(folder: Path, name: str) -> tuple[str, maildir.StagedFile]:
    return name, maildir.stage_file(folder, "new", name, name.encode())


def test_deliveries_arriving_during_a_commit_share_the_next_directory_fsync(
        tmp_path: Path, fsyncs: RecordingFsync) -> None:
    maildir.make_maildir(tmp_path)
    committer = Committer()
    fsyncs.gate.clear()

    async def scenario() -> list[str]:
        first = asyncio.ensure_future(committer.commit(lambda: stage(tmp_path, "first")))
        while not fsyncs.started:  # the first batch's fsync is under way (and held at the gate)
            await asyncio.sleep(0.01)
        later = [asyncio.ensure_future(committer.commit(lambda n=n: stage(tmp_path, f"later{n}"))) for n in range(9)]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in [first, *later])
        fsyncs.gate.set()
        return await asyncio.wait_for(asyncio.gather(first, *later), WAIT)

    names = asyncio.run(scenario())
    assert names == ["first", *(f"later{n}" for n in range(9))]
    assert len(fsyncs.completed) == 2
    assert fsyncs.completed[0] == {"first"}
    assert fsyncs.completed[1] == {"first", *(f"later{n}" for n in range(9))}


def test_a_failed_directory_fsync_fails_its_batch_and_the_next_commit_syncs_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    maildir.make_maildir(tmp_path)
    committer = Committer()
    failures = [OSError(5, "I/O error")]

    def flaky_fsync(path: Path) -> None:
        if failures:
            raise failures.pop()
        REAL_FSYNC_DIR(path)

    monkeypatch.setattr(maildir, "fsync_dir", flaky_fsync)

    async def scenario() -> str:
        with pytest.raises(OSError, match="I/O error"):
            await committer.commit(lambda: stage(tmp_path, "lost"))
        return await committer.commit(lambda: stage(tmp_path, "kept"))

    assert asyncio.run(scenario()) == "kept"


def test_a_delivery_that_fails_leaves_nothing_and_spares_the_rest_of_its_batch(tmp_path: Path) -> None:
    maildir.make_maildir(tmp_path)
    committer = Committer()

    async def scenario() -> list[object]:
        return await asyncio.gather(
            committer.commit(lambda: stage(tmp_path, "one")),
            committer.commit(lambda: stage(tmp_path / "missing", "two")),
            committer.commit(lambda: stage(tmp_path, "three")),
            return_exceptions=True)

    one, two, three = asyncio.run(scenario())
    assert (one, three) == ("one", "three")
    assert isinstance(two, FileNotFoundError)
    assert sorted(os.listdir(tmp_path / "new")) == ["one", "three"]
    assert os.listdir(tmp_path / "tmp") == []


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


def test_a_batch_records_its_quota_usage_as_one_maildirsize_line(tmp_path: Path, fsyncs: RecordingFsync) -> None:
    store = Store(tmp_path)
    message = b"Subject: counted\r\n\r\nbody\r\n"
    fsyncs.gate.clear()

    async def scenario() -> None:
        first = asyncio.ensure_future(store.deliver(MAILBOX, message))
        while not fsyncs.started:
            await asyncio.sleep(0.01)
        later = [asyncio.ensure_future(store.deliver(MAILBOX, message)) for _ in range(9)]
        await asyncio.sleep(0.05)
        fsyncs.gate.set()
        await asyncio.wait_for(asyncio.gather(first, *later), WAIT)

    asyncio.run(scenario())
    lines = (store.maildir(MAILBOX) / "maildirsize").read_text().splitlines()
    assert lines[-2:] == [f"{len(message)} 1", f"{9 * len(message)} 9"]  # after the header and "0 0"
    assert (store.usage(MAILBOX).bytes, store.usage(MAILBOX).messages) == (10 * len(message), 10)


def test_an_idle_committer_lets_its_thread_go_and_starts_another_for_new_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commit, "IDLE_SECONDS", 0.05)
    maildir.make_maildir(tmp_path)
    committer = Committer(name="idle-test")

    def running() -> int:
        return sum(thread.name == "idle-test" for thread in threading.enumerate())

    async def scenario() -> None:
        assert await committer.commit(lambda: stage(tmp_path, "before")) == "before"
        for _ in range(100):
            if not running():
                break
            await asyncio.sleep(0.02)
        assert running() == 0
        assert await committer.commit(lambda: stage(tmp_path, "after")) == "after"

    asyncio.run(scenario())
    assert sorted(os.listdir(tmp_path / "new")) == ["after", "before"]


def test_batches_hold_at_most_max_batch_open_files(
        tmp_path: Path, fsyncs: RecordingFsync, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commit, "MAX_BATCH", 4)
    maildir.make_maildir(tmp_path)
    committer = Committer()
    fsyncs.gate.clear()

    async def scenario() -> None:
        first = asyncio.ensure_future(committer.commit(lambda: stage(tmp_path, "first")))
        while not fsyncs.started:
            await asyncio.sleep(0.01)
        later = [asyncio.ensure_future(committer.commit(lambda n=n: stage(tmp_path, f"later{n}"))) for n in range(9)]
        await asyncio.sleep(0.05)
        fsyncs.gate.set()
        await asyncio.wait_for(asyncio.gather(first, *later), WAIT)

    asyncio.run(scenario())
    sizes = [len(after - before) for before, after in zip([set(), *fsyncs.completed], fsyncs.completed)]
    assert sizes == [1, 4, 4, 1]


def test_a_committer_that_cannot_start_its_thread_fails_that_delivery_and_recovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    maildir.make_maildir(tmp_path)
    committer = Committer()
    real_start = threading.Thread.start

    def no_threads(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    async def scenario() -> str:
        monkeypatch.setattr(threading.Thread, "start", no_threads)
        with pytest.raises(RuntimeError, match="can't start new thread"):
            await committer.commit(lambda: stage(tmp_path, "refused"))
        monkeypatch.setattr(threading.Thread, "start", real_start)
        return await asyncio.wait_for(committer.commit(lambda: stage(tmp_path, "kept")), WAIT)

    assert asyncio.run(scenario()) == "kept"
    assert os.listdir(tmp_path / "new") == ["kept"]


def test_an_unexpected_error_in_a_batch_fails_its_deliveries_instead_of_hanging_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)

    def broken(batch: object) -> None:
        raise ValueError("a bug")

    async def scenario() -> None:
        monkeypatch.setattr(commit, "_count", broken)
        with pytest.raises(ValueError, match="a bug"):
            await asyncio.wait_for(store.deliver(MAILBOX, b"Subject: one\r\n\r\n"), WAIT)
        monkeypatch.undo()
        await asyncio.wait_for(store.deliver(MAILBOX, b"Subject: two\r\n\r\n"), WAIT)

    asyncio.run(scenario())
    assert store.usage(MAILBOX).messages == 1  # the failed batch was not counted
