"""The settings a mail client needs for a hosted domain, computed once for every consumer.

The set-up page, Thunderbird autoconfig, Outlook autodiscover and the Apple profile all read
`domain_settings`, so they can never disagree. The server name is the one a client can verify:
`mail.<domain>` when a certificate maild serves covers it, else the node's own hostname. Ports are
the node's listeners as the bundle carries them; implicit TLS comes before STARTTLS (RFC 8314).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from maild.config import Server
from panel.bundle.build import node_listeners
from panel.extensions import db
from panel.models import Certificate, Domain, DomainStatus, Mailbox
from panel.models.base import to_unicode
from panel.services.access import get_visible
from panel.services.actor import Actor
from panel.services.certificate_checks import covers

# Listener kind -> (protocol, security), in the order clients should prefer them.
KINDS = {
    "imaps": ("imap", "ssl"), "imap": ("imap", "starttls"),
    "pop3s": ("pop3", "ssl"), "pop3": ("pop3", "starttls"),
    "submissions": ("smtp", "ssl"), "submission": ("smtp", "starttls"),
}
CLIENT_TIMEOUT_SECONDS = 60  # what to set in the client: long enough for a large message on a slow line


@dataclass(frozen=True)
class ServerEntry:
    protocol: str  # imap, pop3 or smtp
    hostname: str
    port: int
    security: str  # ssl (implicit TLS) or starttls
    authentication: str  # password-cleartext (inside TLS) or apop


@dataclass(frozen=True)
class ClientSettings:
    domain: str  # IDNA
    hostname: str
    incoming: tuple[ServerEntry, ...]
    outgoing: tuple[ServerEntry, ...]
    client_timeout: int
    idle_timeout: int  # seconds the server keeps an idle connection
    username: str | None = None  # None: the full address the client is set up for
    apop: bool = False

    @property
    def display_domain(self) -> str:
        return to_unicode(self.domain)

    def preferred(self, protocol: str) -> ServerEntry | None:
        """The first (best) entry for `protocol`, if the node offers it."""
        return next((entry for entry in (*self.incoming, *self.outgoing) if entry.protocol == protocol), None)


def mail_hostname(domain: Domain) -> str:
    """`mail.<domain>` if a current certificate maild serves for this customer covers it, else the node's."""
    candidate = f"mail.{domain.name}"
    now = dt.datetime.now(dt.timezone.utc)
    certificates = db.session.scalars(
        select(Certificate.hostnames).where(Certificate.cert_pem.is_not(None))
        .where(Certificate.customer_id.is_(None) | (Certificate.customer_id == domain.customer_id))
        .where(Certificate.not_after.is_(None) | (Certificate.not_after > now))
    )
    return candidate if any(covers(list(names), candidate) for names in certificates) else domain.node.hostname


def domain_settings(domain: Domain, config: Mapping[str, Any], mailbox: Mailbox | None = None) -> ClientSettings:
    """What a client for `domain` (or one of its mailboxes, for user name and APOP) should use."""
    hostname = mail_hostname(domain)
    apop = bool(mailbox and mailbox.apop_enabled and domain.customer.plan.allow_apop)
    ports = {listener.kind: listener.port for listener in node_listeners(config)}
    entries = [ServerEntry(protocol, hostname, ports[kind], security,
                           "apop" if protocol == "pop3" and apop else "password-cleartext")
               for kind, (protocol, security) in KINDS.items() if kind in ports]
    return ClientSettings(
        domain=domain.name, hostname=hostname,
        incoming=tuple(entry for entry in entries if entry.protocol != "smtp"),
        outgoing=tuple(entry for entry in entries if entry.protocol == "smtp"),
        client_timeout=CLIENT_TIMEOUT_SECONDS,
        idle_timeout=int(config.get("MAILD_SERVER", {}).get("idle_timeout", Server.idle_timeout)),
        username=mailbox.email if mailbox else None, apop=apop,
    )


def mailbox_settings(actor: Actor, mailbox_id: int, config: Mapping[str, Any]) -> tuple[Mailbox, ClientSettings]:
    mailbox = get_visible(actor, Mailbox, mailbox_id)
    return mailbox, domain_settings(mailbox.domain, config, mailbox)


def hosted_domain(address_or_domain: str) -> Domain | None:
    """The active hosted domain of an address (or a bare domain name); None for anything else.

    Public endpoints use it, so it answers the same for unknown, pending and malformed names.
    """
    name = address_or_domain.strip().rpartition("@")[2].rstrip(".")
    if not name or len(name) > 253:
        return None
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    return db.session.scalars(select(Domain).where(Domain.name == name, Domain.status == DomainStatus.ACTIVE)).first()
