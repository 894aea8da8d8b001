"""The outbound queue: durable `enqueue`, and the asyncio worker that delivers and retries.

Each attempt groups a message's pending recipients by domain (one SMTP transaction per domain;
recipients with a mailbox on this node go straight into the store instead), runs the groups
concurrently under a bound on simultaneous deliveries, and records every recipient's outcome on
disk as soon as its group finishes, so a recipient that accepted is never sent the message again.
Temporary failures are retried with exponential backoff (`Server.queue_retry_base`, doubling, at
most `MAX_BACKOFF`) until `Server.queue_lifetime` has passed since arrival; permanent failures
and expired recipients get an RFC 3464 bounce to the envelope sender, itself queued with the
null sender (and never sent for a null-sender message; for a sender this node rewrote when
forwarding, straight to the original sender). Mail still pending
`Server.queue_delay_warning` seconds after arrival earns the sender one "delayed" report.

Wiring in the daemon::

    queue = Queue(data_dir / "queue", holder, store=store, srs=srs)  # recovers the spool: before serving
    worker = asyncio.create_task(queue.run())                  # cancel it to stop
    await queue.enqueue(sender, recipients, data)              # from SMTP, durable on return
"""
from __future__ import annotations

import asyncio
import heapq
import logging
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from maild.config import Config, Mailbox, Server
from maild.queue import smtp_client
from maild.queue.dsn import Notice, build_report
from maild.queue.outcome import LOCAL_ERROR, MAILBOX_FULL, MAILBOX_UNAVAILABLE, SUCCESS, Outcome
from maild.queue.routing import RouteError, Router
from maild.queue.spool import DELIVERED, FAILED, PENDING, REPORTED, Envelope, Recipient, Spool, new_id
from maild.runtime import ConfigSource, MailStore
from maild.smtp.trace import return_path
from maild.store.quota import over_quota
from maild.srs import InvalidAddress, Srs, is_srs

log = logging.getLogger("maild.queue")

MAX_BACKOFF = 4000.0  # seconds between retries at most (Postfix's maximal_backoff_time)
_BAD_ADDRESS = re.compile(r"[\x00-\x1f\x7f<>]")  # control characters (CR, LF...) and brackets


def _check_address(address: str, *, recipient: bool) -> None:
    """Refuse what cannot be routed or could smuggle SMTP commands; `<>` is a valid sender."""
    if not address and not recipient:
        return
    local, _, domain = address.rpartition("@")
    if not local or not domain or _BAD_ADDRESS.search(address):
        raise ValueError(f"not a mail address: {address!r}")


def backoff(server: Server, attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt."""
    return min(server.queue_retry_base * 2 ** (attempts - 1), MAX_BACKOFF)


class Queue:
    """The durable outbound queue and its delivery worker (see the module docstring)."""

    def __init__(self, directory: Path, configs: ConfigSource, *, store: MailStore | None = None,
                 srs: Srs | None = None, concurrency: int = 20, smtp_timeout: float = 300.0) -> None:
        self.spool = Spool(directory)
        self.srs = srs
        self.configs = configs
        self.store = store
        self.smtp_timeout = smtp_timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._envelopes = {envelope.id: envelope for envelope in self.spool.recover()}
        self._due = [(envelope.next_attempt, envelope.id) for envelope in self._envelopes.values()]
        heapq.heapify(self._due)
        self._active: set[str] = set()
        self._wakeup = asyncio.Event()
        self._router: tuple[Server, Router] | None = None

    def __len__(self) -> int:
        """Messages in the queue (being delivered or waiting for a retry)."""
        return len(self._envelopes)

    def envelopes(self) -> list[Envelope]:
        """The queued messages' envelopes, oldest first (for listing; do not modify)."""
        return sorted(self._envelopes.values(), key=lambda envelope: envelope.id)

    async def enqueue(self, sender: str, recipients: Sequence[str], data: bytes) -> str:
        """Queue `data` for `recipients`; durable on disk when this returns. The queue id."""
        _check_address(sender, recipient=False)
        if not recipients:
            raise ValueError("a message needs at least one recipient")
        for address in recipients:
            _check_address(address, recipient=True)
        now = time.time()
        envelope = Envelope(
            id=new_id(), sender=sender, recipients=[Recipient(address) for address in recipients],
            arrival=now, next_attempt=now, size=len(data),
        )
        await asyncio.to_thread(self.spool.store, envelope, data)
        log.info("queue: %s: from=<%s> size=%d nrcpt=%d queued", envelope.id, sender, len(data),
                 len(recipients))
        self._schedule(envelope)
        return envelope.id

    def flush(self) -> None:
        """Retry every deferred message now (like `postqueue -f`), e.g. after a remote outage."""
        now = time.time()
        for envelope in self._envelopes.values():
            if envelope.id not in self._active:
                envelope.next_attempt = now
                heapq.heappush(self._due, (now, envelope.id))
        self._wakeup.set()

    def _schedule(self, envelope: Envelope) -> None:
        self._envelopes[envelope.id] = envelope
        heapq.heappush(self._due, (envelope.next_attempt, envelope.id))
        self._wakeup.set()

    async def run(self) -> None:
        """Deliver queued mail until cancelled; a restart picks up where this left off."""
        executor = ThreadPoolExecutor(self._concurrency, thread_name_prefix="maild-smtp")
        attempts: set[asyncio.Task[None]] = set()
        try:
            while True:
                self._wakeup.clear()
                now = time.time()
                # At most `concurrency` messages in flight: a long backlog (after an outage) is
                # read from disk a few at a time, not all at once.
                while self._due and self._due[0][0] <= now and len(self._active) < self._concurrency:
                    due, message_id = heapq.heappop(self._due)
                    envelope = self._envelopes.get(message_id)
                    if envelope is None or envelope.next_attempt != due or message_id in self._active:
                        continue  # delivered already, rescheduled, or being attempted
                    self._active.add(message_id)
                    task = asyncio.create_task(self._attempt(envelope, executor))
                    attempts.add(task)
                    task.add_done_callback(attempts.discard)
                busy = len(self._active) >= self._concurrency  # an attempt ending wakes us
                wait = self._due[0][0] - now if self._due and not busy else None
                try:
                    await asyncio.wait_for(self._wakeup.wait(), wait)
                except TimeoutError:
                    continue  # the next message is due
        finally:
            for task in attempts:
                task.cancel()
            await asyncio.gather(*attempts, return_exceptions=True)
            executor.shutdown(wait=False, cancel_futures=True)

    def _route_for(self, server: Server) -> Router:
        """The Router for this config, rebuilt only when the server settings change."""
        if self._router is None or self._router[0] != server:
            self._router = (server, Router(server))
        return self._router[1]

    async def _attempt(self, envelope: Envelope, executor: ThreadPoolExecutor) -> None:
        try:
            await self._deliver_pending(envelope, executor)
        except Exception:  # a bug or a disk error: keep the message and try again later
            log.exception("queue: %s: attempt failed", envelope.id)
            server = self.configs.current.server
            envelope.next_attempt = time.time() + backoff(server, max(envelope.attempts, 1))
            self._schedule(envelope)
        finally:
            self._active.discard(envelope.id)
            self._wakeup.set()

    async def _deliver_pending(self, envelope: Envelope, executor: ThreadPoolExecutor) -> None:
        config = self.configs.current
        pending = envelope.recipients_in(PENDING)
        data = await asyncio.to_thread(self.spool.read, envelope.id)
        if pending:
            envelope.attempts += 1
            envelope.last_attempt = time.time()
            groups: dict[str, list[Recipient]] = {}
            for recipient in pending:
                mailbox = config.mailbox(recipient.address) if self.store else None
                key = mailbox.address if mailbox else recipient.address.rpartition("@")[2].lower()
                groups.setdefault(key, []).append(recipient)
            saving = asyncio.Lock()
            await asyncio.gather(*(
                self._deliver_group(envelope, config, group, data, saving, executor)
                for group in groups.values()
            ))
        now = time.time()
        if now - envelope.arrival >= config.server.queue_lifetime:
            for recipient in envelope.recipients_in(PENDING):
                recipient.state = FAILED
        await self._report(envelope, config, data)
        if not envelope.recipients_in(PENDING):
            await asyncio.to_thread(self.spool.remove, envelope.id)
            del self._envelopes[envelope.id]
            log.info("queue: %s: removed", envelope.id)
            return
        retry = now + backoff(config.server, envelope.attempts)
        envelope.next_attempt = min(retry, envelope.arrival + config.server.queue_lifetime)
        await self._warn(envelope, config, data, now)
        await asyncio.to_thread(self.spool.save, envelope)
        self._schedule(envelope)

    async def _deliver_group(self, envelope: Envelope, config: Config, group: list[Recipient],
                             data: bytes, saving: asyncio.Lock, executor: ThreadPoolExecutor) -> None:
        """One delivery (one domain, or one local mailbox); its outcomes saved before returning."""
        async with self._slots:
            mailbox = config.mailbox(group[0].address) if self.store else None
            if mailbox is not None and self.store is not None:
                outcomes = {group[0].address: await self._deliver_local(config, mailbox, return_path(envelope.sender) + data)}
            else:
                outcomes = await self._deliver_remote(envelope, config, group, data, executor)
        for recipient in group:
            outcome = outcomes[recipient.address]
            recipient.outcome = outcome
            if outcome.delivered:
                recipient.state = DELIVERED
            elif outcome.permanent:
                recipient.state = FAILED
            log.info("queue: %s: to=<%s> relay=%s status=%s (%s)", envelope.id, recipient.address,
                     outcome.remote_mta or "none", recipient.state, outcome.diagnostic)
        async with saving:
            await asyncio.to_thread(self.spool.save, envelope)

    async def _deliver_local(self, config: Config, mailbox: Mailbox, data: bytes) -> Outcome:
        """Into the store, under the rules the MX applies to the same mailbox (refusals here are
        permanent, as Dovecot's delivery makes a full mailbox's)."""
        assert self.store is not None
        if not config.serves(mailbox):
            return Outcome(MAILBOX_UNAVAILABLE, f"mailbox {mailbox.address} is disabled or not served", "local")
        if over_quota(self.store.usage(mailbox).bytes, mailbox, len(data)):
            return Outcome(MAILBOX_FULL, f"mailbox {mailbox.address} is full", "local")
        try:
            await self.store.deliver(mailbox, data)
        except Exception as error:  # over quota, disk full...: keep it queued, retry, bounce at expiry
            return Outcome(LOCAL_ERROR, f"local delivery to {mailbox.address} failed: {error!r}", "local")
        return Outcome(SUCCESS, f"delivered to the mailbox of {mailbox.address}", "local")

    async def _deliver_remote(self, envelope: Envelope, config: Config, group: list[Recipient],
                              data: bytes, executor: ThreadPoolExecutor) -> dict[str, Outcome]:
        addresses = [recipient.address for recipient in group]
        try:
            hops = await self._route_for(config.server).route(addresses[0].rpartition("@")[2])
        except RouteError as error:
            return {address: error.outcome for address in addresses}
        return await asyncio.get_running_loop().run_in_executor(
            executor, smtp_client.deliver, hops, config.server.hostname, envelope.sender, addresses,
            data, self.smtp_timeout,
        )

    async def _notify(self, envelope: Envelope, config: Config, recipients: list[Recipient], data: bytes,
                      notice: Notice) -> None:
        """Queue a delivery status report about `recipients` to the sender, from `<>`."""
        recipient = self._report_address(envelope)
        report = build_report(envelope, recipients, data, hostname=config.server.hostname, notice=notice,
                              lifetime=config.server.queue_lifetime, language=config.server.language, to=recipient)
        report_id = await self.enqueue("", [recipient], report)
        log.info("queue: %s: %s report %s to <%s>", envelope.id, notice.name.lower(), report_id, recipient)

    def _report_address(self, envelope: Envelope) -> str:
        """Where a report about `envelope` goes: for mail this node forwarded, the original sender
        (its return address was made no later than the mail arrived, however long it stayed)."""
        sender = envelope.sender
        if self.srs is None or not is_srs(sender):
            return sender
        try:
            return self.srs.reverse(sender, now=envelope.arrival)
        except InvalidAddress:
            return sender  # not made here (another node's key): that node's MX takes it back

    async def _warn(self, envelope: Envelope, config: Config, data: bytes, now: float) -> None:
        """Tell the sender, once, that the mail is late but still being retried."""
        warning = config.server.queue_delay_warning
        if envelope.warned or not envelope.sender or not warning or now - envelope.arrival < warning:
            return
        await self._notify(envelope, config, envelope.recipients_in(PENDING), data, Notice.DELAYED)
        envelope.warned = True

    async def _report(self, envelope: Envelope, config: Config, data: bytes) -> None:
        """Bounce the recipients given up on to the sender (never to `<>`), then mark them reported."""
        failed = envelope.recipients_in(FAILED)
        if not failed:
            return
        if envelope.sender:
            expired = any(not (r.outcome and r.outcome.permanent) for r in failed)
            await self._notify(envelope, config, failed, data, Notice.EXPIRED if expired else Notice.REFUSED)
        else:
            log.info("queue: %s: undeliverable mail from <> discarded (no bounce to a bounce)",
                     envelope.id)
        for recipient in failed:
            recipient.state = REPORTED
        await asyncio.to_thread(self.spool.save, envelope)
