"""Reading journals: search, one message, a streamed result set, usage. Used by the panel.

Every function takes the archive root (`<data>/archive`) and the domains the caller may see;
tenancy is the caller's job (the panel passes only the actor's domains). Connections are
read-only, so the panel can never alter a journal.
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from maild.archive.journal import DIRECTIONS, decompress, journal_path, open_readonly, recipients_of
from maild.archive.text import pairs

MIN_TERM = 3  # the trigram index cannot find shorter strings: those are scanned for
TEXT_COLUMNS = ("sender", "recipients", "subject", "body")


class QueryError(ValueError):
    """A search the index cannot answer; `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Query:
    """Every field optional; all given ones must match. Text fields match substrings, any case."""

    sender: str = ""
    recipient: str = ""
    subject: str = ""
    text: str = ""  # anywhere: addresses, subject, body
    direction: str = ""  # "", "in" or "out"
    since: date | None = None
    until: date | None = None  # inclusive

    def check(self) -> None:
        if self.direction and self.direction not in DIRECTIONS:
            raise QueryError("direction", "unknown direction")
        if self.since and self.until and self.since > self.until:
            raise QueryError("until", "the end date is before the start date")

    def selection(self) -> tuple[str, list[Any], str]:
        """`FROM ... WHERE ...` over `entry` (joined to the index when text is searched), parameters,
        and the column giving capture order.

        With text, the index drives in descending rowid order (= capture order), so the first page
        of a common word stops after 50 matches instead of collecting all of them.
        """
        self.check()
        clauses: list[str] = []
        params: list[Any] = []
        matches: list[str] = []
        for columns, value in ((("sender",), self.sender), (("recipients",), self.recipient),
                               (("subject",), self.subject), (TEXT_COLUMNS, self.text)):
            value = value.strip()
            if len(value) >= MIN_TERM:
                matches.append(f"{{{' '.join(columns)}}} : {_phrase(value)}")
            elif len(value) == 2 and pairs(value) == value and {"subject", "body"} & set(columns):
                clauses.append(_pair_clause(columns, value, params))  # two Japanese characters
            elif value:  # too short for trigrams: the indexed text is read row by row (ASCII case folded)
                found = " OR ".join(f"instr(lower(short.{column}), ?) > 0" for column in columns)
                clauses.append(f"EXISTS (SELECT 1 FROM search AS short WHERE short.rowid = entry.seq AND ({found}))")
                params.extend([value.lower()] * len(columns))
        if self.direction:
            clauses.append("entry.direction = ?")
            params.append(self.direction)
        if self.since:
            clauses.append("entry.received_at >= ?")
            params.append(self.since.isoformat())
        if self.until:
            clauses.append("entry.received_at < ?")
            params.append((self.until + timedelta(days=1)).isoformat())
        source, order = "entry", "entry.seq"
        if matches:
            source, order = "search JOIN entry ON entry.seq = search.rowid", "search.rowid"
            clauses.insert(0, "search MATCH ?")
            params.insert(0, " AND ".join(matches))
        return f" FROM {source}" + (" WHERE " + " AND ".join(clauses) if clauses else ""), params, order


def _pair_clause(columns: tuple[str, ...], value: str, params: list[Any]) -> str:
    """Two Japanese characters: the pair index for subject and body; addresses read from the entry
    row (whose message blob is not loaded for that)."""
    indexed = [column for column in columns if column in ("subject", "body")]
    clause = "entry.seq IN (SELECT rowid FROM pairs WHERE pairs MATCH ?)"
    params.append(f"{{{' '.join(indexed)}}} : {_phrase(value)}")
    for column in columns:
        if column in ("sender", "recipients"):
            clause += f" OR instr(lower(entry.{column}), ?) > 0"
            params.append(value.lower())
    return f"({clause})"


def _phrase(value: str) -> str:
    """An FTS5 string literal: the whole input as one substring, quotes doubled."""
    return '"' + value.replace('"', '""') + '"'


@dataclass(frozen=True)
class Hit:
    domain: str
    seq: int
    received_at: str
    direction: str
    sender: str
    recipients: tuple[str, ...]
    client_ip: str
    auth_user: str | None
    subject: str
    size: int
    hash: str


HIT_COLUMNS = ", ".join(f"entry.{column}" for column in (
    "seq", "received_at", "direction", "sender", "recipients", "client_ip", "auth_user", "subject", "size", "hash"))


def _hit(domain: str, row: tuple[Any, ...]) -> Hit:
    seq, received_at, direction, sender, recipients, client_ip, auth_user, subject, size, hashed = row
    return Hit(domain, seq, received_at, direction, sender, recipients_of(recipients), client_ip, auth_user,
               subject, size, hashed)


def _existing(root: Path, domains: Iterable[str]) -> list[str]:
    return [name for name in domains if journal_path(root, name).is_file()]


def count(root: Path, domains: Iterable[str], query: Query, *, at_most: int | None = None) -> int:
    """How many entries match; with `at_most`, counting stops there (a common word in a big archive)."""
    selection, params, _ = query.selection()
    inner = f"SELECT 1{selection}" + (f" LIMIT {int(at_most)}" if at_most is not None else "")
    total = 0
    for name in _existing(root, domains):
        with open_readonly(root, name) as connection:
            total += connection.execute(f"SELECT count(*) FROM ({inner})", params).fetchone()[0]
    return min(total, at_most) if at_most is not None else total


def first_match(root: Path, domain: str, query: Query) -> tuple[int, int] | None:
    """(lowest entry number, number of entries) matching `query` in `domain`; None if none."""
    if not journal_path(root, domain).is_file():
        return None
    selection, params, _ = query.selection()
    with open_readonly(root, domain) as connection:
        first, total = connection.execute(f"SELECT min(entry.seq), count(*){selection}", params).fetchone()
    return None if first is None else (int(first), int(total))


def _newest_first(root: Path, name: str, query: Query, limit: int | None,
                  extra: str = "") -> Iterator[tuple[Any, ...]]:
    """Rows of `name` matching `query`, newest (last captured) first; a cursor, one row at a time."""
    selection, params, order = query.selection()
    sql = f"SELECT {HIT_COLUMNS}{extra}{selection} ORDER BY {order} DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with open_readonly(root, name) as connection:
        yield from connection.execute(sql, params)


def search(root: Path, domains: Iterable[str], query: Query, *, offset: int = 0, limit: int = 50) -> list[Hit]:
    """One page of hits over all `domains`, newest first."""
    wanted = offset + limit
    streams = [(_hit(name, row) for row in _newest_first(root, name, query, wanted))
               for name in _existing(root, domains)]
    merged = heapq.merge(*streams, key=lambda hit: hit.received_at, reverse=True)
    return list(itertools.islice(merged, offset, wanted))


def matching(root: Path, domains: Iterable[str], query: Query) -> Iterator[tuple[Hit, bytes]]:
    """Every hit with its message bytes, domain by domain, newest first; one message in memory at a time."""
    query.check()
    for name in _existing(root, domains):
        for row in _newest_first(root, name, query, None, ", entry.message"):
            yield _hit(name, row[:-1]), decompress(row[-1])


def read_message(root: Path, domain: str, seq: int) -> tuple[Hit, bytes] | None:
    """One entry and its original bytes, or None if there is no such entry."""
    if not 0 < seq < 2**63 or not journal_path(root, domain).is_file():
        return None
    with open_readonly(root, domain) as connection:
        row = connection.execute(f"SELECT {HIT_COLUMNS}, message FROM entry WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        return None
    return _hit(domain, row[:-1]), decompress(row[-1])


@dataclass(frozen=True)
class Usage:
    messages: int
    bytes: int  # as stored (compressed), what the archive costs on disk


def usage(root: Path, domain: str) -> Usage:
    if not journal_path(root, domain).is_file():
        return Usage(0, 0)
    with open_readonly(root, domain) as connection:
        messages, stored = connection.execute("SELECT count(*), coalesce(sum(stored), 0) FROM entry").fetchone()
    return Usage(int(messages), int(stored))


@dataclass(frozen=True)
class PurgeRecord:
    domain: str
    id: int
    at: str
    cutoff: str
    last_seq: int
    entries: int
    bytes: int


def purges(root: Path, domain: str, *, after: int = 0) -> list[PurgeRecord]:
    """The purges of `domain` with an id above `after` (what the panel has not imported yet)."""
    if not journal_path(root, domain).is_file():
        return []
    with open_readonly(root, domain) as connection:
        rows = connection.execute(
            "SELECT id, at, cutoff, last_seq, entries, bytes FROM purge WHERE id > ? ORDER BY id", (after,)
        ).fetchall()
    return [PurgeRecord(domain, *row) for row in rows]

