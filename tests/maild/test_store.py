"""The Maildir store: durable delivery, index rebuild, quota usage, change notification."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from maild.config import Mailbox
from maild.store import Store, maildir
from maild.store.index import JOURNAL, SNAPSHOT

MAILBOX = Mailbox(id=1, local_part="bob", domain="example.com", password_hash="x", quota_bytes=10_000,
                  enabled=True, customer_id=1, max_message_bytes=1_000_000, sends_per_hour=None)
MESSAGE = b"From: a@example.org\r\nTo: bob@example.com\r\nSubject: hello\r\n\r\nline one\r\nline two\r\n"


def run(coro):  # noqa: ANN001, ANN201 - test helper
    return asyncio.run(coro)


def test_delivery_lands_in_new_byte_identical_in_dovecot_layout(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run(store.deliver(MAILBOX, MESSAGE))
    files = list((tmp_path / "example.com" / "bob" / "Maildir" / "new").iterdir())
    assert len(files) == 1
    assert files[0].read_bytes() == MESSAGE
    assert f",S={len(MESSAGE)}" in files[0].name
    assert store.usage(MAILBOX).bytes == len(MESSAGE)
    assert store.usage(MAILBOX).messages == 1
    assert not list((tmp_path / "example.com" / "bob" / "Maildir" / "tmp").iterdir())


def test_delivery_to_a_subfolder_creates_it_as_dot_directory(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run(store.deliver(MAILBOX, MESSAGE, folder="Junk"))
    assert len(list((tmp_path / "example.com" / "bob" / "Maildir" / ".Junk" / "new").iterdir())) == 1
    assert run(store.list_folders(MAILBOX)) == ["INBOX", "Junk"]


def test_interrupted_write_before_rename_exposes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)

    def crash(*args: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(maildir.os, "rename", crash)
    with pytest.raises(OSError):
        run(store.deliver(MAILBOX, MESSAGE))
    monkeypatch.undo()

    async def reopen() -> list[int]:
        return list((await Store(tmp_path).folder(MAILBOX, "INBOX")).uids)

    assert run(reopen()) == []
    assert Store(tmp_path).usage(MAILBOX).messages == 0


def test_kill_9_during_deliveries_keeps_every_acknowledged_message_whole(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from maild.store import Store
        from tests.maild.test_store import MAILBOX
        async def main():
            store = Store(Path({str(tmp_path)!r}))
            for n in range(100000):
                body = (b"From: a@example.org\\r\\nSubject: %d\\r\\n\\r\\n" % n) + b"x" * (n * 37 % 9000) + b"\\r\\n"
                await store.deliver(MAILBOX, body)
                print(n, len(body), flush=True)
        asyncio.run(main())
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert process.stdout is not None
    acknowledged = [process.stdout.readline() for _ in range(30)]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    sizes = {int(line.split()[0]): int(line.split()[1]) for line in acknowledged}

    async def reopen() -> dict[int, bytes]:
        folder = await Store(tmp_path).folder(MAILBOX, "INBOX")
        return {uid: await folder.read(uid) for uid in folder.uids}

    stored = run(reopen())
    by_subject = {int(data.split(b"Subject: ")[1].split(b"\r\n")[0]): data for data in stored.values()}
    for number, size in sizes.items():
        assert len(by_subject[number]) == size
    for data in by_subject.values():
        assert data.endswith(b"\r\n")  # never a partial file
    assert Store(tmp_path).usage(MAILBOX).messages >= len(sizes)


def test_index_rebuilt_after_deletion_keeps_uids_and_flags(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict[int, frozenset[str]], dict[int, frozenset[str]], int, int]:
        store = Store(tmp_path)
        for _ in range(4):
            await store.deliver(MAILBOX, MESSAGE)
        folder = await store.folder(MAILBOX, "INBOX")
        await folder.store_flags([2], "+", ["\\Seen", "$Label1", "\\Flagged"])
        await folder.store_flags([4], "+", ["$Forwarded"])
        await folder.expunge([3])
        before = {uid: folder.message(uid).flags for uid in folder.uids}  # type: ignore[union-attr]
        (folder.path / SNAPSHOT).unlink()
        (folder.path / JOURNAL).unlink(missing_ok=True)
        rebuilt = await Store(tmp_path).folder(MAILBOX, "INBOX")
        after = {uid: rebuilt.message(uid).flags for uid in rebuilt.uids}  # type: ignore[union-attr]
        return before, after, folder.uidvalidity, rebuilt.uidvalidity

    before, after, validity_before, validity_after = run(scenario())
    assert after == before
    assert sorted(after) == [1, 2, 4]
    assert after[2] == {"\\Seen", "$Label1", "\\Flagged"}
    assert validity_after == validity_before


def test_corrupt_index_is_rebuilt_from_files(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        store = Store(tmp_path)
        for _ in range(3):
            await store.deliver(MAILBOX, MESSAGE)
        folder = await store.folder(MAILBOX, "INBOX")
        (folder.path / SNAPSHOT).write_bytes(b"{garbage")
        (folder.path / JOURNAL).write_bytes(b'["add", [1, 2\n')
        rebuilt = await Store(tmp_path).folder(MAILBOX, "INBOX")
        assert "hello" in rebuilt.message(1).envelope  # type: ignore[union-attr]
        return list(rebuilt.uids)

    assert run(scenario()) == [1, 2, 3]


def test_usage_counter_matches_recalc_after_changes(tmp_path: Path) -> None:
    async def scenario() -> tuple[object, object]:
        store = Store(tmp_path)
        for n in range(5):
            await store.deliver(MAILBOX, MESSAGE + b"x" * n, folder="INBOX" if n % 2 else "Archive")
        inbox = await store.folder(MAILBOX, "INBOX")
        await inbox.expunge([inbox.uids[0]])
        counted = store.usage(MAILBOX)
        return counted, await Store(tmp_path).recalc(MAILBOX)

    counted, recalculated = run(scenario())
    assert counted == recalculated
    assert counted.messages == 4  # type: ignore[attr-defined]


def test_delivery_wakes_watchers_with_exists_change(tmp_path: Path) -> None:
    async def scenario() -> list[tuple[str, int]]:
        store = Store(tmp_path)
        folder = await store.folder(MAILBOX, "INBOX")
        woken = asyncio.Event()
        watcher = folder.watch(woken.set)
        await store.deliver(MAILBOX, MESSAGE)
        await asyncio.wait_for(woken.wait(), 10)
        changes = [(change.kind, change.uid) for change in watcher.pending()]
        watcher.close()
        return changes

    assert run(scenario()) == [("exists", 1)]


def test_keyword_letters_follow_dovecot_keywords_file(tmp_path: Path) -> None:
    async def scenario() -> str:
        store = Store(tmp_path)
        await store.deliver(MAILBOX, MESSAGE)
        folder = await store.folder(MAILBOX, "INBOX")
        await folder.store_flags([1], "+", ["$Label1", "\\Answered"])
        return folder.message(1).name  # type: ignore[union-attr]

    name = run(scenario())
    assert name.endswith(":2,Ra")
    keywords = (tmp_path / "example.com" / "bob" / "Maildir" / "dovecot-keywords").read_text()
    assert keywords == "0 $Label1\n"


def test_unwatched_folders_are_evicted_past_the_message_budget_and_reload_intact(tmp_path: Path) -> None:
    other = Mailbox(id=2, local_part="carol", domain="example.com", password_hash="x", quota_bytes=0,
                    enabled=True, customer_id=1, max_message_bytes=1_000_000, sends_per_hour=None)

    async def scenario() -> tuple[bool, bool, list[int]]:
        store = Store(tmp_path, cache_messages=2)
        for _ in range(2):
            await store.deliver(MAILBOX, MESSAGE)
        await store.deliver(other, MESSAGE)
        inbox = await store.folder(MAILBOX, "INBOX")
        watcher = inbox.watch(lambda: None)
        await store.folder(other, "INBOX")  # over budget, but bob's INBOX is watched: kept
        kept = store._folders.get((inbox.path, "INBOX")) is inbox
        watcher.close()
        path = inbox.path
        del inbox
        await store.folder(other, "Junk", create=True)
        evicted = (path, "INBOX") not in store._folders
        return kept, evicted, list((await store.folder(MAILBOX, "INBOX")).uids)

    kept, evicted, uids = run(scenario())
    assert kept and evicted
    assert uids == [1, 2]


def test_delivery_to_an_unopened_folder_skips_the_index_until_it_is_opened(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, list[int], list[int]]:
        store = Store(tmp_path)
        for _ in range(3):
            await store.deliver(MAILBOX, MESSAGE)
        maildir = store.maildir(MAILBOX)
        indexed_early = (maildir / SNAPSHOT).exists() or (maildir / JOURNAL).exists()
        folder = await store.folder(MAILBOX, "INBOX")
        first = list(folder.uids)
        await store.deliver(MAILBOX, MESSAGE)  # open now: indexed at once
        return indexed_early, first, list(folder.uids)

    indexed_early, first, later = run(scenario())
    assert not indexed_early
    assert first == [1, 2, 3] and later == [1, 2, 3, 4]
    assert Store(tmp_path).usage(MAILBOX).messages == 4


def test_opening_during_deliveries_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[int], list[bytes]]:
        store = Store(tmp_path)
        bodies = [MESSAGE + b"%d\r\n" % n for n in range(30)]
        deliveries = [asyncio.ensure_future(store.deliver(MAILBOX, body)) for body in bodies]
        await asyncio.sleep(0)
        folder = await store.folder(MAILBOX, "INBOX")
        await asyncio.gather(*deliveries)
        return list(folder.uids), sorted([await folder.read(uid) for uid in folder.uids])

    uids, stored = run(scenario())
    assert uids == list(range(1, 31))
    assert stored == sorted(MESSAGE + b"%d\r\n" % n for n in range(30))


def test_a_folder_in_use_is_never_opened_twice(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        store = Store(tmp_path, cache_size=0)
        inbox = await store.folder(MAILBOX, "INBOX")  # evicted at once, but still held here
        await store.deliver(MAILBOX, MESSAGE)
        await inbox.append(MESSAGE)
        return list((await Store(tmp_path).folder(MAILBOX, "INBOX")).uids)

    assert run(scenario()) == [1, 2]


def test_mail_delivered_while_closed_is_journaled_not_rewritten_into_the_snapshot(tmp_path: Path) -> None:
    async def scenario() -> tuple[bytes, bytes, list[int], list[int]]:
        await Store(tmp_path).deliver(MAILBOX, MESSAGE)
        first = await Store(tmp_path).folder(MAILBOX, "INBOX")  # adopts it: the first snapshot
        snapshot = (first.path / SNAPSHOT).read_bytes()
        await Store(tmp_path).deliver(MAILBOX, MESSAGE + b"2\r\n")
        second = await Store(tmp_path).folder(MAILBOX, "INBOX")
        third = await Store(tmp_path).folder(MAILBOX, "INBOX")
        return snapshot, (first.path / SNAPSHOT).read_bytes(), list(second.uids), list(third.uids)

    before, after, second, third = run(scenario())
    assert after == before
    assert second == third == [1, 2]
