"""`maild archive purge`: drop entries older than each domain's retention, unless on legal hold.

Only a prefix of the chain is ever removed, so what remains still verifies: the purge row
records the last removed entry's number and hash, where the chain now starts. The panel imports
purge rows into its audit log (`flask archive import-purges`).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from maild.archive.journal import connect, domains, journal_path, now_iso, writing
from maild.config import Config
from maild.runtime import ConfigSource

log = logging.getLogger(__name__)
HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class Purged:
    domain: str
    entries: int
    bytes: int
    cutoff: str


def purge(root: Path, domain: str, retention_days: int, *, legal_hold: bool, now: datetime,
          hold_from: int | None = None) -> Purged | None:
    """Remove `domain`'s entries received before `now - retention_days`; None when nothing went.

    A retention of 0 days keeps everything (no plan limit); a legal hold keeps everything; a hold
    on search results keeps every entry from `hold_from` on.
    """
    path = journal_path(root, domain)
    if legal_hold or retention_days <= 0 or not path.is_file():
        return None
    cutoff = (now - timedelta(days=retention_days)).isoformat(timespec="microseconds")
    connection = connect(path)
    try:
        with writing(connection):
            # The prefix before the first entry young enough to keep (clocks can step back).
            keep = connection.execute("SELECT min(seq) FROM entry WHERE received_at >= ?", (cutoff,)).fetchone()[0]
            if hold_from is not None:
                keep = hold_from if keep is None else min(keep, hold_from)
            bound = "seq < ?" if keep is not None else "seq IS NOT NULL"
            params = (keep,) if keep is not None else ()
            last = connection.execute(
                f"SELECT seq, hash FROM entry WHERE {bound} ORDER BY seq DESC LIMIT 1", params).fetchone()
            if last is None:
                return None
            entries, stored = connection.execute(
                f"SELECT count(*), coalesce(sum(stored), 0) FROM entry WHERE {bound}", params).fetchone()
            for index in ("search", "pairs"):
                connection.execute(f"DELETE FROM {index} WHERE rowid IN (SELECT seq FROM entry WHERE {bound})", params)
            connection.execute(f"DELETE FROM entry WHERE {bound}", params)
            connection.execute(
                "INSERT INTO purge (at, cutoff, last_seq, last_hash, entries, bytes) VALUES (?, ?, ?, ?, ?, ?)",
                (now_iso(), cutoff, last[0], last[1], entries, stored),
            )
    finally:
        connection.close()
    return Purged(domain, int(entries), int(stored), cutoff)


def purge_all(root: Path, config: Config, now: datetime) -> list[str]:
    """One pass over every journal under `root` with the bundle's policies; a line per domain."""
    report = []
    for name in domains(root):
        domain = config.domains.get(name)
        if domain is None:  # moved to another node or deleted: its journal stays until an operator decides
            report.append(f"{name}: not in the bundle, kept")
        elif domain.legal_hold:
            report.append(f"{name}: legal hold, kept")
        else:
            done = purge(root, name, domain.archive_retention_days, legal_hold=False, now=now,
                         hold_from=domain.archive_hold_from)
            if done is not None:
                report.append(f"{name}: purged {done.entries} entries ({done.bytes} bytes) received before {done.cutoff}")
    return report


async def run_daily(configs: ConfigSource, root: Path) -> None:
    """The daemon's background service: one purge pass a day, the first an hour after start."""
    await asyncio.sleep(HOUR)
    while True:
        for line in await asyncio.to_thread(purge_all, root, configs.current, datetime.now(UTC)):
            log.info("archive %s", line)
        await asyncio.sleep(DAY)
