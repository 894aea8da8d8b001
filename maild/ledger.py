"""What usage reports and pooled storage need, kept as the store changes: no scans per delivery.

Every mailbox's quota counter tells the ledger its usage when it is opened and each delta after
that (from worker threads, hence the lock). The ledger keeps, per customer, the real bytes
stored by all its mailboxes (the pool), the mailboxes changed since the last report (the
journal), messages in and out per domain and day, and what cleanup freed.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from maild.config import Mailbox

Observer = Callable[[int, int], None]


def today() -> str:
    return datetime.now(UTC).date().isoformat()


@dataclass(frozen=True)
class Freed:
    """What one cleanup run removed from one mailbox."""

    messages: int
    bytes: int


@dataclass(frozen=True)
class Journal:
    """What changed since the previous report; taking it starts a new one."""

    mailboxes: frozenset[int]
    traffic: dict[tuple[str, str], tuple[int, int]]  # (domain, day) -> (in, out)
    freed: dict[int, Freed]


class UsageLedger:
    """Per-customer real usage, and the journal of changes for the next usage report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool_bytes: Counter[int] = Counter()
        self._owner: dict[int, int] = {}  # mailbox id -> customer id, for mailboxes counted
        self._dirty: set[int] = set()
        self._in: Counter[tuple[str, str]] = Counter()
        self._out: Counter[tuple[str, str]] = Counter()
        self._freed: dict[int, Freed] = {}

    def opened(self, mailbox: Mailbox, used_bytes: int) -> Observer:
        """Count a mailbox whose counter was just opened; returns the observer for its deltas."""
        with self._lock:
            if self._owner.get(mailbox.id) is None:
                self._owner[mailbox.id] = mailbox.customer_id
                self._pool_bytes[mailbox.customer_id] += used_bytes

        def changed(size: int, count: int) -> None:
            with self._lock:
                self._pool_bytes[mailbox.customer_id] += size
                self._dirty.add(mailbox.id)

        return changed

    def counted(self, mailbox: Mailbox) -> bool:
        return mailbox.id in self._owner

    def pool_used(self, customer_id: int) -> int:
        """Real bytes stored by the customer's mailboxes counted so far (see `Store.pool_full`)."""
        return self._pool_bytes[customer_id]

    def delivered(self, mailboxes: Iterable[Mailbox], sender_domain: str | None) -> None:
        """One message in for each recipient domain here, one out for a hosted sender with remote recipients."""
        day = today()
        with self._lock:
            for domain in {box.domain for box in mailboxes}:
                self._in[(domain, day)] += 1
            if sender_domain:
                self._out[(sender_domain, day)] += 1

    def cleaned(self, mailbox: Mailbox, freed: Freed) -> None:
        with self._lock:
            self._add_freed(mailbox.id, freed)
            self._dirty.add(mailbox.id)

    def _add_freed(self, mailbox_id: int, freed: Freed) -> None:
        previous = self._freed.get(mailbox_id, Freed(0, 0))
        self._freed[mailbox_id] = Freed(previous.messages + freed.messages, previous.bytes + freed.bytes)

    def take(self) -> Journal:
        """Everything recorded since the last call, and start afresh."""
        with self._lock:
            keys = set(self._in) | set(self._out)
            journal = Journal(frozenset(self._dirty), {key: (self._in[key], self._out[key]) for key in keys},
                              dict(self._freed))
            self._dirty, self._freed = set(), {}
            self._in.clear()
            self._out.clear()
            return journal

    def restore(self, journal: Journal) -> None:
        """Put back a journal whose report could not be written, so nothing is lost."""
        with self._lock:
            self._dirty |= journal.mailboxes
            for key, (count_in, count_out) in journal.traffic.items():
                self._in[key] += count_in
                self._out[key] += count_out
            for mailbox_id, freed in journal.freed.items():
                self._add_freed(mailbox_id, freed)
