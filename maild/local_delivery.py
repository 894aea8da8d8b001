"""Final delivery to one hosted mailbox: its forwarding, its store, its vacation reply.

SMTP calls `deliver` for each local recipient once the message is accepted. Forwarded copies go
to the outbound queue with a `Delivered-To:` line and, unless the sender is null or in a domain
hosted here, the sender rewritten into the mailbox's domain (SRS, `maild/srs.py`: the receiver's
SPF check passes and a bounce still reaches whoever sent the mail); a message already carrying this mailbox's `Delivered-To:` has looped
back and is stored instead of forwarded again (Postfix's rule). Both the store and the queue are
durable when this returns. The vacation reply comes after: a failure there is logged and never
turns an accepted message into an error.
"""
from __future__ import annotations

import asyncio
import logging
from email.message import Message

from maild import vacation
from maild.config import Mailbox
from maild.runtime import Runtime
from maild.smtp import routing

log = logging.getLogger(__name__)


def _looped(headers: Message, mailbox: Mailbox) -> bool:
    return any(str(value).strip().lower() == mailbox.address.lower()
               for value in headers.get_all("delivered-to", []))


async def deliver(runtime: Runtime, sender: str, mailbox: Mailbox, message: bytes) -> None:
    """Store and/or forward `message` for `mailbox` as it is configured, then answer if on vacation."""
    headers = vacation.headers_of(message) if mailbox.forward_to or mailbox.vacation else None
    forward = bool(mailbox.forward_to) and headers is not None and not _looped(headers, mailbox)
    work = []
    if not forward or mailbox.forward_keep_copy:
        work.append(runtime.store.deliver(mailbox, message))
    if forward:
        stamped = f"Delivered-To: {mailbox.address}\r\n".encode() + message
        work.append(send_on(runtime, sender, mailbox.address.rpartition("@")[2], list(mailbox.forward_to), stamped))
    await asyncio.gather(*work)
    if mailbox.vacation is not None and headers is not None:
        await _reply(runtime, sender, mailbox, headers)


async def send_on(runtime: Runtime, sender: str, forwarder: str | None, recipients: list[str], message: bytes) -> None:
    """Queue `message` for remote `recipients`; forwarded for the hosted domain `forwarder`, it
    leaves with an SRS sender unless `sender` is null or hosted here (its SPF names this node)."""
    if forwarder is not None and sender:
        try:
            normalized = routing.normalize(sender)
        except routing.Refused:
            normalized = None  # a sender no SRS address can carry goes out as it came
        if normalized is not None and routing.hosted_domain(runtime.config, normalized) is None:
            # The local part as it came: another forwarder's SRS hash in it may be case-sensitive.
            sender = runtime.srs.forward(f"{sender.rpartition('@')[0]}@{normalized.rpartition('@')[2]}", forwarder)
    await runtime.queue.enqueue(sender, recipients, message)


async def _reply(runtime: Runtime, sender: str, mailbox: Mailbox, headers: Message) -> None:
    memory = vacation.VacationMemory(runtime.data_dir / "vacation")
    try:
        reply = await asyncio.to_thread(vacation.answer, memory, mailbox, sender, headers)
        if reply is not None:
            # RFC 3834 3.3: the null envelope sender, so a bounce of the reply cannot loop.
            await runtime.queue.enqueue("", [sender], reply)
    except (OSError, ValueError):
        log.exception("vacation reply for %s failed", mailbox.address)
