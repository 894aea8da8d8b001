"""Vacation auto-replies by the rules of RFC 3834.

A reply goes only to a person who wrote to the mailbox directly: never to the null sender or a
mailer daemon (bounces), never to mailing lists (List-* headers, Precedence bulk/list/junk), never
to mail that is itself automatic (Auto-Submitted other than "no"), nor when the sender asks
for none (Exchange's X-Auto-Response-Suppress), and only when the mailbox's own
address is in To or Cc. Each sender gets at most one reply per `interval_days`; who was answered
when is remembered on disk (one small file per sender), so restarts do not repeat replies.
Changing the vacation message starts a fresh memory, as users expect from Sieve's vacation.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import time
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path

from maild.config import Mailbox, Vacation

LIST_HEADERS = ("list-id", "list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner",
                "list-archive")
BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
# Local parts that are software, not people (RFC 3834 section 2, Sieve vacation's list).
AUTOMATIC_SENDERS = ("mailer-daemon", "postmaster", "listserv", "majordomo", "owner-", "-request",
                     "no-reply", "noreply")
MAX_REFERENCES = 20


def headers_of(message: bytes) -> Message:
    """The header block of `message`, parsed leniently (hostile input never raises)."""
    return BytesHeaderParser().parsebytes(message)


def _active(vacation: Vacation, today: dt.date) -> bool:
    today_text = today.isoformat()
    return (not vacation.start or vacation.start <= today_text) and (not vacation.end or today_text <= vacation.end)


def _automatic_sender(sender: str) -> bool:
    local = sender.rpartition("@")[0].lower()
    return any(local.startswith(name) if name.endswith("-") else
               local.endswith(name) if name.startswith("-") else local == name
               for name in AUTOMATIC_SENDERS)


def _addressed_to(headers: Message, address: str) -> bool:
    fields = [str(value) for name in ("to", "cc") for value in headers.get_all(name, [])]
    return any(found.lower() == address.lower() for _, found in getaddresses(fields))


def should_reply(mailbox: Mailbox, sender: str, headers: Message, today: dt.date) -> bool:
    """Whether RFC 3834 lets this message be answered (the per-sender memory aside)."""
    vacation = mailbox.vacation
    if vacation is None or not _active(vacation, today):
        return False
    if not sender or _automatic_sender(sender) or sender.lower() == mailbox.address.lower():
        return False
    auto_submitted = str(headers.get("auto-submitted", "no")).split(";")[0].strip().lower()
    if auto_submitted != "no":
        return False
    if str(headers.get("precedence", "")).strip().lower() in BULK_PRECEDENCE:
        return False
    if any(name in headers for name in LIST_HEADERS):
        return False
    suppress = str(headers.get("x-auto-response-suppress", "")).lower()
    if "oof" in suppress or "all" in suppress:  # Exchange's way of asking for no out-of-office reply
        return False
    return _addressed_to(headers, mailbox.address)


def build_reply(mailbox: Mailbox, sender: str, headers: Message) -> bytes:
    """The auto-reply: from the mailbox to the sender, threaded to the original (RFC 3834 3.1)."""
    vacation = mailbox.vacation
    assert vacation is not None
    reply = EmailMessage()
    reply["From"] = mailbox.address
    reply["To"] = sender
    reply["Subject"] = vacation.subject
    reply["Date"] = formatdate(localtime=False)
    reply["Message-ID"] = make_msgid(domain=mailbox.domain)
    reply["Auto-Submitted"] = "auto-replied"
    original_id = str(headers.get("message-id", "")).strip()
    if original_id.startswith("<") and original_id.endswith(">") and "\n" not in original_id:
        reply["In-Reply-To"] = original_id
        earlier = str(headers.get("references", "")).split()[-MAX_REFERENCES:]
        reply["References"] = " ".join([*earlier, original_id])
    # Quoted-printable keeps the reply 7-bit, so any relay takes it (no 8BITMIME needed).
    reply.set_content(vacation.body, cte="quoted-printable")
    return reply.as_bytes(policy=reply.policy.clone(linesep="\r\n"))


class VacationMemory:
    """Who was answered when, one file per (mailbox, vacation message, sender) under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _directory(self, mailbox: Mailbox) -> Path:
        vacation = mailbox.vacation
        assert vacation is not None
        digest = hashlib.sha256(f"{vacation.subject}\0{vacation.body}\0{vacation.start}".encode()).hexdigest()[:16]
        directory = self.root / f"{mailbox.id}-{digest}"
        if not directory.is_dir():
            # A new message: forget whom the previous one answered.
            for old in self.root.glob(f"{mailbox.id}-*"):
                shutil.rmtree(old, ignore_errors=True)
            directory.mkdir(parents=True, exist_ok=True)
        return directory

    def claim(self, mailbox: Mailbox, sender: str, now: float | None = None) -> bool:
        """True (and remembered) if `sender` was not answered within the interval; else False."""
        vacation = mailbox.vacation
        assert vacation is not None
        now = time.time() if now is None else now
        path = self._directory(mailbox) / hashlib.sha256(sender.lower().encode()).hexdigest()
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            if path.stat().st_mtime > now - vacation.interval_days * 86400:
                return False
        os.utime(path, (now, now))
        return True


def answer(memory: VacationMemory, mailbox: Mailbox, sender: str, headers: Message,
           today: dt.date | None = None) -> bytes | None:
    """The auto-reply owed for a message with `headers`, or None; blocking (disk): run it off the loop."""
    if not should_reply(mailbox, sender, headers, today or dt.date.today()):
        return None
    if not memory.claim(mailbox, sender):
        return None
    return build_reply(mailbox, sender, headers)
