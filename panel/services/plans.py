"""Customer plans (sold by the provider or a reseller) and reseller allowances."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Customer, Domain, Plan, Reseller, ResellerPlan, Role, Tier
from panel.services import audit, limits, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Forbidden, Invalid
from panel.services.transaction import lock, unit_of_work

GIB = 1024**3
MIB = 1024**2


@dataclass
class PlanSpec:
    """Everything a plan sets. Limits: None is unlimited, 0 is zero."""

    name: str
    tier: Tier = Tier.SHARED
    max_domains: int | None = 1
    max_mailboxes: int | None = 10
    max_aliases: int | None = 20
    storage_bytes: int | None = 10 * GIB
    max_quota_bytes: int | None = 2 * GIB
    default_quota_bytes: int = 1 * GIB
    max_message_bytes: int = 25 * MIB
    sends_per_hour: int | None = 200
    archiving: bool = False
    archive_retention_days: int = 0
    allow_apop: bool = False
    price_per_mailbox: Decimal = Decimal(0)
    setup_fee: Decimal = Decimal(0)
    currency: str = "JPY"

    def validated(self) -> PlanSpec:
        """Check each field and the relations between them; return self normalised."""
        self.name = validation.name(self.name)
        for field in ("max_domains", "max_mailboxes", "max_aliases", "storage_bytes",
                      "max_quota_bytes", "sends_per_hour"):
            validation.non_negative(getattr(self, field), field)
        validation.positive(self.default_quota_bytes, "default_quota_bytes")
        validation.positive(self.max_message_bytes, "max_message_bytes")
        if self.max_quota_bytes is not None and self.default_quota_bytes > self.max_quota_bytes:
            raise Invalid("default_quota_bytes", _l("The default quota is above the maximum quota per mailbox."))
        if self.storage_bytes is not None:
            if self.default_quota_bytes > self.storage_bytes:
                raise Invalid("default_quota_bytes", _l("The default quota is above the plan's total storage."))
            if self.max_quota_bytes is not None and self.max_quota_bytes > self.storage_bytes:
                raise Invalid("max_quota_bytes", _l("The maximum quota is above the plan's total storage."))
        if self.archiving and self.archive_retention_days <= 0:
            raise Invalid("archive_retention_days", _l("Archiving needs a retention of at least one day."))
        if self.archive_retention_days < 0:
            raise Invalid("archive_retention_days", _l("Must be zero or more (leave empty for unlimited)."))
        if self.price_per_mailbox < 0 or self.setup_fee < 0:
            raise Invalid("price_per_mailbox", _l("Prices cannot be negative."))
        self.currency = self.currency.strip().upper()
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise Invalid("currency", _l("Use a three-letter currency code such as JPY."))
        self.tier = Tier(self.tier)
        return self


@dataclass
class AllowanceSpec:
    """A reseller plan: what the reseller may share out among its customers."""

    name: str
    max_customers: int | None = 10
    max_domains: int | None = 10
    max_mailboxes: int | None = 100
    max_aliases: int | None = 200
    storage_bytes: int | None = 100 * GIB

    def validated(self) -> AllowanceSpec:
        self.name = validation.name(self.name)
        for field in ("max_customers", "max_domains", "max_mailboxes", "max_aliases", "storage_bytes"):
            validation.non_negative(getattr(self, field), field)
        return self


def _plan_name_taken(name: str, reseller_id: int | None, exclude: int | None = None) -> bool:
    # `== None` renders as IS NULL: provider plans share one namespace.
    stmt = select(func.count(Plan.id)).where(Plan.name == name, Plan.reseller_id == reseller_id)
    if exclude is not None:
        stmt = stmt.where(Plan.id != exclude)
    return bool(db.session.scalar(stmt))


def create_plan(actor: Actor, spec: PlanSpec) -> Plan:
    """A provider plan (admin) or a plan of the acting reseller, within its allowance."""
    require_role(actor, Role.ADMIN, Role.RESELLER)
    spec.validated()
    reseller_id = actor.reseller_id if actor.role is Role.RESELLER else None
    with unit_of_work():
        if _plan_name_taken(spec.name, reseller_id):
            raise Invalid("name", _l("A plan with this name already exists."))
        plan = Plan(reseller_id=reseller_id, **asdict(spec))
        if reseller_id is not None:
            reseller = db.session.get(Reseller, reseller_id)
            limits.check_plan_within_allowance(plan, reseller.reseller_plan)  # type: ignore[union-attr]
        db.session.add(plan)
        audit.record(actor, "plan.create", plan, reseller_id=reseller_id, name=plan.name)
    return plan


def update_plan(actor: Actor, plan_id: int, spec: PlanSpec) -> Plan:
    """Change a plan; refused if any customer on it would be over a limit or an allowance."""
    require_role(actor, Role.ADMIN, Role.RESELLER)
    spec.validated()
    with unit_of_work():
        plan = get_visible(actor, Plan, plan_id)
        if plan.reseller_id is not None:
            lock(Reseller, plan.reseller_id)
        if _plan_name_taken(spec.name, plan.reseller_id, exclude=plan.id):
            raise Invalid("name", _l("A plan with this name already exists."))
        customer_ids = list(db.session.scalars(select(Customer.id).where(Customer.plan_id == plan.id)))
        for customer_id in customer_ids:
            lock(Customer, customer_id)
        if spec.tier != plan.tier and db.session.scalar(
            select(func.count(Domain.id)).where(Domain.customer_id.in_(customer_ids))
        ):
            raise Invalid("tier", _l("The tier cannot change while customers on this plan have domains."))
        before = {key: getattr(plan, key) for key in asdict(spec)}
        for key, value in asdict(spec).items():
            setattr(plan, key, value)
        limits.check_plan_fits_usage(plan, customer_ids)
        if plan.reseller_id is not None:
            reseller = db.session.get(Reseller, plan.reseller_id)
            assert reseller is not None
            limits.check_plan_within_allowance(plan, reseller.reseller_plan)
            limits.check_reseller_allowance_covers(reseller, reseller.reseller_plan)
        changes = {k: [before[k], v] for k, v in asdict(spec).items() if before[k] != v}
        audit.record(actor, "plan.update", plan, reseller_id=plan.reseller_id, changes=changes)
    return plan


def delete_plan(actor: Actor, plan_id: int) -> None:
    require_role(actor, Role.ADMIN, Role.RESELLER)
    with unit_of_work():
        plan = get_visible(actor, Plan, plan_id)
        in_use = db.session.scalar(select(func.count(Customer.id)).where(Customer.plan_id == plan.id))
        if in_use:
            raise Invalid(None, _l("The plan is used by %(n)d customers; move them first.", n=in_use))
        audit.record(actor, "plan.delete", plan, reseller_id=plan.reseller_id, name=plan.name)
        db.session.delete(plan)


def customer_count(plan_id: int) -> int:
    return db.session.scalar(select(func.count(Customer.id)).where(Customer.plan_id == plan_id)) or 0


def create_allowance(actor: Actor, spec: AllowanceSpec) -> ResellerPlan:
    require_role(actor, Role.ADMIN)
    spec.validated()
    with unit_of_work():
        if db.session.scalar(select(func.count(ResellerPlan.id)).where(ResellerPlan.name == spec.name)):
            raise Invalid("name", _l("A reseller plan with this name already exists."))
        allowance = ResellerPlan(**asdict(spec))
        db.session.add(allowance)
        audit.record(actor, "reseller_plan.create", allowance, name=allowance.name)
    return allowance


def update_allowance(actor: Actor, allowance_id: int, spec: AllowanceSpec) -> ResellerPlan:
    """Refused when a reseller on it has already sold more than the new allowance."""
    require_role(actor, Role.ADMIN)
    spec.validated()
    with unit_of_work():
        allowance = get_visible(actor, ResellerPlan, allowance_id)
        if db.session.scalar(select(func.count(ResellerPlan.id)).where(
                ResellerPlan.name == spec.name, ResellerPlan.id != allowance.id)):
            raise Invalid("name", _l("A reseller plan with this name already exists."))
        for key, value in asdict(spec).items():
            setattr(allowance, key, value)
        for reseller in db.session.scalars(select(Reseller).where(Reseller.reseller_plan_id == allowance.id)):
            lock(Reseller, reseller.id)
            check_reseller_fits(reseller, allowance)
        audit.record(actor, "reseller_plan.update", allowance, **asdict(spec))
    return allowance


def check_reseller_fits(reseller: Reseller, allowance: ResellerPlan) -> None:
    """The reseller's customers and every plan it sells must fit in `allowance`."""
    limits.check_reseller_allowance_covers(reseller, allowance)
    for plan in db.session.scalars(select(Plan).where(Plan.reseller_id == reseller.id)):
        limits.check_plan_within_allowance(plan, allowance)


def delete_allowance(actor: Actor, allowance_id: int) -> None:
    require_role(actor, Role.ADMIN)
    with unit_of_work():
        allowance = get_visible(actor, ResellerPlan, allowance_id)
        in_use = db.session.scalar(select(func.count(Reseller.id)).where(Reseller.reseller_plan_id == allowance.id))
        if in_use:
            raise Invalid(None, _l("The reseller plan is used by %(n)d resellers.", n=in_use))
        audit.record(actor, "reseller_plan.delete", allowance, name=allowance.name)
        db.session.delete(allowance)


def check_plan_owner(plan: Plan, reseller_id: int | None) -> None:
    """A customer of `reseller_id` (None: the provider's own) may only be on that owner's plans."""
    if plan.reseller_id != reseller_id:
        raise Forbidden(_l("This plan belongs to another seller."))
