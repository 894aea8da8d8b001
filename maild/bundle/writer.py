"""Writing a node's bundle atomically: a reader sees the old version or the new one, never a mix.

Protocol (docs/bundle.md): under an exclusive lock on the node directory, write every file
into a temporary directory and fsync it, the manifest last; rename it to `v<serial>`; point a
new symlink at it and rename that over `current`; fsync the node directory; prune all but the
newest `KEEP` versions.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from maild.bundle.codec import ALIAS_CODEC, DOMAIN_CODEC, MAILBOX_CODEC, SERVER_CODEC
from maild.bundle.layout import (
    ALIASES, CURRENT, DOMAINS, LOCK_FILE, MAILBOXES, MANIFEST, SERVER, TEMP_PREFIX, version_name,
    version_serial,
)
from maild.config import SCHEMA_VERSION, Alias, Domain, Mailbox, Server
from maild.store.maildir import fsync_dir

KEEP = 2  # the version in force and the one before it, for a reader still on it


@dataclass(frozen=True)
class BundleContent:
    """Everything one node's daemon is told; the panel builds it from its database."""

    server: Server
    domains: Iterable[Domain]
    mailboxes: Iterable[Mailbox]
    aliases: Iterable[Alias]


def write_bundle(node_dir: str | os.PathLike[str], build: Callable[[], BundleContent]) -> int:
    """Write a new version of the bundle in `node_dir` and make it current; return its serial.

    `build` runs while this node's write lock is held, so when two writers race the one that
    writes last also read last: the bundle in force never goes back to older data.
    """
    node_dir = Path(node_dir)
    node_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(node_dir):
        content = build()
        bodies = {
            SERVER: _dump(SERVER_CODEC.encode(content.server)),
            DOMAINS: _dump([DOMAIN_CODEC.encode(d) for d in content.domains]),
            MAILBOXES: _dump([MAILBOX_CODEC.encode(m) for m in content.mailboxes]),
            ALIASES: _dump([ALIAS_CODEC.encode(a) for a in content.aliases]),
        }
        serial = _next_serial(node_dir)
        _remove_temporaries(node_dir)
        staging = node_dir / f"{TEMP_PREFIX}{version_name(serial)}"
        staging.mkdir(mode=0o700)
        for name, body in bodies.items():
            _write_synced(staging / name, body)
        manifest = {
            "schema": SCHEMA_VERSION,
            "serial": serial,
            "node": content.server.node,
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": {name: {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
                      for name, body in bodies.items()},
        }
        _write_synced(staging / MANIFEST, json.dumps(manifest, indent=2).encode())
        fsync_dir(staging)
        version = node_dir / version_name(serial)
        os.rename(staging, version)
        link = node_dir / f"{TEMP_PREFIX}{CURRENT}"
        link.unlink(missing_ok=True)
        os.symlink(version.name, link)
        os.replace(link, node_dir / CURRENT)
        fsync_dir(node_dir)
        _prune(node_dir)
    return serial


def _dump(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@contextmanager
def _locked(node_dir: Path) -> Iterator[None]:
    """Exclusive per-node lock across processes (gunicorn workers, the CLI)."""
    fd = os.open(node_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _versions(node_dir: Path) -> list[tuple[int, Path]]:
    found = [(version_serial(entry.name), entry) for entry in node_dir.iterdir() if entry.is_dir()]
    return sorted((serial, entry) for serial, entry in found if serial is not None)


def _next_serial(node_dir: Path) -> int:
    """Above every serial written here, and at least the time in ms.

    The clock floor keeps serials growing when the bundle directory is recreated while a
    daemon still runs an older serial; the +1 keeps them growing if the clock steps back.
    """
    versions = _versions(node_dir)
    previous = versions[-1][0] if versions else 0
    return max(previous + 1, time.time_ns() // 1_000_000)


def _remove_temporaries(node_dir: Path) -> None:
    """Leftovers of a writer that crashed: only a writer holding the lock creates them."""
    for entry in node_dir.glob(f"{TEMP_PREFIX}*"):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _prune(node_dir: Path) -> None:
    for _, entry in _versions(node_dir)[:-KEEP]:
        shutil.rmtree(entry)


def _write_synced(path: Path, body: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)

