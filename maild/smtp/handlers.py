"""aiosmtpd handlers: MX (mail for hosted domains) and submission (authenticated users).

Each recipient is decided at RCPT time (routing, size, quota, rate); DATA re-checks what only
the content can show, prepends trace headers, and answers 250 only after every local copy is
durable in the store and every remote copy durable in the queue.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import logging
from functools import lru_cache
from typing import cast

import dns.resolver
from aiosmtpd.smtp import MISSING, AuthResult

from maild import archive, local_delivery, replies
from maild.auth import Outcome, still_allowed
from maild.config import Config, Mailbox
from maild.queue.dsn import refusal_report
from maild.runtime import Runtime
from maild.smtp import routing, signing, trace, verify
from maild.smtp.protocol import HookDir, MailEnvelope, MailSession, MailSMTP
from maild.smtp.routing import Refused
from maild.store.quota import over_quota

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 1000
NULL_SENDER = "<>"  # kept as the envelope's mail_from: aiosmtpd treats "" as "no MAIL yet"


SPF_DKIM_CACHE_ENTRIES = 10_000


@lru_cache(maxsize=8)
def _resolver(nameservers: tuple[str, ...]) -> dns.resolver.Resolver:
    """The resolver for SPF and DKIM checks, caching answers for their TTL (negative ones too,
    RFC 2308) as the local caching resolver next to Postfix would: a sender's domain is looked
    up once per TTL, not once per message."""
    resolver = verify.make_resolver(nameservers)
    resolver.cache = dns.resolver.LRUCache(SPF_DKIM_CACHE_ENTRIES)
    return resolver


def declared_size(mail_options: list[str]) -> int | None:
    """The `SIZE=` a client declared at MAIL (aiosmtpd has checked it is all digits)."""
    for option in mail_options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE" and value.isdigit():
            return int(value)
    return None


def client_ip(session: MailSession) -> str:
    """The client's address (aiosmtpd keeps the socket's peername tuple in `peer`)."""
    return str(session.peer[0]) if session.peer else "unknown"


def envelope_sender(envelope: MailEnvelope) -> str:
    """The envelope sender, "" for the null sender."""
    return "" if envelope.mail_from == NULL_SENDER else envelope.mail_from or ""


class MailHandler(HookDir):
    """What MX and submission share: EHLO keywords, routing, checks, delivery, error replies."""

    advertise_auth = False
    kind = "mx"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def handle_EHLO(
        self, server: MailSMTP, session: MailSession, envelope: MailEnvelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        keywords = [line[4:] for line in responses[1:] if line[4:] != "HELP"]
        if not self.advertise_auth:
            keywords = [keyword for keyword in keywords if not keyword.startswith("AUTH")]
        keywords += ["PIPELINING", "ENHANCEDSTATUSCODES"]
        return [responses[0]] + [f"250-{keyword}" for keyword in keywords[:-1]] + [f"250 {keywords[-1]}"]

    async def handle_exception(self, error: Exception) -> str:
        """Anything unexpected is temporary for the client (it retries) and logged for us."""
        log.error("SMTP session failed", exc_info=error)
        return str(replies.TEMPORARY_FAILURE)

    def usage_bytes(self, mailbox: Mailbox) -> int:
        return self.runtime.store.usage(mailbox).bytes

    def check_recipient(self, config: Config, envelope: MailEnvelope, address: str) -> routing.Route:
        """The route for a local recipient, refused when unknown, too big or full."""
        route = routing.resolve(config, address, self.runtime.srs, envelope_sender(envelope))
        size = envelope.routing.declared_size
        for mailbox in route.local:
            if size is not None and size > mailbox.max_message_bytes:
                raise Refused(replies.MESSAGE_TOO_BIG.format(limit=mailbox.max_message_bytes))
            if over_quota(self.usage_bytes(mailbox), mailbox, size or 1):
                raise Refused(replies.OVER_QUOTA.format(address=address))
            if self.runtime.store.pool_full(config, mailbox, size or 1):
                raise Refused(replies.POOL_FULL.format(address=address))
        return route

    def recipient_refusal(self, session: MailSession, envelope: MailEnvelope) -> str | None:
        """A reason to refuse any further recipient, before looking at the address."""
        return None

    def route(self, config: Config, envelope: MailEnvelope, address: str) -> routing.Route:
        return self.check_recipient(config, envelope, address)

    async def handle_RCPT(
        self, server: MailSMTP, session: MailSession, envelope: MailEnvelope, address: str, options: list[str]
    ) -> str:
        refusal = self.recipient_refusal(session, envelope)
        if refusal:
            return refusal
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return str(replies.TOO_MANY_RECIPIENTS)
        try:
            route = self.route(session.config, envelope, address)
        except Refused as refused:
            log.info("refused RCPT from %s (%s): %s", client_ip(session), self.kind, refused.reply)
            return refused.reply
        for mailbox in route.local:
            envelope.routing.local[mailbox.id] = mailbox
        for remote in route.remote:
            envelope.routing.remote.setdefault(remote, route.forwarder)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return replies.RECIPIENT_OK.format(address=address)

    @staticmethod
    def accept_sender(envelope: MailEnvelope, address: str, options: list[str]) -> str:
        envelope.mail_from = address or NULL_SENDER
        envelope.mail_options.extend(options)
        envelope.routing.declared_size = declared_size(options)
        return replies.SENDER_OK.format(address=address)

    def content_refusal(self, config: Config, envelope: MailEnvelope, size: int, sender_limit: int | None) -> str | None:
        """Why the received content cannot be taken at all: over the node's or the sender's size
        limit, refused by every recipient, or refused for now by one (a temporary refusal answers
        the whole message, so the client retries it for all). Mailboxes that refuse it for good
        (too big for their plan, full) while others take it are dropped from the envelope into
        `routing.refused`, for `report_refused` to tell the sender: one full mailbox does not fail
        the rest."""
        limit = config.server.max_message_bytes if sender_limit is None else min(config.server.max_message_bytes, sender_limit)
        if size > limit:
            return replies.MESSAGE_TOO_BIG.format(limit=limit)
        local = envelope.routing.local
        refused = {box.id: reply for box in local.values() if (reply := self.mailbox_refusal(config, box, size))}
        temporary = [reply for reply in refused.values() if reply.startswith("4")]
        if temporary:
            return temporary[0]
        if refused and len(refused) == len(local) and not envelope.routing.remote:
            return next(iter(refused.values()))
        for mailbox_id, reply in refused.items():
            envelope.routing.refused.append((local.pop(mailbox_id).address, reply))
        return None

    def mailbox_refusal(self, config: Config, mailbox: Mailbox, size: int) -> str | None:
        if size > mailbox.max_message_bytes:
            return replies.MESSAGE_TOO_BIG.format(limit=mailbox.max_message_bytes)
        if over_quota(self.usage_bytes(mailbox), mailbox, size):
            return replies.OVER_QUOTA.format(address=mailbox.address)
        if self.runtime.store.pool_full(config, mailbox, size):
            return replies.POOL_FULL.format(address=mailbox.address)
        return None

    async def report_refused(self, config: Config, envelope: MailEnvelope, queue_id: str, content: bytes) -> None:
        """Bounce the recipients `content_refusal` dropped to the sender (never to `<>`), as Postfix
        does for a recipient its delivery agent refuses after the message was accepted."""
        sender = envelope_sender(envelope)
        if not envelope.routing.refused or not sender:
            return
        report = refusal_report(queue_id, sender, envelope.routing.refused, content,
                                hostname=config.server.hostname, language=config.server.language)
        try:
            await self.runtime.queue.enqueue("", [sender], report)
        except (OSError, ValueError):  # the others have their copies: a 4xx now would duplicate them
            log.exception("%s: bounce for refused recipients not queued", queue_id)

    async def deliver(self, envelope: MailEnvelope, message: bytes) -> None:
        """Local copies into the store, the rest into the queue; durable when this returns."""
        sender = envelope_sender(envelope)
        stored = trace.return_path(sender) + message  # one copy for every mailbox, not one each
        work = [local_delivery.deliver(self.runtime, sender, mailbox, message, stored)
                for mailbox in envelope.routing.local.values()]
        by_forwarder: dict[str | None, list[str]] = {}
        for address, forwarder in envelope.routing.remote.items():
            by_forwarder.setdefault(forwarder, []).append(address)
        for forwarder, addresses in by_forwarder.items():
            work.append(local_delivery.send_on(self.runtime, sender, forwarder, addresses, message))
        async with self.runtime.inflight.track():
            await asyncio.gather(*work)
        # Sent mail of the sender's (hosted) domain: submission only; what the MX forwards is not.
        outbound = self.kind == "submission" and bool(envelope.routing.remote)
        self.runtime.store.ledger.delivered(envelope.routing.local.values(),
                                            sender.rpartition("@")[2].lower() if outbound else None)

    @staticmethod
    def hop(server: MailSMTP, session: MailSession) -> trace.Hop:
        return trace.Hop(
            helo=session.host_name or "unknown",
            ip=client_ip(session),
            esmtp=session.extended_smtp,
            tls=server.tls_info(),
            authenticated=session.mailbox is not None,
        )

    @staticmethod
    def received(server: MailSMTP, session: MailSession, envelope: MailEnvelope, queue_id: str) -> bytes:
        recipient = envelope.rcpt_tos[0] if len(envelope.rcpt_tos) == 1 else None
        return trace.received(MailHandler.hop(server, session), session.config.server.hostname, queue_id, recipient)


# aiosmtpd reads handle_EHLO's signature on every connection; a precomputed one spares inspect's
# work (about a third of setting up a connection).
MailHandler.handle_EHLO.__signature__ = inspect.signature(MailHandler.handle_EHLO)  # type: ignore[attr-defined]


class MxHandler(MailHandler):
    """Mail from the internet for the domains hosted on this node; never a relay."""

    async def handle_AUTH(self, server: MailSMTP, session: MailSession, envelope: MailEnvelope, args: list[str]) -> str:
        return str(replies.AUTH_UNAVAILABLE)

    async def handle_MAIL(
        self, server: MailSMTP, session: MailSession, envelope: MailEnvelope, address: str, options: list[str]
    ) -> str:
        if address == NULL_SENDER:
            address = ""
        return self.accept_sender(envelope, address, options)

    async def handle_RCPT(
        self, server: MailSMTP, session: MailSession, envelope: MailEnvelope, address: str, options: list[str]
    ) -> str:
        reply = await super().handle_RCPT(server, session, envelope, address, options)
        if envelope.rcpt_tos and envelope.routing.spf is None:
            # SPF needs only the envelope: look it up while the client sends the rest. Not
            # before a recipient is accepted, so MAIL alone never costs DNS lookups.
            hop = self.hop(server, session)
            peer = verify.Peer(ip=hop.ip, helo=hop.helo, mail_from=envelope_sender(envelope))
            envelope.routing.spf = asyncio.ensure_future(verify.spf_result(peer, _resolver(session.config.server.resolver)))
        return reply

    async def handle_DATA(self, server: MailSMTP, session: MailSession, envelope: MailEnvelope) -> str:
        content = envelope.original_content or b""
        refusal = self.content_refusal(session.config, envelope, len(content), None)
        if refusal:
            return refusal
        queue_id = trace.new_queue_id()
        assert envelope.routing.spf is not None  # started at the first accepted RCPT
        dkim = await verify.dkim_results(content, _resolver(session.config.server.resolver))
        results = verify.authentication_results(session.config.server.hostname, [await envelope.routing.spf, *dkim])
        await archive.capture(self.runtime.data_dir, session.config, archive.Envelope(
            "in", envelope_sender(envelope), tuple(envelope.rcpt_tos), client_ip(session)), content)
        await self.deliver(envelope, self.received(server, session, envelope, queue_id) + results + content)
        await self.report_refused(session.config, envelope, queue_id, content)
        log.info("%s accepted from %s for %d recipient(s)", queue_id, client_ip(session), len(envelope.rcpt_tos))
        return replies.ACCEPTED.format()


class SubmissionHandler(MailHandler):
    """Mail from this node's own users: AUTH first (PLAIN, LOGIN), then any recipient."""

    advertise_auth = True
    kind = "submission"

    async def handle_AUTH(self, server: MailSMTP, session: MailSession, envelope: MailEnvelope, args: list[str]) -> object:
        if self.runtime.authenticator.refused(client_ip(session)):
            return str(replies.AUTH_THROTTLED)
        return MISSING

    async def auth_PLAIN(self, server: MailSMTP, args: list[str]) -> AuthResult:
        blob = await self._initial_response(server, args, "")
        if blob is None:
            return AuthResult(success=False, handled=True)
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            return AuthResult(success=False, handled=False, message=str(replies.AUTH_MALFORMED))
        return await self._login(server, parts[1], parts[2])

    async def auth_LOGIN(self, server: MailSMTP, args: list[str]) -> AuthResult:
        username = await self._initial_response(server, args, "Username:")
        if username is None:
            return AuthResult(success=False, handled=True)
        password = await server.challenge_auth("Password:")
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        return await self._login(server, username, password)

    @staticmethod
    async def _initial_response(server: MailSMTP, args: list[str], challenge: str) -> bytes | None:
        """The client's first AUTH response, inline or after a challenge; None once answered."""
        if len(args) == 1:
            response = await server.challenge_auth(challenge)
            return None if response is MISSING else response
        try:
            return base64.b64decode(args[1], validate=True)
        except (binascii.Error, ValueError):
            await server.push(str(replies.AUTH_MALFORMED))
            return None

    async def _login(self, server: MailSMTP, username: bytes, password: bytes) -> AuthResult:
        session = cast(MailSession, server.session)
        result = await self.runtime.authenticator.login(
            session.config, client_ip(session), username.decode("utf-8", "replace"), password.decode("utf-8", "replace")
        )
        if result.outcome is Outcome.OK and result.mailbox is not None:
            session.mailbox = result.mailbox
            return AuthResult(success=True, auth_data=result.mailbox.address, message=str(replies.AUTH_OK))
        reply = replies.AUTH_THROTTLED if result.outcome is Outcome.THROTTLED else replies.AUTH_INVALID
        log.info("AUTH failed from %s (%s)", client_ip(session), result.outcome.value)
        return AuthResult(success=False, handled=False, message=str(reply))

    async def handle_MAIL(
        self, server: MailSMTP, session: MailSession, envelope: MailEnvelope, address: str, options: list[str]
    ) -> str:
        mailbox = session.mailbox
        if mailbox is None:
            return str(replies.AUTH_REQUIRED)
        if not still_allowed(self.runtime.config, mailbox):  # deleted or disabled since its AUTH
            session.mailbox = None
            return replies.MAILBOX_DISABLED.format(address=mailbox.address)
        if address == NULL_SENDER:
            return str(replies.SENDER_REQUIRED)
        if not routing.may_send_as(session.config, mailbox, address):
            return replies.SENDER_NOT_OWNED.format(address=address)
        limit = mailbox.sends_per_hour
        if limit is not None and self.runtime.send_rate.sent(mailbox.id) >= limit:
            return replies.RATE_LIMITED.format(limit=limit)
        size = declared_size(options)
        if size is not None and size > mailbox.max_message_bytes:
            return replies.MESSAGE_TOO_BIG.format(limit=mailbox.max_message_bytes)
        return self.accept_sender(envelope, address, options)

    def recipient_refusal(self, session: MailSession, envelope: MailEnvelope) -> str | None:
        """The plan's sends per hour, counting the recipients of this message so far."""
        mailbox = session.mailbox
        assert mailbox is not None  # MAIL required it
        limit = mailbox.sends_per_hour
        if limit is not None and self.runtime.send_rate.sent(mailbox.id) + len(envelope.rcpt_tos) >= limit:
            return replies.RATE_LIMITED.format(limit=limit)
        return None

    def route(self, config: Config, envelope: MailEnvelope, address: str) -> routing.Route:
        """Hosted domains are checked like MX mail; any other domain is queued."""
        if routing.hosted_domain(config, routing.normalize(address)) is None:
            return routing.Route(remote=(address,))
        return self.check_recipient(config, envelope, address)

    async def handle_DATA(self, server: MailSMTP, session: MailSession, envelope: MailEnvelope) -> str:
        mailbox = session.mailbox
        assert mailbox is not None
        content = envelope.original_content or b""
        refusal = self.content_refusal(session.config, envelope, len(content), mailbox.max_message_bytes)
        if refusal:
            return refusal
        queue_id = trace.new_queue_id()
        headers = self.received(server, session, envelope, queue_id)
        sender_domain = routing.normalize(envelope.mail_from or "").rpartition("@")[2]
        domain = session.config.domains.get(sender_domain)
        if domain is not None and domain.dkim is not None:
            headers += await signing.dkim_signature(content, domain.name, domain.dkim)
        await archive.capture(self.runtime.data_dir, session.config, archive.Envelope(
            "out", envelope_sender(envelope), tuple(envelope.rcpt_tos), client_ip(session), mailbox.address), content)
        await self.deliver(envelope, headers + content)
        await self.report_refused(session.config, envelope, queue_id, content)
        self.runtime.send_rate.record(mailbox.id, len(envelope.rcpt_tos))
        log.info("%s submitted by %s for %d recipient(s)", queue_id, mailbox.address, len(envelope.rcpt_tos))
        return replies.ACCEPTED.format()
