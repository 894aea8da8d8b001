"""Final delivery to one hosted mailbox: its forwarding, its store, its vacation reply.

SMTP calls `deliver` for each local recipient once the message is accepted. The stored copy gets
the `Return-Path:` line of final delivery (RFC 5321 4.4), as Dovecot's delivery adds it.
Forwarded copies go to the outbound queue without it, with a `Delivered-To:` line and, unless
the sender is null or in a domain hosted here, the sender rewritten into the mailbox's domain
(SRS, `maild/srs.py`: the receiver's SPF check passes and a bounce still reaches whoever sent
the mail). A message already carrying this mailbox's `Delivered-To:` has looped back and is
stored instead of forwarded again (Postfix's rule). Both the store and the queue are durable
when this returns. The vacation reply comes after: a failure there is logged and never turns an
accepted message into an error.
"""
from __future__ import annotations

import asyncio
import logging
from email.message import Message

from maild import srs, vacation
from maild.config import Config, Mailbox
from maild.runtime import Runtime
from maild.smtp import routing, trace

log = logging.getLogger(__name__)


def _looped(headers: Message, mailbox: Mailbox) -> bool:
    return any(str(value).strip().lower() == mailbox.address.lower()
               for value in headers.get_all("delivered-to", []))


async def deliver(runtime: Runtime, sender: str, mailbox: Mailbox, message: bytes, stored: bytes | None = None) -> None:
    """Store and/or forward `message` for `mailbox` as it is configured, then answer if on vacation.

    `stored` is `message` with its Return-Path line, when the caller has made it already."""
    headers = vacation.headers_of(message) if mailbox.forward_to or mailbox.vacation else None
    forward = bool(mailbox.forward_to) and headers is not None and not _looped(headers, mailbox)
    work = []
    if not forward or mailbox.forward_keep_copy:
        work.append(runtime.store.deliver(mailbox, stored or trace.return_path(sender) + message))
    if forward:
        stamped = f"Delivered-To: {mailbox.address}\r\n".encode() + message
        work.append(send_on(runtime, sender, mailbox.address.rpartition("@")[2], list(mailbox.forward_to), stamped))
    await asyncio.gather(*work)
    if mailbox.vacation is not None and headers is not None:
        await _reply(runtime, sender, mailbox, headers)


async def send_on(runtime: Runtime, sender: str, forwarder: str | None, recipients: list[str], message: bytes) -> None:
    """Queue `message` for `recipients`. Forwarded for the hosted domain `forwarder`, the copies for
    other servers leave with an SRS sender, unless `sender` is null, hosted here (its SPF names
    this node) or not a plain address."""
    recipients = _final_recipients(runtime.config, recipients)
    rewritten = _forwarding_sender(runtime, sender, forwarder)
    outside = recipients if rewritten == sender else [
        address for address in recipients if not _hosted(runtime.config, address)]
    inside = [address for address in recipients if address not in outside]
    await asyncio.gather(*(runtime.queue.enqueue(who, group, message)
                           for who, group in ((rewritten, outside), (sender, inside)) if group))


def _final_recipients(config: Config, recipients: list[str]) -> list[str]:
    """`recipients` with aliases and catch-alls of domains hosted here resolved to their mailboxes
    and outside addresses, which is what the queue delivers to (an address leading nowhere stays,
    for the queue to bounce)."""
    final: dict[str, None] = {}
    for address in recipients:
        normalized = _normalized(address)
        route = routing.Route()
        if normalized is not None and routing.hosted_domain(config, normalized) and not config.mailbox(normalized):
            route = routing.destinations(config, normalized)
        targets = ([box.address for box in route.local] + list(route.remote)) or [address]
        final.update(dict.fromkeys(targets))
    return list(final)


def _normalized(address: str) -> str | None:
    """`address` with its domain as IDNA, lower-case; None if it cannot be written so."""
    try:
        return routing.normalize(address)
    except routing.Refused:
        return None


def _hosted(config: Config, address: str) -> bool:
    normalized = _normalized(address)
    return normalized is not None and routing.hosted_domain(config, normalized) is not None


def _forwarding_sender(runtime: Runtime, sender: str, forwarder: str | None) -> str:
    normalized = _normalized(sender) if forwarder is not None and sender else None
    if forwarder is None or normalized is None or routing.hosted_domain(runtime.config, normalized) is not None:
        return sender
    plain = f"{sender.rpartition('@')[0]}@{normalized.rpartition('@')[2]}"  # local part as it came
    return runtime.srs.forward(plain, forwarder) if srs.rewritable(plain) else sender


async def _reply(runtime: Runtime, sender: str, mailbox: Mailbox, headers: Message) -> None:
    memory = vacation.VacationMemory(runtime.data_dir / "vacation")
    try:
        reply = await asyncio.to_thread(vacation.answer, memory, mailbox, sender, headers)
        if reply is not None:
            # RFC 3834 3.3: the null envelope sender, so a bounce of the reply cannot loop.
            await runtime.queue.enqueue("", [sender], reply)
    except (OSError, ValueError):
        log.exception("vacation reply for %s failed", mailbox.address)
