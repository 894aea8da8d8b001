"""The bundle contract from the daemon's side: round trip, every refusal, and hot reload."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from maild.bundle import (
    BundleContent, BundleError, ConfigHolder, StaleBundle, load_bundle, watch, write_bundle,
)
from maild.config import Alias, Config, DkimKey, Domain, Listener, Mailbox, Server

SERVER = Server(node="node1", hostname="mx1.example.jp",
                listeners=(Listener("mx", "127.0.0.1", 2525), Listener("imaps", "127.0.0.1", 1993)),
                resolver=("127.0.0.1:5353",), queue_retry_base=1.5)
DOMAIN = Domain(name="example.jp", status="active", customer_id=7, archive=True,
                dkim=DkimKey(selector="s1", algorithm="ed25519-sha256", private_key_pem="-----KEY-----"))
MAILBOX = Mailbox(id=1, local_part="taro", domain="example.jp", password_hash="$argon2id$v=19$x",
                  quota_bytes=10**9, enabled=True, customer_id=7, max_message_bytes=25 * 2**20,
                  sends_per_hour=None)


def content(*mailboxes: Mailbox, server: Server = SERVER) -> Callable[[], BundleContent]:
    aliases = [Alias("info@example.jp", ("taro@example.jp", "ext@elsewhere.example")),
               Alias("@example.jp", ("taro@example.jp",))]
    return lambda: BundleContent(server, [DOMAIN], list(mailboxes or (MAILBOX,)), aliases)


def version_dir(node_dir: Path) -> Path:
    return node_dir / os.readlink(node_dir / "current")


def rewrite(node_dir: Path, name: str, body: bytes, *, fix_manifest: bool) -> None:
    """Replace a file of the current version in place, optionally re-sealing the manifest."""
    version = version_dir(node_dir)
    (version / name).write_bytes(body)
    if fix_manifest:
        manifest = json.loads((version / "manifest.json").read_bytes())
        manifest["files"][name] = {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        (version / "manifest.json").write_text(json.dumps(manifest))


def swap_bytes(node_dir: Path, name: str, old: bytes, new: bytes) -> None:
    """Corrupt a file without changing its size, as a bad disk or a hand edit would."""
    body = (version_dir(node_dir) / name).read_bytes()
    rewrite(node_dir, name, body.replace(old, new), fix_manifest=False)


def edit_manifest(node_dir: Path, **changes: object) -> None:
    path = version_dir(node_dir) / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_bytes()) | changes))


def test_round_trip_gives_back_every_field(tmp_path: Path) -> None:
    serial = write_bundle(tmp_path, content())
    config = load_bundle(tmp_path)
    assert config.serial == serial and config.schema == 1 and len(config.checksum) == 64
    assert config.server == SERVER
    assert config.domains == {"example.jp": DOMAIN}
    assert config.mailbox("Taro@EXAMPLE.jp") == MAILBOX
    assert config.aliases["info@example.jp"].destinations == ("taro@example.jp", "ext@elsewhere.example")
    assert config.aliases["@example.jp"].destinations == ("taro@example.jp",)


def test_serials_grow_and_only_two_versions_are_kept(tmp_path: Path) -> None:
    serials = [write_bundle(tmp_path, content()) for _ in range(4)]
    assert serials == sorted(set(serials))
    versions = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("v"))
    assert versions == [f"v{serials[-2]}", f"v{serials[-1]}"]
    assert os.readlink(tmp_path / "current") == f"v{serials[-1]}"


def test_bundle_files_are_private(tmp_path: Path) -> None:
    write_bundle(tmp_path, content())
    assert (version_dir(tmp_path) / "mailboxes.json").stat().st_mode & 0o077 == 0


def test_fields_unknown_to_this_reader_are_ignored(tmp_path: Path) -> None:
    write_bundle(tmp_path, content())
    record = json.loads((version_dir(tmp_path) / "mailboxes.json").read_bytes())
    record[0]["added_in_a_later_release"] = {"x": 1}
    rewrite(tmp_path, "mailboxes.json", json.dumps(record).encode(), fix_manifest=True)
    assert load_bundle(tmp_path).mailbox("taro@example.jp") == MAILBOX


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda d: swap_bytes(d, "mailboxes.json", b"taro", b"jiro"), "mailboxes.json: checksum mismatch"),
    (lambda d: rewrite(d, "domains.json", b"[]", fix_manifest=False), "manifest says"),
    (lambda d: edit_manifest(d, schema=2), "unsupported schema 2"),
    (lambda d: (version_dir(d) / "aliases.json").unlink(), "missing file aliases.json"),
    (lambda d: (version_dir(d) / "manifest.json").write_text('{"schema": 1, "ser'), "manifest.json is not valid JSON"),
    (lambda d: rewrite(d, "mailboxes.json", b'[{"id": 1, "local_', fix_manifest=True), "mailboxes.json is not valid JSON"),
    (lambda d: rewrite(d, "mailboxes.json", b'[{"id": "1"}]', fix_manifest=True), "mailboxes.json[0]: id: expected int"),
    (lambda d: rewrite(d, "mailboxes.json", b'[{"id": 1}]', fix_manifest=True), "missing field 'local_part'"),
    (lambda d: rewrite(d, "aliases.json", b'[{"source": "a@other.example", "destinations": ["x@y.example"]}]',
                       fix_manifest=True), "a@other.example is in no domain of this bundle"),
    (lambda d: edit_manifest(d, node="node2"), "names node 'node2'"),
])
def test_damaged_bundle_is_refused_with_its_reason(tmp_path: Path, damage: Callable[[Path], None],
                                                   reason: str) -> None:
    write_bundle(tmp_path, content())
    damage(tmp_path)
    with pytest.raises(BundleError, match=re.escape(reason)):
        load_bundle(tmp_path)


def test_no_bundle_at_all_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no bundle"):
        load_bundle(tmp_path)


@pytest.mark.parametrize("offset", [0, 1])
def test_older_or_equal_serial_is_refused(tmp_path: Path, offset: int) -> None:
    serial = write_bundle(tmp_path, content())
    with pytest.raises(StaleBundle, match=f"serial {serial} is not newer"):
        load_bundle(tmp_path, newer_than=serial + offset)


def test_duplicate_address_is_refused(tmp_path: Path) -> None:
    write_bundle(tmp_path, content(MAILBOX, replace(MAILBOX, id=2, local_part="TARO")))
    with pytest.raises(BundleError, match="taro@example.jp appears twice"):
        load_bundle(tmp_path)


def test_writer_recovers_from_a_crashed_writers_leftovers(tmp_path: Path) -> None:
    write_bundle(tmp_path, content())
    (tmp_path / ".tmp-v99").mkdir()
    (tmp_path / ".tmp-v99" / "mailboxes.json").write_bytes(b"[")
    serial = write_bundle(tmp_path, content())
    assert load_bundle(tmp_path).serial == serial
    assert not (tmp_path / ".tmp-v99").exists()


def test_concurrent_writers_and_a_reader_never_meet_a_half_written_bundle(tmp_path: Path) -> None:
    """Writers in threads (as gunicorn workers would be) while a reader loads continuously."""
    done = threading.Event()
    loaded: list[Config] = []
    refused: list[str] = []

    def read() -> None:
        while not done.is_set():
            try:
                loaded.append(load_bundle(tmp_path))
            except BundleError as exc:  # only a version pruned under a slow reader may vanish
                refused.append(str(exc))

    def write(writer: int) -> None:
        for n in range(5):
            boxes = [replace(MAILBOX, id=i, local_part=f"u{writer}-{n}-{i}") for i in range(1, 50)]
            write_bundle(tmp_path, content(*boxes))

    write_bundle(tmp_path, content())
    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    assert loaded and all(len(config.mailboxes) in (1, 49) for config in loaded)
    assert all("missing file" in reason for reason in refused), refused
    assert load_bundle(tmp_path).serial == max(int(p.name[1:]) for p in tmp_path.glob("v*"))
    assert not list(tmp_path.glob(".tmp-*"))


async def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_reloader_keeps_old_config_on_bad_bundle_and_swaps_in_good_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_bundle(tmp_path, content())
    holder = ConfigHolder(load_bundle(tmp_path))
    first = holder.current

    async def scenario() -> None:
        task = asyncio.create_task(watch(tmp_path, holder, interval=0.05))
        try:
            write_bundle(tmp_path, content())
            rewrite(tmp_path, "mailboxes.json", b"[]", fix_manifest=False)
            await wait_for(lambda: "rejected" in caplog.text)
            assert holder.current is first
            serial = write_bundle(tmp_path, content(replace(MAILBOX, password_hash="$argon2id$new")))
            await wait_for(lambda: holder.current.serial == serial)
            assert holder.current.mailbox("taro@example.jp").password_hash == "$argon2id$new"
        finally:
            task.cancel()

    with caplog.at_level(logging.INFO, logger="maild.bundle"):
        asyncio.run(scenario())
    assert "mailboxes.json" in caplog.text and f"serial {first.serial} stays in force" in caplog.text
    assert first.mailbox("taro@example.jp") == MAILBOX  # a connection's config never changes
    assert caplog.text.count("rejected") == 1  # each bad version is reported once, not per poll
