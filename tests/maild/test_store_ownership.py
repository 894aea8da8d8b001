"""A reused address starts empty: the previous mailbox's Maildir is set aside, then purged."""
from __future__ import annotations

import asyncio
import imaplib
import logging
import time
from dataclasses import replace
from pathlib import Path

import pytest

from maild import cleanup
from maild.bundle import ConfigHolder
from maild.config import Mailbox
from maild.store import Store, ownership
from maild.store.store import MailboxGone
from tests.maild.dns_server import DnsServer
from tests.maild.imap_server import PASSWORD, USER, imap_node
from tests.maild.support import mailbox, node_config

OLD = Mailbox(id=1, local_part="a", domain="x.test", password_hash="x", quota_bytes=10_000_000,
              enabled=True, customer_id=7, max_message_bytes=1_000_000, sends_per_hour=None)
NEW = replace(OLD, id=2)  # the panel deleted OLD and created the address again


def message(subject: str) -> bytes:
    return f"From: s@remote.test\r\nTo: a@x.test\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()


def run(coro):  # noqa: ANN001, ANN201 - test helper
    return asyncio.run(coro)


async def inbox(store: Store, box: Mailbox) -> list[bytes]:
    folder = await store.folder(box, "INBOX")
    return [await folder.read(uid) for uid in folder.uids]


def set_aside_entries(root: Path) -> list[Path]:
    return sorted((root / ownership.DELETED_DIR / "x.test").iterdir())


@pytest.mark.parametrize("restarted", [False, True], ids=["same-process", "after-restart"])
def test_reused_address_sees_only_its_own_mail_and_old_mail_is_set_aside(tmp_path: Path, restarted: bool) -> None:
    store = Store(tmp_path)

    async def old_owner() -> None:
        await store.deliver(OLD, message("old inbox"))
        await store.deliver(OLD, message("old junk"), folder="Junk")
        await store.set_subscribed(OLD, ["Junk"], True)
        assert len(await inbox(store, OLD)) == 1  # cached open folder and quota counter

    run(old_owner())
    if restarted:
        store = Store(tmp_path)

    async def new_owner() -> None:
        await store.deliver(NEW, message("new"))
        assert await inbox(store, NEW) == [message("new")]
        assert await store.list_folders(NEW) == ["INBOX"]
        assert await store.subscriptions(NEW) == []

    run(new_owner())
    assert store.usage(NEW).messages == 1
    assert store.ledger.pool_used(NEW.customer_id) == len(message("new"))
    assert ownership.owner(store.maildir(NEW)).id == 2
    [entry] = set_aside_entries(tmp_path)
    assert entry.name.startswith("a.1.")
    kept = entry / "Maildir"
    assert ownership.owner(kept).id == 1
    assert [path.read_bytes() for path in (kept / "new").iterdir()] == [message("old inbox")]
    assert [path.read_bytes() for path in (kept / ".Junk" / "new").iterdir()] == [message("old junk")]


def test_maildir_from_before_owners_were_recorded_is_adopted_with_its_mail(tmp_path: Path) -> None:
    run(Store(tmp_path).deliver(OLD, message("kept")))
    maildir = Store(tmp_path).maildir(OLD)
    (maildir / ownership.OWNER_FILE).unlink()

    assert run(inbox(Store(tmp_path), NEW)) == [message("kept")]
    assert ownership.owner(maildir).id == 2
    assert not (tmp_path / ownership.DELETED_DIR).exists()


def test_concurrent_first_deliveries_set_the_old_mail_aside_once(tmp_path: Path) -> None:
    run(Store(tmp_path).deliver(OLD, message("old")))
    store = Store(tmp_path)

    async def burst() -> None:
        await asyncio.gather(*(store.deliver(NEW, message(f"new {n}")) for n in range(20)))

    run(burst())
    assert len(set_aside_entries(tmp_path)) == 1
    assert sorted(run(inbox(store, NEW))) == sorted(message(f"new {n}") for n in range(20))


def test_session_of_the_deleted_mailbox_cannot_take_the_address_back(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run(store.deliver(OLD, message("old")))
    run(store.deliver(NEW, message("new")))

    with pytest.raises(MailboxGone):
        run(store.deliver(OLD, message("late")))
    assert run(inbox(store, NEW)) == [message("new")]
    assert len(set_aside_entries(tmp_path)) == 1


def test_a_reused_id_with_a_new_creation_time_is_a_new_mailbox(tmp_path: Path) -> None:
    first = replace(OLD, created=1_000_000)
    again = replace(OLD, created=2_000_000)  # SQLite gave the re-created address the same id
    run(Store(tmp_path).deliver(first, message("first")))
    run(Store(tmp_path).deliver(again, message("again")))
    assert run(inbox(Store(tmp_path), again)) == [message("again")]
    [entry] = set_aside_entries(tmp_path)
    assert ownership.owner(entry / "Maildir") == (OLD.id, 1_000_000)
    with pytest.raises(MailboxGone):
        run(Store(tmp_path).deliver(first, message("stale bundle")))


def test_an_owner_recorded_without_creation_time_is_completed(tmp_path: Path) -> None:
    run(Store(tmp_path).deliver(OLD, message("before")))
    maildir = Store(tmp_path).maildir(OLD)
    (maildir / ownership.OWNER_FILE).write_text(f"{OLD.id}\n")  # as the first version wrote it
    run(Store(tmp_path).deliver(replace(OLD, created=5), message("after")))
    assert ownership.owner(maildir) == (OLD.id, 5)
    assert len(run(inbox(Store(tmp_path), replace(OLD, created=5)))) == 2


def test_a_store_with_an_older_bundle_than_the_maildir_moves_nothing(tmp_path: Path) -> None:
    run(Store(tmp_path).deliver(NEW, message("new")))
    with pytest.raises(MailboxGone):  # OLD's id is lower: this bundle predates the address's new owner
        run(Store(tmp_path).deliver(OLD, message("stale")))
    assert run(inbox(Store(tmp_path), NEW)) == [message("new")]
    assert not (tmp_path / ownership.DELETED_DIR).exists()


def test_commands_beside_the_daemon_never_claim_or_move_a_maildir(tmp_path: Path) -> None:
    run(Store(tmp_path).deliver(OLD, message("old")))
    beside = Store(tmp_path, claims=False)  # e.g. `maild usage report` with its own bundle copy
    assert beside.usage(NEW).messages == 1  # it sees the Maildir as it is...
    assert ownership.owner(beside.maildir(NEW)).id == 1  # ...and leaves it to the daemon to decide
    assert not (tmp_path / ownership.DELETED_DIR).exists()


def test_an_unreadable_owner_record_is_adopted_not_fatal(tmp_path: Path) -> None:
    run(Store(tmp_path).deliver(OLD, message("old")))
    maildir = Store(tmp_path).maildir(OLD)
    (maildir / ownership.OWNER_FILE).write_bytes(b"\xff garbage")
    run(Store(tmp_path).deliver(OLD, message("still delivered")))
    assert ownership.owner(maildir).id == OLD.id and len(run(inbox(Store(tmp_path), OLD))) == 2


def test_deleted_directory_is_never_a_domain(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Store(tmp_path).maildir(replace(OLD, domain=ownership.DELETED_DIR))


def test_cleanup_purges_set_aside_mail_after_30_days_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(tmp_path)
    run(store.deliver(OLD, message("old")))
    run(store.deliver(NEW, message("new")))
    [entry] = set_aside_entries(tmp_path)
    stray = tmp_path / ownership.DELETED_DIR / "note.txt"
    stray.write_text("left by an operator")
    set_aside_at = int(entry.name.rpartition(".")[2])

    assert run(cleanup.purge_deleted(store, now=set_aside_at + 29 * cleanup.DAY)) == []
    assert entry.is_dir()
    with caplog.at_level(logging.INFO, logger="maild.cleanup"):
        assert run(cleanup.purge_deleted(store, now=set_aside_at + 31 * cleanup.DAY)) == [entry]
    assert str(entry) in caplog.text
    assert not (tmp_path / ownership.DELETED_DIR / "x.test").exists()
    assert stray.exists()
    assert run(inbox(store, NEW)) == [message("new")]


def test_daily_cleanup_purges_old_set_aside_mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(Store(tmp_path).deliver(OLD, message("old")))
    home = Store(tmp_path).maildir(OLD).parent
    moved = ownership.set_aside(tmp_path, home, OLD.id, now=time.time() - 31 * cleanup.DAY)
    sleeps: list[float] = []

    class Stop(Exception):
        pass

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 1:
            raise Stop

    monkeypatch.setattr(cleanup.asyncio, "sleep", sleep)
    with pytest.raises(Stop):
        run(cleanup.run_daily(ConfigHolder(node_config()), Store(tmp_path)))
    assert not moved.exists()


def test_address_recreated_while_running_starts_empty_over_smtp_and_imap(tmp_path: Path, dns: DnsServer) -> None:
    with imap_node(tmp_path, dns) as node:
        node.deliver(message("for the old owner"))
        client = node.client()
        assert client.select("INBOX")[1] == [b"1"]
        client.logout()
        config = node.daemon.holder.current
        recreated = mailbox(USER, PASSWORD)
        node.daemon.swap(replace(config, serial=config.serial + 1, mailboxes={USER: recreated}))

        node.deliver(message("for the new owner"))
        client = node.client(select=None)
        assert client.select("INBOX")[1] == [b"1"]
        fetched = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1]  # type: ignore[index]
        assert b"for the new owner" in fetched
        client.logout()
        assert (tmp_path / "data" / "mail" / ownership.DELETED_DIR / "example.test").is_dir()


def test_sessions_of_a_deleted_mailbox_end_at_their_next_command(tmp_path: Path, dns: DnsServer) -> None:
    with imap_node(tmp_path, dns) as node:
        node.deliver(message("for the old owner"))
        client = node.client()
        config = node.daemon.holder.current
        node.daemon.swap(replace(config, serial=config.serial + 1, mailboxes={USER: mailbox(USER, PASSWORD)}))
        with pytest.raises(imaplib.IMAP4.abort, match="no longer available"):
            client.store("1", "+FLAGS", "(\\Deleted)")  # nothing in the old owner's name any more
            client.expunge()
