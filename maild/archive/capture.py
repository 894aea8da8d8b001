"""Journaling at the SMTP door: called by the MX and submission handlers before their 250.

Inbound mail is journaled for each archiving domain among its recipients, as received from the
client (before any filtering); mail sent through submission is journaled "out" for the sender's
domain and "in" for any other archiving domain hosted here among its recipients. One entry per
message per domain, whatever the number of its recipients there.
"""
from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from maild.archive.journal import Envelope, Journal, now_iso
from maild.config import Config

ARCHIVE_DIR = "archive"


@lru_cache(maxsize=8)
def journal_for(data_dir: Path) -> Journal:
    """One Journal (its connections and locks) per data directory, shared by all listeners."""
    return Journal(data_dir / ARCHIVE_DIR)


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".")


def archiving_domains(config: Config, addresses: list[str] | tuple[str, ...]) -> list[str]:
    """Hosted domains with archiving among `addresses`, in first-seen order."""
    seen: dict[str, None] = {}
    for address in addresses:
        name = _domain_of(address)
        domain = config.domains.get(name)
        if domain is not None and domain.archive:
            seen.setdefault(name, None)
    return list(seen)


def targets(config: Config, envelope: Envelope) -> list[tuple[str, Envelope]]:
    """(domain, envelope as that domain sees it) for every journal the message goes to."""
    inbound = archiving_domains(config, envelope.recipients)
    if envelope.direction == "in":
        return [(name, envelope) for name in inbound]
    outbound = archiving_domains(config, [envelope.sender])
    received = replace(envelope, direction="in")
    return [(name, envelope) for name in outbound] + [(name, received) for name in inbound if name not in outbound]


async def capture(data_dir: Path, config: Config, envelope: Envelope, message: bytes) -> None:
    """Journal `message` wherever it belongs; durable (fsync) when this returns."""
    if not archiving_domains(config, [envelope.sender, *envelope.recipients]):
        return  # the usual case: spares stamping an envelope nobody journals
    work = targets(config, replace(envelope, received_at=envelope.received_at or now_iso()))
    journal = journal_for(data_dir)
    await asyncio.gather(*(asyncio.to_thread(journal.append, name, seen_as, message) for name, seen_as in work))
