"""One node's bundle content, read from the database in a few set-based queries."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maild.bundle import BundleContent
from maild.config import Alias as BundleAlias
from maild.config import DkimKey as BundleDkimKey
from maild.config import Domain as BundleDomain
from maild.config import Listener, Server, TlsCertificate
from maild.config import Mailbox as BundleMailbox
from maild.config import Vacation
from panel.models import (
    Alias, AliasDestination, AppPassword, ArchiveHold, Certificate, Customer,
    DkimKey, DkimState, Domain, Mailbox, Node, Plan,
)
from panel.services import dkim_keys
from panel.services.certificates import private_key_pem

# Development defaults (docs/bundle.md); TEGAMI_<KIND>_PORT and TEGAMI_MAILD_HOST override them.
DEFAULT_PORTS = {
    "mx": 2525, "submission": 2587, "submissions": 2465,
    "imap": 1143, "imaps": 1993, "pop3": 1110, "pop3s": 1995,
}

# The attributes a bundle is built from: a change to any other column (usage counters,
# lock versions, prices) does not rewrite bundles.
BUNDLED_ATTRIBUTES: dict[type, frozenset[str]] = {
    Node: frozenset({"name", "hostname"}),
    Domain: frozenset({"name", "status", "node_id", "customer_id", "trash_days", "archive_days", "legal_hold"}),
    Mailbox: frozenset({"local_part", "domain_id", "password_hash", "quota_bytes", "enabled",
                        "apop_enabled", "apop_secret", "forward_to", "forward_keep_copy", "vacation_enabled",
                        "vacation_subject", "vacation_body", "vacation_start", "vacation_end",
                        "vacation_interval_days"}),
    AppPassword: frozenset({"mailbox_id", "password_hash"}),
    Alias: frozenset({"local_part", "domain_id"}),
    AliasDestination: frozenset({"address", "alias_id"}),
    Customer: frozenset({"plan_id"}),
    Plan: frozenset({"max_message_bytes", "sends_per_hour", "archiving", "allow_apop", "storage_bytes",
                     "trash_days", "archive_days", "archive_retention_days"}),
    Certificate: frozenset({"hostnames", "cert_pem", "key_encrypted", "customer_id"}),
    DkimKey: frozenset({"domain_id", "selector", "algorithm", "private_key_encrypted", "state"}),
    ArchiveHold: frozenset({"domain_id", "first_entry"}),
}


def listeners_from_env(env: Mapping[str, str]) -> tuple[Listener, ...]:
    """The daemon's sockets: development ports on loopback unless the environment says otherwise."""
    host = env.get("TEGAMI_MAILD_HOST", "127.0.0.1")
    listeners = []
    for kind, default in DEFAULT_PORTS.items():
        variable = f"TEGAMI_{kind.upper()}_PORT"
        value = env.get(variable, str(default))
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise ValueError(f"{variable} must be a port number (1-65535), got {value!r}")
        listeners.append(Listener(kind=kind, host=host, port=int(value)))
    return tuple(listeners)


def node_listeners(config: Mapping[str, Any]) -> tuple[Listener, ...]:
    """The listeners every node's bundle carries (the client set-up pages show the same ports)."""
    return tuple(config.get("MAILD_LISTENERS") or listeners_from_env(os.environ))


def node_content(session: Session, node: Node, config: Mapping[str, Any]) -> BundleContent:
    """Everything `node`'s daemon needs. `config` is the app config (MAILD_LISTENERS, MAILD_SERVER)."""
    listeners = node_listeners(config)
    settings = {"language": config["BABEL_DEFAULT_LOCALE"], **config.get("MAILD_SERVER", {})}
    server = Server(node=node.name, hostname=node.hostname, listeners=tuple(listeners),
                    tls=_certificates(session, node), **settings)
    on_node = Domain.node_id == node.id
    signing = (DkimKey.domain_id == Domain.id) & (DkimKey.state == DkimState.ACTIVE)
    domains = session.execute(
        select(Domain.name, Domain.status, Domain.customer_id, func.coalesce(Domain.trash_days, Plan.trash_days, 0),
               func.coalesce(Domain.archive_days, Plan.archive_days, 0), Plan.archiving, DkimKey)
        .join(Customer, Domain.customer_id == Customer.id).join(Plan, Customer.plan_id == Plan.id)
        .outerjoin(DkimKey, signing).where(on_node).order_by(Domain.name)
    )
    mailboxes = session.execute(
        select(Mailbox.id, Mailbox.local_part, Domain.name, Mailbox.password_hash, Mailbox.quota_bytes,
               Mailbox.enabled, Domain.customer_id, Plan.max_message_bytes, Plan.sends_per_hour,
               Plan.archiving, Mailbox.apop_enabled & Plan.allow_apop, Mailbox.apop_secret,
               func.coalesce(Plan.storage_bytes, 0), Mailbox.created_at)
        .join(Domain, Mailbox.domain_id == Domain.id).join(Customer, Domain.customer_id == Customer.id)
        .join(Plan, Customer.plan_id == Plan.id).where(on_node).order_by(Mailbox.id)
    )
    archive_policy = _archive_policy(session, on_node)
    self_service = _self_service(session, on_node)
    return BundleContent(
        server=server,
        domains=[BundleDomain(name=name, status=status.value, customer_id=customer_id, archive=archive,
                              trash_days=trash, archive_days=archive_after,
                              dkim=_signing_key(key), **archive_policy[name])
                 for name, status, customer_id, trash, archive_after, archive, key in domains],
        mailboxes=[BundleMailbox(id=id_, local_part=local, domain=domain, password_hash=password_hash,
                                 quota_bytes=quota, enabled=enabled, customer_id=customer_id,
                                 max_message_bytes=max_bytes, sends_per_hour=per_hour, archive=archive,
                                 **self_service.get(id_, {}),
                                 apop_secret=apop_secret if apop else None, pool_bytes=pool,
                                 created=_microseconds(created))
                   for id_, local, domain, password_hash, quota, enabled, customer_id, max_bytes, per_hour,
                   archive, apop, apop_secret, pool, created in mailboxes],
        aliases=_aliases(session, on_node),
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _microseconds(moment: datetime) -> int:
    """A creation time as the bundle's `created`: with the id, it tells maild a mailbox re-created
    at an address from the deleted one (SQLite may reuse the id)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)  # UTCDateTime: always aware


def _signing_key(key: DkimKey | None) -> BundleDkimKey | None:
    if key is None:
        return None
    return BundleDkimKey(selector=key.selector, algorithm=key.algorithm, private_key_pem=dkim_keys.private_key_pem(key))


def _archive_policy(session: Session, on_node: Any) -> dict[str, dict[str, Any]]:
    """Archive retention (the plan's), legal hold (the domain's) and held results by domain name."""
    held_from = (select(func.min(ArchiveHold.first_entry)).where(ArchiveHold.domain_id == Domain.id)
                 .scalar_subquery())
    rows = session.execute(
        select(Domain.name, Plan.archive_retention_days, Domain.legal_hold, held_from)
        .join(Customer, Domain.customer_id == Customer.id).join(Plan, Customer.plan_id == Plan.id).where(on_node)
    )
    return {name: {"archive_retention_days": days or 0, "legal_hold": hold, "archive_hold_from": first}
            for name, days, hold, first in rows}


def _self_service(session: Session, on_node: Any) -> dict[int, dict[str, Any]]:
    """Forwarding, vacation and app passwords by mailbox id, as `maild.config.Mailbox` fields."""
    extras: dict[int, dict[str, Any]] = {}
    rows = session.execute(
        select(Mailbox.id, Mailbox.forward_to, Mailbox.forward_keep_copy, Mailbox.vacation_enabled,
               Mailbox.vacation_subject, Mailbox.vacation_body, Mailbox.vacation_start, Mailbox.vacation_end,
               Mailbox.vacation_interval_days)
        .join(Domain, Mailbox.domain_id == Domain.id).where(on_node)
    )
    for id_, forward_to, keep_copy, on_vacation, subject, body, start, end, interval in rows:
        fields: dict[str, Any] = {}
        if forward_to:
            fields.update(forward_to=tuple(forward_to), forward_keep_copy=keep_copy)
        if on_vacation:
            fields["vacation"] = Vacation(subject=subject, body=body, start=start.isoformat() if start else "",
                                          end=end.isoformat() if end else "", interval_days=interval)
        if fields:
            extras[id_] = fields
    hashes = session.execute(
        select(AppPassword.mailbox_id, AppPassword.password_hash)
        .join(Mailbox, AppPassword.mailbox_id == Mailbox.id).join(Domain, Mailbox.domain_id == Domain.id)
        .where(on_node).order_by(AppPassword.id)
    )
    for mailbox_id, password_hash in hashes:
        extras.setdefault(mailbox_id, {}).setdefault("app_password_hashes", ())
        extras[mailbox_id]["app_password_hashes"] += (password_hash,)
    return extras


def _aliases(session: Session, on_node: Any) -> list[BundleAlias]:
    rows = session.execute(
        select(Alias.id, Alias.local_part, Domain.name, AliasDestination.address)
        .join(Domain, Alias.domain_id == Domain.id)
        .join(AliasDestination, AliasDestination.alias_id == Alias.id)
        .where(on_node).order_by(Alias.id, AliasDestination.id)
    )
    grouped: dict[int, tuple[str, list[str]]] = {}
    for alias_id, local, domain, address in rows:
        grouped.setdefault(alias_id, (f"{local}@{domain}", []))[1].append(address)
    return [BundleAlias(source=source, destinations=tuple(targets)) for source, targets in grouped.values()]


def covers(pattern: str, hostname: str) -> bool:
    """Whether a certificate name (`mx.example.jp` or `*.example.jp`) covers `hostname`."""
    if pattern.startswith("*."):
        head, _, rest = hostname.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == hostname


def _certificates(session: Session, node: Node) -> tuple[TlsCertificate, ...]:
    """Issued certificates the node serves: the provider's for its hostname first (the default),
    then those of customers with a domain on it, for their own mail hostnames (SNI)."""
    customers_here = select(Domain.customer_id).where(Domain.node_id == node.id)
    issued = session.scalars(
        select(Certificate).where(Certificate.cert_pem.is_not(None))
        .where(Certificate.customer_id.is_(None) | Certificate.customer_id.in_(customers_here))
        .order_by(Certificate.customer_id.is_not(None), Certificate.not_after.desc(), Certificate.id)
    )
    return tuple(
        TlsCertificate(names=tuple(certificate.hostnames), cert_pem=certificate.cert_pem or "",
                       key_pem=private_key_pem(certificate))
        for certificate in issued
        if certificate.customer_id is not None or any(covers(n, node.hostname) for n in certificate.hostnames)
    )
