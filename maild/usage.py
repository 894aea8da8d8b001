"""Usage reports for the panel, written into the state directory, and quota warnings.

Every `Server.usage_interval` seconds the daemon writes a report of the mailboxes changed since
the last one (the ledger's journal), with messages in/out per domain and day and what cleanup
freed; at start and once a day a full snapshot of every mailbox. Reports are JSON files in
`<data>/usage/outbox/`, named so they sort in the order written; the panel collects and deletes
them (`flask usage collect`), or `maild usage push` sends them to the panel's API.

Report format (version 1)::

    {"version": 1, "node": "node1", "generated": "2026-11-28T13:00:00+00:00", "full": false,
     "mailboxes": [[id, bytes, messages], ...],
     "traffic": [[domain, "2026-11-28", messages_in, messages_out], ...],
     "cleanup": [[id, messages_freed, bytes_freed], ...],
     "warnings": [[id, 80 or 95], ...]}

Warnings: when a mailbox reaches 80% or 95% of its quota, its user gets one message saying so;
the level reached is remembered (`<data>/usage/warnings.json`) and re-armed when usage drops
below it, so each crossing warns once.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from maild.config import Config, Mailbox
from maild.i18n import bilingual, translations
from maild.ledger import Journal
from maild.runtime import ConfigSource
from maild.smtp.trace import return_path
from maild.store import Store, Usage

log = logging.getLogger(__name__)

REPORT_VERSION = 1
LEVELS = (95, 80)  # warning thresholds, percent of the quota, highest first
FULL_EVERY = 24 * 3600  # seconds between full snapshots


def warning_level(used: int, quota: int) -> int:
    """The highest threshold `used` has reached (0 for none, or for an unlimited quota)."""
    if quota <= 0:
        return 0
    return next((level for level in LEVELS if used * 100 >= quota * level), 0)


def warning_message(mailbox: Mailbox, level: int, used: int, hostname: str, language: str = "en") -> bytes:
    """The notice a user finds in INBOX when the mailbox reaches `level` percent (in the node's
    language, with English below)."""
    message = EmailMessage()
    message["From"] = f"Mail system <postmaster@{mailbox.domain}>"
    message["To"] = mailbox.address
    message["Subject"] = translations(language).gettext("Your mailbox is %(level)d%% full") % {"level": level}
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=hostname)
    message["Auto-Submitted"] = "auto-generated"
    values = {"address": mailbox.address, "used": f"{used:,}", "quota": f"{mailbox.quota_bytes:,}", "level": level}
    message.set_content(bilingual(language, lambda t: t.gettext(
        "Your mailbox %(address)s uses %(used)s of %(quota)s bytes (%(level)d%% or more).\n\n"
        "When it is full, new mail is refused. Delete old messages, empty Trash and Junk,\n"
        "or ask your administrator for more space.\n") % values))
    return message.as_bytes().replace(b"\n", b"\r\n")


class Warnings:
    """The warning level each mailbox last reached, kept in a small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            self.levels = {int(key): int(value) for key, value in loaded.items()}
        except FileNotFoundError:
            self.levels = {}
        except (ValueError, AttributeError):
            log.error("unreadable %s: warnings start afresh", path)
            self.levels = {}

    def crossed(self, mailbox: Mailbox, used: int) -> int:
        """The level newly reached (warn, then `record` it), or 0; re-arms levels usage fell below."""
        level = warning_level(used, mailbox.quota_bytes)
        previous = self.levels.get(mailbox.id, 0)
        if level < previous:
            self.record(mailbox, level)
        return level if level > previous else 0

    def record(self, mailbox: Mailbox, level: int) -> None:
        if level:
            self.levels[mailbox.id] = level
        else:
            self.levels.pop(mailbox.id, None)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({str(key): value for key, value in self.levels.items()}), encoding="utf-8")
        os.replace(tmp, self.path)


class Reporter:
    """Writes usage reports into `<data>/usage/outbox` and delivers quota warnings."""

    def __init__(self, configs: ConfigSource, store: Store, data_dir: Path) -> None:
        self.configs = configs
        self.store = store
        self.directory = data_dir / "usage"
        self.outbox = self.directory / "outbox"
        self.outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.warnings = Warnings(self.directory / "warnings.json")
        self._sequence = itertools.count()

    async def report(self, full: bool = False) -> Path | None:
        """Write one report (every mailbox if `full`, else those changed) and send due warnings.

        None when nothing changed since the last report (no file is written then).
        """
        config = self.configs.current
        journal = self.store.ledger.take()
        if not (full or journal.mailboxes or journal.traffic or journal.freed):
            return None
        try:
            mailboxes = self._mailboxes(config, journal, full)
            # A full report opens every counter once (a file read each): off the loop.
            rows = await asyncio.to_thread(lambda: [(box, self._usage(box)) for box in mailboxes])
            warned = await self._warn(config, [(box, usage.bytes) for box, usage in rows])
            if warned:  # the warnings themselves take space: report the usage after them
                rows = [(box, self._usage(box)) for box, _ in rows]
            body = {
                "version": REPORT_VERSION, "node": config.server.node,
                "generated": datetime.now(UTC).isoformat(timespec="seconds"), "full": full,
                "mailboxes": [[box.id, usage.bytes, usage.messages] for box, usage in rows],
                "traffic": [[domain, day, count_in, count_out]
                            for (domain, day), (count_in, count_out) in sorted(journal.traffic.items())],
                "cleanup": [[mailbox_id, freed.messages, freed.bytes] for mailbox_id, freed in sorted(journal.freed.items())],
                "warnings": [[box.id, level] for box, level in warned],
            }
            return await asyncio.to_thread(self._write, body)
        except BaseException:
            self.store.ledger.restore(journal)
            raise

    def _usage(self, mailbox: Mailbox) -> Usage:
        """The mailbox's usage; one never used (no Maildir yet) is empty and stays uncreated."""
        if self.store.maildir(mailbox).is_dir():
            return self.store.usage(mailbox)
        return Usage(0, 0)

    @staticmethod
    def _mailboxes(config: Config, journal: Journal, full: bool) -> list[Mailbox]:
        if full:
            return list(config.mailboxes.values())
        return [box for box in config.mailboxes.values() if box.id in journal.mailboxes]

    async def _warn(self, config: Config, usages: Iterable[tuple[Mailbox, int]]) -> list[tuple[Mailbox, int]]:
        """Deliver a warning to each mailbox that crossed a threshold; the (mailbox, level) warned."""
        warned = []
        levels_before = dict(self.warnings.levels)
        for box, used in usages:
            level = self.warnings.crossed(box, used)
            if level:
                notice = warning_message(box, level, used, config.server.hostname, config.server.language)
                await self.store.deliver(box, return_path("") + notice)  # from the system: <>
                self.warnings.record(box, level)  # only once delivered: a failed one is tried again
                warned.append((box, level))
                log.info("quota warning (%d%%) delivered to %s", level, box.address)
        if self.warnings.levels != levels_before:
            await asyncio.to_thread(self.warnings.save)
        return warned

    def _write(self, body: dict[str, Any]) -> Path:
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._sequence)}.json"
        tmp = self.outbox / f".{name}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(body, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        target = self.outbox / name
        os.replace(tmp, target)
        return target

    async def run(self) -> None:
        """The daemon's background service: a full report now and daily, changes in between."""
        last_full: float | None = None
        while True:
            full = last_full is None or time.monotonic() - last_full >= FULL_EVERY
            await self.report(full=full)
            if full:
                last_full = time.monotonic()
            await asyncio.sleep(max(1, self.configs.current.server.usage_interval))
