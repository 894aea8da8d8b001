"""`maild archive verify`: recompute every entry's hash and check the chain from end to end.

Modified content or envelope changes an entry's hash; a removed entry leaves a gap in the
sequence and a broken link; reordered entries break the links and the hashes (the sequence
number is hashed). The last entry's removal shows against SQLite's AUTOINCREMENT high-water
mark, which a purge records too.
"""
from __future__ import annotations

import hashlib
import sqlite3
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from maild.archive.journal import (
    GENESIS, Envelope, decompress, entry_hash, journal_path, open_readonly, recipients_of,
)


@dataclass
class Report:
    domain: str
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _start(connection: sqlite3.Connection) -> tuple[int, str]:
    """Where the chain begins: after the last purge, or at the genesis hash."""
    row = connection.execute("SELECT last_seq, last_hash FROM purge ORDER BY id DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def verify(root: Path, domain: str) -> Report:
    report = Report(domain)
    if not journal_path(root, domain).is_file():
        report.problems.append("no journal")
        return report
    with open_readonly(root, domain) as connection:
        last_seq, prev_hash = _start(connection)
        rows = connection.execute(
            "SELECT seq, received_at, direction, sender, recipients, client_ip, auth_user, size, message,"
            " prev_hash, hash FROM entry ORDER BY rowid"
        )
        for seq, received_at, direction, sender, recipients, client_ip, auth_user, size, blob, stored_prev, stored in rows:
            report.entries += 1
            if seq != last_seq + 1:
                report.problems.append(f"entry {seq}: expected entry {last_seq + 1} (removed or reordered)")
            if stored_prev != prev_hash:
                report.problems.append(f"entry {seq}: does not chain to the entry before it")
            try:
                message = decompress(blob)
            except zlib.error as error:  # a damaged blob is a finding, not a crash
                report.problems.append(f"entry {seq}: unreadable message ({error})")
                message = b""
            envelope = Envelope(direction, sender, tuple(recipients_of(recipients)), client_ip, auth_user, received_at)
            expected = entry_hash(seq, envelope, hashlib.sha256(message).hexdigest(), stored_prev)
            if expected != stored or len(message) != size:
                report.problems.append(f"entry {seq}: content or envelope modified (hash mismatch)")
            last_seq, prev_hash = seq, stored
        high = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entry'").fetchone()
    if high and int(high[0]) > last_seq:
        report.problems.append(f"entries {last_seq + 1}-{high[0]} removed from the end")
    return report
