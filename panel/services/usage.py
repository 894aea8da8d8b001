"""Usage dashboards, history and billing: read-only views scoped to what the actor may see.

Percentages are computed in SQL so lists sort and filter there (fast at 100k mailboxes). A
customer's storage is measured against its plan's storage pool when the plan has one, else
against the quotas its mailboxes were given. Cleanup policies are set here too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import joinedload

from panel.extensions import db
from panel.models import Customer, Domain, Mailbox, Node, Plan, Reseller, Role, UsageSample
from panel.models.base import to_unicode
from panel.services import audit
from panel.services.access import get_visible, require_role, scope
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.transaction import unit_of_work

NEAR_LEVELS = (80, 95)
MAX_POLICY_DAYS = 3650


def percent(used: Any, limit: Any) -> Any:
    """SQL: `used` as a percentage of `limit`, 0 when there is no limit."""
    return case((limit > 0, used * 100.0 / limit), else_=literal(0.0))


def mailbox_listing(near: int | None = None) -> Select[Any]:
    """Mailboxes fullest first (to be scoped and paginated), optionally only those >= `near` %."""
    used = percent(Mailbox.used_bytes, Mailbox.quota_bytes)
    stmt = select(Mailbox)
    if near is not None:
        stmt = stmt.where(Mailbox.quota_bytes > 0, Mailbox.used_bytes * 100 >= Mailbox.quota_bytes * near)
    return stmt.order_by(used.desc(), Mailbox.id)


@dataclass(frozen=True)
class UsageRow:
    """One domain or customer: storage used against its limit, and its mailbox count."""

    id: int
    label: str
    used: int
    limit: int | None
    mailboxes: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.limit if self.limit else 0.0


def domain_rows(actor: Actor, customer_id: int | None = None) -> list[UsageRow]:
    """Domains fullest first: their mailboxes' usage against the quotas given."""
    used, quota = func.coalesce(func.sum(Mailbox.used_bytes), 0), func.coalesce(func.sum(Mailbox.quota_bytes), 0)
    stmt = (select(Domain.id, Domain.name, used, quota, func.count(Mailbox.id))
            .outerjoin(Mailbox, Mailbox.domain_id == Domain.id).group_by(Domain.id, Domain.name)
            .order_by(percent(used, quota).desc(), Domain.name))
    if customer_id is not None:
        stmt = stmt.where(Domain.customer_id == customer_id)
    rows = db.session.execute(scope(actor, stmt, Domain))
    return [UsageRow(id_, to_unicode(name), int(u), int(q), n) for id_, name, u, q, n in rows]


def customer_rows(actor: Actor) -> list[UsageRow]:
    """Customers fullest first: real usage against the plan's pool (or the quotas given)."""
    totals = (select(Domain.customer_id.label("customer_id"),
                     func.sum(Mailbox.used_bytes).label("used"), func.sum(Mailbox.quota_bytes).label("quota"),
                     func.count(Mailbox.id).label("mailboxes"))
              .join(Mailbox, Mailbox.domain_id == Domain.id).group_by(Domain.customer_id).subquery())
    used = func.coalesce(totals.c.used, 0)
    limit = func.coalesce(Plan.storage_bytes, totals.c.quota, 0)
    stmt = (select(Customer.id, Customer.name, used, limit, func.coalesce(totals.c.mailboxes, 0))
            .join(Plan, Customer.plan_id == Plan.id).outerjoin(totals, totals.c.customer_id == Customer.id)
            .order_by(percent(used, limit).desc(), Customer.name))
    return [UsageRow(id_, name, int(u), int(q) or None, n) for id_, name, u, q, n in db.session.execute(scope(actor, stmt, Customer))]


def customer_pool(actor: Actor, customer_id: int) -> UsageRow:
    """One customer's real usage against its plan's storage pool (None: unlimited)."""
    customer = get_visible(actor, Customer, customer_id)
    used, count = db.session.execute(
        select(func.coalesce(func.sum(Mailbox.used_bytes), 0), func.count(Mailbox.id))
        .join(Domain, Mailbox.domain_id == Domain.id).where(Domain.customer_id == customer.id)).one()
    return UsageRow(customer.id, customer.name, int(used), customer.plan.storage_bytes, count)


@dataclass(frozen=True)
class NodeCapacity:
    name: str
    tier: str
    customer: str | None  # the owner of a dedicated node
    mailboxes: int
    max_mailboxes: int | None
    used: int
    allocated: int  # sum of the quotas given
    storage: int | None

    @property
    def mailbox_percent(self) -> float:
        return 100.0 * self.mailboxes / self.max_mailboxes if self.max_mailboxes else 0.0

    @property
    def storage_percent(self) -> float:
        return 100.0 * self.used / self.storage if self.storage else 0.0


def node_capacity(actor: Actor) -> list[NodeCapacity]:
    """Every node's mailboxes and storage against its capacity (admins only)."""
    require_role(actor, Role.ADMIN)
    totals = (select(Domain.node_id.label("node_id"), func.count(Mailbox.id).label("mailboxes"),
                     func.sum(Mailbox.used_bytes).label("used"), func.sum(Mailbox.quota_bytes).label("quota"))
              .join(Mailbox, Mailbox.domain_id == Domain.id).group_by(Domain.node_id).subquery())
    rows = db.session.execute(
        select(Node.name, Node.tier, Customer.name, func.coalesce(totals.c.mailboxes, 0), Node.max_mailboxes,
               func.coalesce(totals.c.used, 0), func.coalesce(totals.c.quota, 0), Node.storage_bytes)
        .outerjoin(totals, totals.c.node_id == Node.id).outerjoin(Customer, Node.customer_id == Customer.id)
        .order_by(Node.name))
    return [NodeCapacity(name, tier.value, owner, count, max_count, int(used), int(quota), storage)
            for name, tier, owner, count, max_count, used, quota, storage in rows]


def near_limit_counts(actor: Actor) -> dict[int, int]:
    """How many visible mailboxes are at or above each warning level."""
    return {level: db.session.scalar(scope(actor, select(func.count(Mailbox.id)).where(
        Mailbox.quota_bytes > 0, Mailbox.used_bytes * 100 >= Mailbox.quota_bytes * level), Mailbox)) or 0
        for level in NEAR_LEVELS}


def fullest_mailboxes(actor: Actor, customer_id: int | None = None, warned: bool = False,
                      limit: int = 50) -> list[Mailbox]:
    """The fullest visible mailboxes (of one customer), or only those maild warned (80% or 95%)."""
    stmt = mailbox_listing().options(joinedload(Mailbox.domain)).limit(limit)
    if customer_id is not None:
        stmt = stmt.where(Mailbox.domain.has(customer_id=customer_id))
    if warned:
        stmt = stmt.where(Mailbox.quota_warning > 0)
    return list(db.session.scalars(scope(actor, stmt, Mailbox)))


# ---- history -------------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryPoint:
    day: date
    used: int
    freed_messages: int
    freed_bytes: int


def _history(mailbox_filter: Any, days: int) -> list[HistoryPoint]:
    since = datetime.now(UTC).date() - timedelta(days=days - 1)
    rows = db.session.execute(
        select(UsageSample.day, func.sum(UsageSample.used_bytes), func.sum(UsageSample.freed_messages),
               func.sum(UsageSample.freed_bytes))
        .where(UsageSample.day >= since, mailbox_filter).group_by(UsageSample.day).order_by(UsageSample.day))
    return [HistoryPoint(day, int(used), int(messages), int(freed)) for day, used, messages, freed in rows]


def mailbox_history(actor: Actor, mailbox_id: int, days: int = 90) -> tuple[Mailbox, list[HistoryPoint]]:
    mailbox = get_visible(actor, Mailbox, mailbox_id)
    return mailbox, _history(UsageSample.mailbox_id == mailbox.id, days)


def customer_history(actor: Actor, customer_id: int, days: int = 90) -> tuple[Customer, list[HistoryPoint]]:
    customer = get_visible(actor, Customer, customer_id)
    theirs = select(Mailbox.id).join(Domain, Mailbox.domain_id == Domain.id).where(Domain.customer_id == customer.id)
    return customer, _history(UsageSample.mailbox_id.in_(theirs), days)


# ---- billing -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Charge:
    """This month's charge for one customer: mailboxes x price, plus the setup fee in its first month."""

    customer_id: int
    customer: str
    reseller: str | None
    plan: str
    mailboxes: int
    price_per_mailbox: Decimal
    setup_fee: Decimal
    currency: str

    @property
    def total(self) -> Decimal:
        return self.price_per_mailbox * self.mailboxes + self.setup_fee


def charges(actor: Actor, month: date | None = None) -> list[Charge]:
    """The monthly charge of every customer the actor sees (admins, resellers, the customer itself)."""
    require_role(actor, Role.ADMIN, Role.RESELLER, Role.CUSTOMER)
    first = (month or datetime.now(UTC).date()).replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    counts = (select(Domain.customer_id.label("customer_id"), func.count(Mailbox.id).label("mailboxes"))
              .join(Mailbox, Mailbox.domain_id == Domain.id).group_by(Domain.customer_id).subquery())
    new_this_month = and_(Customer.created_at >= datetime.combine(first, time(), UTC),
                          Customer.created_at < datetime.combine(next_month, time(), UTC))
    stmt = (select(Customer.id, Customer.name, Reseller.name, Plan.name, func.coalesce(counts.c.mailboxes, 0),
                   Plan.price_per_mailbox, case((new_this_month, Plan.setup_fee), else_=literal(0)), Plan.currency)
            .join(Plan, Customer.plan_id == Plan.id).outerjoin(Reseller, Customer.reseller_id == Reseller.id)
            .outerjoin(counts, counts.c.customer_id == Customer.id).order_by(Reseller.name, Customer.name))
    return [Charge(id_, name, reseller, plan, count, Decimal(price), Decimal(fee), currency)
            for id_, name, reseller, plan, count, price, fee, currency in db.session.execute(scope(actor, stmt, Customer))]


def totals_by_currency(rows: list[Charge]) -> dict[str, Decimal]:
    """Sum of charges per currency (plans may be priced in different currencies)."""
    return {currency: total for (_, currency), total in _sums(rows, by_reseller=False).items()}


def totals_by_reseller(rows: list[Charge]) -> dict[tuple[str | None, str], Decimal]:
    """Sum of charges per (reseller, currency); `None` for the provider's direct customers."""
    return _sums(rows, by_reseller=True)


def _sums(rows: list[Charge], by_reseller: bool) -> dict[tuple[str | None, str], Decimal]:
    totals: dict[tuple[str | None, str], Decimal] = {}
    for charge in rows:
        key = (charge.reseller if by_reseller else None, charge.currency)
        totals[key] = totals.get(key, Decimal(0)) + charge.total
    return totals


# ---- cleanup policy ------------------------------------------------------------------------

def _days(field: str, value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_POLICY_DAYS:
        raise Invalid(field, _l("Enter a number of days from 0 to %(max)d, or leave it empty.", max=MAX_POLICY_DAYS))
    return value


def set_domain_cleanup(actor: Actor, domain_id: int, trash_days: int | None, archive_days: int | None) -> Domain:
    """A domain's cleanup policy in days (None: the plan's default, 0: never)."""
    require_role(actor, Role.ADMIN, Role.RESELLER, Role.CUSTOMER)
    domain = get_visible(actor, Domain, domain_id)
    return _set_policy(actor, domain, trash_days, archive_days, customer_id=domain.customer_id)


def set_plan_cleanup(actor: Actor, plan_id: int, trash_days: int | None, archive_days: int | None) -> Plan:
    """A plan's default cleanup policy for its customers' domains (None: never)."""
    require_role(actor, Role.ADMIN, Role.RESELLER)
    plan = get_visible(actor, Plan, plan_id)
    return _set_policy(actor, plan, trash_days, archive_days, reseller_id=plan.reseller_id)


P = TypeVar("P", Domain, Plan)


def _set_policy(actor: Actor, target: P, trash_days: int | None, archive_days: int | None, **filed_under: int | None) -> P:
    """Validate and store both days, audited under the tenant the change concerns."""
    trash_days, archive_days = _days("trash_days", trash_days), _days("archive_days", archive_days)
    with unit_of_work():
        target.trash_days, target.archive_days = trash_days, archive_days
        audit.record(actor, f"{type(target).__name__.lower()}.cleanup", target,
                     trash_days=trash_days, archive_days=archive_days, **filed_under)  # type: ignore[arg-type]
    return target
