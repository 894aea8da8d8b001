"""The mail archive in the panel: who may search, read and export it, legal holds, the auditor grant.

maild owns the journals (`maild.archive`); the panel reads its node's through the read-only
reader functions. Admins may always look; customer staff only with the `auditor` permission a
colleague grants; a reseller acting for a customer may not (the archive is the customer's
evidence, not the reseller's). Every search, view and export is written to the audit log
before anything is shown, so a look that fails midway is still on record.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from maild.archive import reader
from maild.archive.capture import ARCHIVE_DIR
from maild.archive.journal import domains as journal_domains
from panel.extensions import db
from panel.models import ArchiveHold, AuditEvent, Domain, Role, User
from panel.services import audit
from panel.services.access import get_visible, require_role, scope
from panel.services.actor import Actor
from panel.services.errors import Forbidden, Invalid, NotFound
from panel.services.transaction import unit_of_work


# A search page counts this many matches at most (a common word in a large archive); exports count all.
COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class Archive:
    """What an audit event about a look at the archive names as its object (not a table row)."""

    id: int | None = None


def archive_root() -> Path:
    return Path(current_app.config["MAILD_DATA_DIR"]) / ARCHIVE_DIR


def may_audit(actor: Actor) -> bool:
    if actor.role is Role.ADMIN or (actor.role is Role.CUSTOMER and actor.real_role is Role.ADMIN):
        return True
    if actor.role is not Role.CUSTOMER or actor.real_role is not Role.CUSTOMER or actor.user_id is None:
        return False
    return bool(db.session.scalar(select(User.auditor).where(User.id == actor.user_id, User.is_active.is_(True))))


def require_auditor(actor: Actor) -> None:
    if not may_audit(actor):
        raise Forbidden(_l("Only auditors may use the mail archive."))


def visible_domains(actor: Actor) -> list[Domain]:
    """The domains whose archive `actor` may search (all of them for admins)."""
    require_auditor(actor)
    return list(db.session.scalars(scope(actor, select(Domain).order_by(Domain.name))))


def _searched(actor: Actor, domain_id: int | None) -> list[Domain]:
    if domain_id is not None:
        require_auditor(actor)
        return [get_visible(actor, Domain, domain_id)]
    return visible_domains(actor)


def _tenant(actor: Actor, domains: list[Domain]) -> int | None:
    """The customer an audit event is filed under: the one whose archive was read, if only one."""
    owners = {domain.customer_id for domain in domains}
    return owners.pop() if len(owners) == 1 else actor.customer_id


def _record(actor: Actor, action: str, obj: Any, domains: list[Domain], **detail: Any) -> None:
    with unit_of_work():
        audit.record(actor, action, obj, customer_id=_tenant(actor, domains), **detail)


def _query_detail(query: reader.Query) -> dict[str, Any]:
    return {key: value for key, value in asdict(query).items() if value}


def _checked(query: reader.Query) -> None:
    try:
        query.check()
    except reader.QueryError as error:
        raise Invalid(error.field, _l("The end date is before the start date.")
                      if error.field == "until" else _l("Not a valid choice.")) from None


@dataclass(frozen=True)
class Results:
    hits: list[reader.Hit]
    total: int
    page: int
    per_page: int
    domain_ids: dict[str, int]  # domain name -> id, for links

    @property
    def more(self) -> bool:
        """More matches than were counted: the page says so, and pages stop at COUNT_LIMIT."""
        return self.total > COUNT_LIMIT

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, COUNT_LIMIT) // self.per_page))


def _look(actor: Actor, action: str, query: reader.Query, domain_id: int | None, at_most: int | None = None,
          **detail: Any) -> tuple[list[Domain], int]:
    """The domains a search or export covers and its number of matches, recorded under `action`."""
    domains = _searched(actor, domain_id)
    _checked(query)
    total = reader.count(archive_root(), [domain.name for domain in domains], query, at_most=at_most)
    _record(actor, action, domains[0] if domain_id else Archive(), domains, results=total, **detail,
            **_query_detail(query))
    return domains, total


def search(actor: Actor, query: reader.Query, *, domain_id: int | None = None, page: int = 1,
           per_page: int = 50) -> Results:
    """One page of matching entries, newest first; recorded as `archive.search`."""
    page = max(1, page)
    domains, total = _look(actor, "archive.search", query, domain_id, COUNT_LIMIT + 1, page=page)
    page = min(page, max(1, -(-min(total, COUNT_LIMIT) // per_page)))  # past the end: the last page
    hits = reader.search(archive_root(), [domain.name for domain in domains], query,
                         offset=(page - 1) * per_page, limit=per_page)
    return Results(hits, total, page, per_page, {domain.name: domain.id for domain in domains})


def read(actor: Actor, domain_id: int, entry: int) -> tuple[reader.Hit, bytes]:
    """One archived message as received; recorded as `archive.view` (a missing one is a 404)."""
    domain = _searched(actor, domain_id)[0]
    found = reader.read_message(archive_root(), domain.name, entry)
    if found is None:
        raise NotFound(_l("Not found."))
    _record(actor, "archive.view", domain, [domain], entry=entry, hash=found[0].hash)
    return found


@dataclass(frozen=True)
class Export:
    total: int
    messages: Iterator[tuple[reader.Hit, bytes]]


def export(actor: Actor, query: reader.Query, *, domain_id: int | None = None, fmt: str) -> Export:
    """Every matching message, read lazily while the response streams; recorded as `archive.export`."""
    domains, total = _look(actor, "archive.export", query, domain_id, format=fmt)
    return Export(total, reader.matching(archive_root(), [domain.name for domain in domains], query))


def usage(actor: Actor) -> dict[int, reader.Usage]:
    """Archive size by domain id: the archive's own figure, apart from mailbox quotas."""
    return {domain.id: reader.usage(archive_root(), domain.name) for domain in visible_domains(actor)}


def _set_flag(actor: Actor, obj: Domain | User, attribute: str, value: bool, action: str,
              customer_id: int | None) -> None:
    with unit_of_work():
        setattr(obj, attribute, value)
        audit.record(actor, action, obj, customer_id=customer_id, **{attribute: value})


def set_legal_hold(actor: Actor, domain_id: int, hold: bool) -> Domain:
    """Admins only: while held, `maild archive purge` keeps everything of the domain."""
    domain = holdable(actor, domain_id)
    _set_flag(actor, domain, "legal_hold", hold, "archive.legal_hold", domain.customer_id)
    return domain


def set_auditor(actor: Actor, user_id: int, auditor: bool) -> User:
    """Customer staff grant or withdraw a colleague's archive access (admins for anyone's staff)."""
    user = auditor_candidate(actor, user_id)
    _set_flag(actor, user, "auditor", auditor, "user.auditor", user.customer_id)
    return user


def auditor_candidate(actor: Actor, user_id: int) -> User:
    """The login whose auditor permission `actor` may change (checked before reading any input)."""
    require_role(actor, Role.ADMIN, Role.CUSTOMER)
    user = get_visible(actor, User, user_id)
    if user.role is not Role.CUSTOMER:
        raise Invalid(None, _l("Only customer staff can be auditors."))
    if user.id == actor.user_id:
        raise Forbidden(_l("A colleague must change your own archive access."))
    return user


def holdable(actor: Actor, domain_id: int) -> Domain:
    """The domain whose legal hold `actor` may set: admins only."""
    require_role(actor, Role.ADMIN)
    return get_visible(actor, Domain, domain_id)


def hold_results(actor: Actor, query: reader.Query, reason: str, *, domain_id: int | None = None) -> list[ArchiveHold]:
    """Admins only: keep a search's results through every purge, one hold per domain with matches."""
    require_role(actor, Role.ADMIN)
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise Invalid("reason", _l("Say why the results are held (at most 500 characters)."))
    domains = _searched(actor, domain_id)
    _checked(query)
    holds = []
    with unit_of_work():
        for domain in domains:
            found = reader.first_match(archive_root(), domain.name, query)
            if found is None:
                continue
            first, entries = found
            hold = ArchiveHold(domain_id=domain.id, first_entry=first, entries=entries, reason=reason,
                               query=_query_detail(query), user_id=actor.user_id)
            db.session.add(hold)
            audit.record(actor, "archive.hold_results", hold, customer_id=domain.customer_id, domain=domain.name,
                         entries=entries, first_entry=first, reason=reason, **_query_detail(query))
            holds.append(hold)
        if not holds:
            raise Invalid(None, _l("Nothing matches this search, so there is nothing to hold."))
    return holds


def holds(actor: Actor) -> list[tuple[ArchiveHold, Domain]]:
    """The result holds on the domains the actor may search, newest first."""
    require_auditor(actor)
    stmt = scope(actor, select(ArchiveHold, Domain).join(Domain, ArchiveHold.domain_id == Domain.id), Domain)
    return [(hold, domain) for hold, domain in db.session.execute(stmt.order_by(ArchiveHold.created_at.desc()))]


def release_hold(actor: Actor, hold_id: int) -> None:
    """Admins only: the held results become subject to retention again."""
    require_role(actor, Role.ADMIN)
    with unit_of_work():
        hold = db.session.get(ArchiveHold, hold_id)
        if hold is None:
            raise NotFound(_l("Not found."))
        domain = db.session.get(Domain, hold.domain_id)
        audit.record(actor, "archive.release_results", hold, customer_id=domain.customer_id if domain else None,
                     entries=hold.entries, reason=hold.reason)
        db.session.delete(hold)


def colleagues(actor: Actor) -> list[User]:
    """Customer staff whose auditor permission `actor` may change."""
    require_role(actor, Role.ADMIN, Role.CUSTOMER)
    stmt = select(User).where(User.role == Role.CUSTOMER).order_by(User.customer_id, User.email)
    return list(db.session.scalars(scope(actor, stmt, User)))


def import_purges(actor: Actor) -> int:
    """Copy purges maild made on this node into the audit log (each once); how many were new."""
    require_role(actor, Role.ADMIN)
    root = archive_root()
    names = journal_domains(root)
    imported = 0
    for domain in db.session.scalars(select(Domain).where(Domain.name.in_(names))):
        seen = db.session.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "archive.purge", AuditEvent.object_type == "domain",
            AuditEvent.object_id == domain.id))
        after = max((int(detail.get("purge_id", 0)) for detail in seen), default=0)
        records = reader.purges(root, domain.name, after=after)
        with unit_of_work():
            for record in records:
                audit.record(actor, "archive.purge", domain, customer_id=domain.customer_id, purge_id=record.id,
                             at=record.at, cutoff=record.cutoff, entries=record.entries, bytes=record.bytes)
        imported += len(records)
    return imported
