"""The queue on disk: one message file and one envelope file per queued message.

Layout under the queue directory::

    tmp/                 files being written (emptied at start-up: never acknowledged)
    messages/<id>.eml    the message bytes, as accepted
    envelopes/<id>.json  sender, arrival, attempts, next attempt, per-recipient state
    corrupt/             envelopes that could not be read, set aside for an operator

Every write goes tmp -> fsync -> rename -> fsync of the directory. The envelope is the commit
point: a message counts as queued once its envelope is in `envelopes/`, and is removed by deleting
the envelope first. A message file without an envelope is debris from a crash and is deleted at
start-up. All methods block (file I/O and fsync): the worker calls them through a thread.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from maild.queue.outcome import Outcome
from maild.store.maildir import fsync_dir

log = logging.getLogger("maild.queue")

PENDING = "pending"  # still to be delivered
DELIVERED = "delivered"  # a server (or the local store) accepted it: never sent again
FAILED = "failed"  # given up (permanent failure or expiry), bounce not yet sent
REPORTED = "reported"  # failed and the bounce is queued (or the sender was <>)


@dataclass
class Recipient:
    address: str
    state: str = PENDING
    outcome: Outcome | None = None  # the latest attempt's result

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Recipient:
        outcome = data.get("outcome")
        return cls(
            address=str(data["address"]),
            state=str(data["state"]),
            outcome=Outcome(**outcome) if isinstance(outcome, dict) else None,
        )


@dataclass
class Envelope:
    id: str
    sender: str  # "" is the null sender <> (bounces): never bounced back
    recipients: list[Recipient]
    arrival: float  # epoch seconds
    next_attempt: float
    attempts: int = 0
    last_attempt: float | None = None
    size: int = 0
    warned: bool = False  # the sender was told the mail is delayed

    def recipients_in(self, state: str) -> list[Recipient]:
        return [recipient for recipient in self.recipients if recipient.state == state]

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Envelope:
        fields = dict(data)
        fields["recipients"] = [Recipient.from_json(r) for r in data["recipients"]]  # type: ignore[attr-defined]
        return cls(**fields)  # type: ignore[arg-type]


def new_id() -> str:
    """Sortable by arrival (microseconds, hex) and unique (random suffix)."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(4)}"


@dataclass
class Spool:
    root: Path
    tmp: Path = field(init=False)
    messages: Path = field(init=False)
    envelopes: Path = field(init=False)
    corrupt: Path = field(init=False)

    def __post_init__(self) -> None:
        self.tmp = self.root / "tmp"
        self.messages = self.root / "messages"
        self.envelopes = self.root / "envelopes"
        self.corrupt = self.root / "corrupt"
        for directory in (self.tmp, self.messages, self.envelopes, self.corrupt):
            directory.mkdir(parents=True, exist_ok=True)

    def _message(self, message_id: str) -> Path:
        return self.messages / f"{message_id}.eml"

    def _envelope(self, message_id: str) -> Path:
        return self.envelopes / f"{message_id}.json"

    def _write(self, target: Path, data: bytes) -> None:
        """Atomically replace `target` with `data`, durable when this returns."""
        scratch = self.tmp / f"{target.name}.{secrets.token_hex(4)}"
        with open(scratch, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(scratch, target)
        fsync_dir(target.parent)

    def store(self, envelope: Envelope, data: bytes) -> None:
        """Queue a new message: durable when this returns."""
        self._write(self._message(envelope.id), data)
        self.save(envelope)

    def save(self, envelope: Envelope) -> None:
        self._write(self._envelope(envelope.id), json.dumps(asdict(envelope)).encode())

    def read(self, message_id: str) -> bytes:
        return self._message(message_id).read_bytes()

    def remove(self, message_id: str) -> None:
        """Dequeue: the envelope goes first, so a crash leaves only debris, never a half message."""
        self._envelope(message_id).unlink(missing_ok=True)
        fsync_dir(self.envelopes)
        self._message(message_id).unlink(missing_ok=True)
        fsync_dir(self.messages)

    def recover(self) -> list[Envelope]:
        """Every queued envelope, after clearing what a crash left half-written.

        Call once at start-up, before any `store` runs: a message file without an envelope is
        only an unfinished `store` then. An unreadable envelope is moved to `corrupt/` with its
        message and logged; nothing is deleted that was ever acknowledged.
        """
        for leftover in self.tmp.iterdir():
            leftover.unlink()
        envelopes: list[Envelope] = []
        for path in sorted(self.envelopes.glob("*.json")):
            message = self._message(path.stem)
            try:
                envelope = Envelope.from_json(json.loads(path.read_bytes()))
                if not message.exists():
                    raise ValueError("its message file is missing")
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                log.error("queue: envelope %s set aside in %s: %s", path.name, self.corrupt, error)
                os.replace(path, self.corrupt / path.name)
                if message.exists():
                    os.replace(message, self.corrupt / message.name)
                continue
            envelopes.append(envelope)
        known = {envelope.id for envelope in envelopes}
        for message in self.messages.glob("*.eml"):
            if message.stem not in known:
                message.unlink()
        fsync_dir(self.messages)
        return envelopes
