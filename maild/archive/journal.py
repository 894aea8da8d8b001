"""The write-once journal of one domain: compressed entries, a hash chain and a full-text index.

Layout (docs/archive.md): `<data>/archive/<domain>/journal.sqlite`, one SQLite database per
domain so that a customer's archive can be searched, exported, held and purged on its own.

Each entry's hash covers its sequence number, envelope, the SHA-256 of the message bytes and
the previous entry's hash, so `verify` finds any modified, removed or reordered entry. The
entry, its index row and the chain advance are one transaction, committed with
`synchronous=FULL` (fsync) before `append` returns: the SMTP 250 comes after this.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from maild.archive.text import extract, pairs
from maild.store.maildir import fsync_dir

GENESIS = "0" * 64
DIRECTIONS = ("in", "out")
FILENAME = "journal.sqlite"
BUSY_TIMEOUT_MS = 30_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    auth_user TEXT,
    subject TEXT NOT NULL,
    size INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    message BLOB NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entry_received ON entry (received_at);
CREATE TABLE IF NOT EXISTS purge (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    cutoff TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL,
    entries INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (
    sender, recipients, subject, date, direction, body, tokenize = 'trigram'
);
CREATE VIRTUAL TABLE IF NOT EXISTS pairs USING fts5 (subject, body, tokenize = 'unicode61');
"""


@dataclass(frozen=True)
class Envelope:
    """What the SMTP transaction said about a message (the header may say otherwise)."""

    direction: str  # "in" (received at MX) or "out" (sent through submission)
    sender: str  # "" for the null sender
    recipients: tuple[str, ...]
    client_ip: str
    auth_user: str | None = None
    received_at: str = ""  # ISO 8601 UTC; now when empty


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def entry_hash(seq: int, envelope: Envelope, message_sha256: str, prev_hash: str) -> str:
    """The chained hash of one entry (canonical JSON: the same on every machine)."""
    canonical = json.dumps(
        {"seq": seq, "received_at": envelope.received_at, "direction": envelope.direction,
         "sender": envelope.sender, "recipients": list(envelope.recipients), "client_ip": envelope.client_ip,
         "auth_user": envelope.auth_user, "message_sha256": message_sha256, "prev": prev_hash},
        sort_keys=True, ensure_ascii=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def journal_path(root: Path, domain: str) -> Path:
    """`root` is `<data>/archive`; domain names are lower-case IDNA (no path separators)."""
    name = domain.lower()
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"not a domain name: {domain!r}")
    return root / name / FILENAME


def connect(path: Path, *, readonly: bool = False, durable: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL and full fsync.

    `durable=False` skips the fsync per commit: only for bulk loads that can be redone (benchmarks).
    """
    if readonly:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                     check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if not readonly:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {'FULL' if durable else 'OFF'}")
        connection.executescript(SCHEMA)
    return connection


@contextmanager
def writing(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken before reading the chain head so writers serialise."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def chain_head(connection: sqlite3.Connection) -> tuple[int, str]:
    """(last sequence number ever used, hash the next entry chains to)."""
    row = connection.execute("SELECT seq, hash FROM entry ORDER BY seq DESC LIMIT 1").fetchone()
    if row:
        return int(row[0]), str(row[1])
    purged = connection.execute("SELECT last_seq, last_hash FROM purge ORDER BY id DESC LIMIT 1").fetchone()
    return (int(purged[0]), str(purged[1])) if purged else (0, GENESIS)


class Journal:
    """Appends to the journals under `root`; one connection per domain, shared by threads."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        self.durable = durable
        self._connections: dict[str, sqlite3.Connection] = {}
        self._lock = threading.Lock()
        self._domain_locks: dict[str, threading.Lock] = {}

    def _connection(self, domain: str) -> sqlite3.Connection:
        with self._lock:
            if domain not in self._connections:
                path = journal_path(self.root, domain)
                created = not path.exists()
                self._connections[domain] = connect(path, durable=self.durable)
                if created and self.durable:  # the new file's name must survive a crash too
                    for directory in (path.parent, self.root):
                        fsync_dir(directory)
            return self._connections[domain]

    def append(self, domain: str, envelope: Envelope, message: bytes) -> int:
        """Journal `message` for `domain`; durable when this returns its sequence number."""
        if envelope.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")
        if not envelope.received_at:
            envelope = replace(envelope, received_at=now_iso())
        text = extract(message)
        compressed = zlib.compress(message, 6)
        digest = hashlib.sha256(message).hexdigest()
        connection = self._connection(domain)
        with self._lock_for(domain), writing(connection):
            last_seq, prev_hash = chain_head(connection)
            seq = max(last_seq, _sequence(connection)) + 1
            hashed = entry_hash(seq, envelope, digest, prev_hash)
            recipients = json.dumps(list(envelope.recipients))
            connection.execute(
                "INSERT INTO entry (seq, received_at, direction, sender, recipients, client_ip, auth_user, subject,"
                " size, stored, message, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, envelope.received_at, envelope.direction, envelope.sender, recipients, envelope.client_ip,
                 envelope.auth_user, text.subject, len(message), len(compressed), compressed, prev_hash, hashed),
            )
            connection.execute(
                "INSERT INTO search (rowid, sender, recipients, subject, date, direction, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, envelope.sender, " ".join(envelope.recipients), text.subject, envelope.received_at[:10],
                 envelope.direction, text.body),
            )
            connection.execute("INSERT INTO pairs (rowid, subject, body) VALUES (?, ?, ?)",
                               (seq, pairs(text.subject), pairs(text.body)))
        return seq

    def _lock_for(self, domain: str) -> threading.Lock:
        """Threads of this process queue here instead of spinning on SQLite's busy handler."""
        with self._lock:
            return self._domain_locks.setdefault(domain, threading.Lock())

    def close(self) -> None:
        with self._lock:
            for connection in self._connections.values():
                connection.close()
            self._connections.clear()


def _sequence(connection: sqlite3.Connection) -> int:
    """The AUTOINCREMENT high-water mark: numbers are never reused, even after the last is removed."""
    row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entry'").fetchone()
    return int(row[0]) if row else 0


def domains(root: Path) -> list[str]:
    """Domains with a journal under `root`."""
    if not root.is_dir():
        return []
    return sorted(path.parent.name for path in root.glob(f"*/{FILENAME}"))


def open_readonly(root: Path, domain: str) -> closing[sqlite3.Connection]:
    return closing(connect(journal_path(root, domain), readonly=True))


def decompress(blob: bytes) -> bytes:
    return zlib.decompress(blob)


def recipients_of(text: str) -> Sequence[str]:
    return tuple(json.loads(text))
