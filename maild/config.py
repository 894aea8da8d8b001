"""The running configuration: one immutable object built from a bundle, swapped whole on reload.

A connection keeps the `Config` it started with; a reload never mutates an existing one.
`maild.bundle` builds these from the files the panel writes (format: docs/bundle.md).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Listener:
    """One listening socket. `kind`: mx, submission, submissions, imap, imaps, pop3, pop3s."""

    kind: str
    host: str
    port: int


@dataclass(frozen=True)
class TlsCertificate:
    """A certificate chain and its key (PEM) for the names it covers; the first is the default."""

    names: tuple[str, ...]
    cert_pem: str
    key_pem: str


@dataclass(frozen=True)
class DkimKey:
    selector: str
    algorithm: str  # "rsa-sha256" or "ed25519-sha256"
    private_key_pem: str


@dataclass(frozen=True)
class Domain:
    name: str  # lower-case IDNA
    status: str  # active, pending, suspended: mail is accepted only when active
    customer_id: int
    archive: bool = False
    dkim: DkimKey | None = None
    trash_days: int = 0  # cleanup: expunge Trash and Junk messages older than this; 0 = never
    archive_days: int = 0  # cleanup: move INBOX messages older than this to Archive; 0 = never
    archive_retention_days: int = 0  # archive entries older than this are purged; 0 keeps them all
    legal_hold: bool = False  # no archive purge while set
    archive_hold_from: int | None = None  # entries from this number on are held (a search's results)


@dataclass(frozen=True)
class Vacation:
    """An auto-reply (RFC 3834) sent while `start` <= today <= `end` (ISO dates; empty = open)."""

    subject: str
    body: str
    start: str = ""
    end: str = ""
    interval_days: int = 7  # at most one reply per sender in this many days


@dataclass(frozen=True)
class Mailbox:
    id: int
    local_part: str
    domain: str
    password_hash: str  # passlib hash (argon2id or bcrypt)
    quota_bytes: int
    enabled: bool
    customer_id: int
    max_message_bytes: int
    sends_per_hour: int | None  # None: unlimited
    archive: bool = False
    apop_secret: str | None = None  # encrypted; never in clear in the bundle
    app_password_hashes: tuple[str, ...] = ()  # passlib hashes; each logs in like the password
    forward_to: tuple[str, ...] = ()  # addresses every delivered message is also sent to
    forward_keep_copy: bool = True  # False: forwarded mail is not stored here
    vacation: Vacation | None = None
    pool_bytes: int = 0  # the customer's storage pool shared by all its mailboxes; 0 = no pool
    created: int = 0  # when the panel created it, microseconds since the epoch; 0: not given

    @property
    def address(self) -> str:
        return f"{self.local_part}@{self.domain}"


@dataclass(frozen=True)
class Alias:
    """`source` is `local@domain`, or `@domain` for a catch-all."""

    source: str
    destinations: tuple[str, ...]


@dataclass(frozen=True)
class Server:
    node: str
    hostname: str
    listeners: tuple[Listener, ...]
    max_message_bytes: int = 50 * 1024 * 1024
    idle_timeout: int = 1800  # seconds; IMAP >= 30 min (RFC 3501), POP3/SMTP use their own minimums
    smarthost: str | None = None  # "host:port" for all outbound mail
    resolver: tuple[str, ...] = ()  # "ip" or "ip:port" nameservers; empty = system resolver
    queue_lifetime: int = 5 * 24 * 3600
    queue_retry_base: float = 300.0  # seconds before the first retry; doubles per attempt (cap 4000 s)
    queue_delay_warning: int = 4 * 3600  # seconds after arrival: one "delayed" report to the sender; 0 = never
    outbound_port: int = 25  # port dialled on MX hosts (MX records carry none); tests use a high port
    tls: tuple[TlsCertificate, ...] = ()
    usage_interval: int = 300  # seconds between usage reports (changed mailboxes only)
    language: str = "en"  # of the mail maild writes itself (warnings, bounces); the panel sends its default


def _frozen(mapping: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Config:
    schema: int
    serial: int
    checksum: str
    server: Server
    domains: Mapping[str, Domain] = field(default_factory=dict)
    mailboxes: Mapping[str, Mailbox] = field(default_factory=dict)  # by address
    aliases: Mapping[str, Alias] = field(default_factory=dict)  # by source

    def __post_init__(self) -> None:
        for name in ("domains", "mailboxes", "aliases"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def serves(self, mailbox: Mailbox) -> bool:
        """Whether `mailbox` is in service: enabled, in an active domain (a pending domain's
        ownership is unproven, a suspended one's service stopped). Logins and deliveries ask."""
        domain = self.domains.get(mailbox.domain)
        return mailbox.enabled and domain is not None and domain.status == "active"

    def mailbox(self, address: str) -> Mailbox | None:
        """The mailbox for `address` (any case in the domain), if hosted here."""
        local, _, domain = address.rpartition("@")
        return self.mailboxes.get(f"{local.lower()}@{domain.lower()}")
