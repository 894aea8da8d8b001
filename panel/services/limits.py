"""Plan limits, reseller allowances and node capacity: every limit check lives here.

Counts are SQL aggregates read after `transaction.lock` on the owning row, never
`len(relationship)`. A `None` limit is unlimited; it can never fit inside a finite one.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Alias, Customer, Domain, Mailbox, Node, Plan, Reseller, ResellerPlan
from panel.services.errors import LimitExceeded

# Plan attribute -> how the limit is named to the user.
LIMIT_NAMES = {
    "max_customers": _l("customers"),
    "max_domains": _l("domains"),
    "max_mailboxes": _l("mailboxes"),
    "max_aliases": _l("aliases"),
    "storage_bytes": _l("storage"),
    "max_quota_bytes": _l("quota per mailbox"),
}
# The dimensions a reseller allowance shares out among the reseller's customers.
ALLOWANCE_DIMENSIONS = ("max_domains", "max_mailboxes", "max_aliases", "storage_bytes")


@dataclass(frozen=True)
class CustomerUsage:
    """What a customer has now, in the units of its plan's limits."""

    max_domains: int
    max_mailboxes: int
    max_aliases: int
    storage_bytes: int
    max_quota_bytes: int

    def over(self, plan: Plan) -> list[str]:
        """Human-readable lines for every limit of `plan` this usage exceeds."""
        lines = []
        for field in fields(self):
            limit = getattr(plan, field.name)
            used = getattr(self, field.name)
            if limit is not None and used > limit:
                lines.append(_describe_over(field.name, used, limit))
        return lines


def _describe_over(name: str, used: int, limit: int) -> str:
    if name.endswith("bytes"):
        return str(_l("%(what)s: %(used)s in use, limit %(limit)s",
                       what=LIMIT_NAMES[name], used=format_bytes(used), limit=format_bytes(limit)))
    return str(_l("%(what)s: %(used)d in use, limit %(limit)d",
                  what=LIMIT_NAMES[name], used=used, limit=limit))


def format_bytes(value: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


def customer_usage(customer_id: int) -> CustomerUsage:
    domains = select(Domain.id).where(Domain.customer_id == customer_id)
    mailbox_row = db.session.execute(
        select(func.count(Mailbox.id), func.coalesce(func.sum(Mailbox.quota_bytes), 0),
               func.coalesce(func.max(Mailbox.quota_bytes), 0))
        .where(Mailbox.domain_id.in_(domains))
    ).one()
    return CustomerUsage(
        max_domains=db.session.scalar(select(func.count()).select_from(domains.subquery())) or 0,
        max_mailboxes=mailbox_row[0],
        max_aliases=db.session.scalar(
            select(func.count(Alias.id)).where(Alias.domain_id.in_(domains))
        ) or 0,
        storage_bytes=int(mailbox_row[1]),
        max_quota_bytes=int(mailbox_row[2]),
    )


def _refuse(name: str, limit: int, field: str | None = None) -> LimitExceeded:
    shown = format_bytes(limit) if name.endswith("bytes") else str(limit)
    return LimitExceeded(
        name,
        _l("Plan limit reached: %(what)s is limited to %(limit)s.", what=LIMIT_NAMES[name], limit=shown),
        field,
    )


def check_can_add(plan: Plan, usage: CustomerUsage, name: str, amount: int = 1,
                  field: str | None = None) -> None:
    """Refuse adding `amount` to the `name` dimension of `usage` beyond `plan`'s limit."""
    limit = getattr(plan, name)
    if limit is not None and getattr(usage, name) + amount > limit:
        raise _refuse(name, limit, field)


def check_quota(plan: Plan, usage: CustomerUsage, quota: int, replacing: int = 0) -> None:
    """A mailbox quota must be positive, within the per-mailbox maximum and the plan's storage."""
    if plan.max_quota_bytes is not None and quota > plan.max_quota_bytes:
        raise _refuse("max_quota_bytes", plan.max_quota_bytes, "quota")
    check_can_add(plan, usage, "storage_bytes", quota - replacing, "quota")


def check_plan_fits_usage(plan: Plan, customer_ids: list[int]) -> None:
    """Refuse a plan change that would put any of these customers over a limit."""
    problems = []
    for customer_id in customer_ids:
        lines = customer_usage(customer_id).over(plan)
        if lines:
            name = db.session.get(Customer, customer_id).name  # type: ignore[union-attr]
            problems.append(f"{name}: " + "; ".join(lines))
    if problems:
        raise LimitExceeded(
            "usage", _l("The plan is below current usage: %(problems)s", problems=" | ".join(problems))
        )


def reseller_allocated(reseller_id: int, exclude_customer: int | None = None) -> dict[str, int | None]:
    """Sum of each allowance dimension over the reseller's customers' plans (None: unlimited)."""
    stmt = (
        select(Plan, func.count(Customer.id))
        .join(Customer, Customer.plan_id == Plan.id)
        .where(Customer.reseller_id == reseller_id)
        .group_by(Plan.id)
    )
    if exclude_customer is not None:
        stmt = stmt.where(Customer.id != exclude_customer)
    totals: dict[str, int | None] = {name: 0 for name in ALLOWANCE_DIMENSIONS}
    customers = 0
    for plan, count in db.session.execute(stmt):
        customers += count
        for name in ALLOWANCE_DIMENSIONS:
            value = getattr(plan, name)
            current = totals[name]
            totals[name] = None if value is None or current is None else current + value * count
    totals["max_customers"] = customers
    return totals


def check_allowance(allowance: ResellerPlan, allocated: dict[str, int | None],
                    adding: dict[str, int | None]) -> None:
    """Refuse when `allocated` plus `adding` (per dimension) would exceed the allowance."""
    for name, extra in adding.items():
        limit = getattr(allowance, name)
        if limit is None:
            continue
        current = allocated.get(name, 0)
        if extra is None or current is None:
            raise LimitExceeded(name, _l(
                "Your allowance limits %(what)s to %(limit)s, so unlimited is not possible.",
                what=LIMIT_NAMES[name], limit=_shown(name, limit)))
        if current + extra > limit:
            raise LimitExceeded(name, _l(
                "Reseller allowance exceeded: %(what)s would be %(total)s of %(limit)s.",
                what=LIMIT_NAMES[name], total=_shown(name, current + extra), limit=_shown(name, limit)))


def _shown(name: str, value: int) -> str:
    return format_bytes(value) if name.endswith("bytes") else str(value)


def plan_allocation(plan: Plan, customers: int = 1) -> dict[str, int | None]:
    """What `customers` customers on `plan` take out of a reseller allowance."""
    return {
        name: None if getattr(plan, name) is None else getattr(plan, name) * customers
        for name in ALLOWANCE_DIMENSIONS
    }


def check_plan_within_allowance(plan: Plan, allowance: ResellerPlan) -> None:
    """A single reseller plan may not promise more than the whole allowance."""
    check_allowance(allowance, {}, plan_allocation(plan))


def check_reseller_allowance_covers(reseller: Reseller, allowance: ResellerPlan) -> None:
    """Refuse giving a reseller an allowance smaller than what it has already sold."""
    allocated = reseller_allocated(reseller.id)
    check_allowance(allowance, {}, allocated)


def node_load(node_id: int) -> tuple[int, int]:
    """(mailboxes, allocated quota bytes) on a node."""
    row = db.session.execute(
        select(func.count(Mailbox.id), func.coalesce(func.sum(Mailbox.quota_bytes), 0))
        .join(Domain, Mailbox.domain_id == Domain.id)
        .where(Domain.node_id == node_id)
    ).one()
    return row[0], int(row[1])


def check_node_capacity(node: Node, mailboxes: int, quota_bytes: int) -> None:
    used_mailboxes, used_bytes = node_load(node.id)
    if node.max_mailboxes is not None and used_mailboxes + mailboxes > node.max_mailboxes:
        raise LimitExceeded("node_mailboxes", _l(
            "The mail server %(node)s is full (%(limit)d mailboxes); ask your provider.",
            node=node.name, limit=node.max_mailboxes))
    if node.storage_bytes is not None and used_bytes + quota_bytes > node.storage_bytes:
        raise LimitExceeded("node_storage", _l(
            "The mail server %(node)s has no storage left for this quota; ask your provider.",
            node=node.name), "quota")
