"""Customers (tenants): created by the provider or a reseller, on one plan."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from panel.extensions import db
from panel.models import Customer, Domain, Node, Plan, Reseller, Role, User
from panel.services import audit, limits, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.domains import remove_domain
from panel.services.errors import Forbidden, Invalid
from panel.services.plans import check_plan_owner
from panel.services.transaction import lock, unit_of_work


def _check_allowance_for(reseller_id: int, plan: Plan, exclude_customer: int | None = None) -> None:
    """One more customer on `plan` must fit in the reseller's allowance."""
    reseller = db.session.get(Reseller, reseller_id)
    assert reseller is not None
    allocated = limits.reseller_allocated(reseller_id, exclude_customer)
    adding: dict[str, int | None] = {"max_customers": 1, **limits.plan_allocation(plan)}
    limits.check_allowance(reseller.reseller_plan, allocated, adding)


def create_customer(actor: Actor, name: str, plan_id: int, reseller_id: int | None = None) -> Customer:
    """Admins create provider customers (or a reseller's, naming it); resellers their own."""
    require_role(actor, Role.ADMIN, Role.RESELLER)
    name = validation.name(name, max_length=200)
    if actor.role is Role.RESELLER:
        reseller_id = actor.reseller_id
    with unit_of_work():
        if reseller_id is not None:
            get_visible(actor, Reseller, reseller_id)
            lock(Reseller, reseller_id)
        plan = get_visible(actor, Plan, plan_id)
        check_plan_owner(plan, reseller_id)
        if reseller_id is not None:
            _check_allowance_for(reseller_id, plan)
        customer = Customer(name=name, plan=plan, reseller_id=reseller_id)
        db.session.add(customer)
        db.session.flush()
        audit.record(actor, "customer.create", customer, customer_id=customer.id, name=name, plan=plan.name)
    return customer


def update_customer(actor: Actor, customer_id: int, name: str, plan_id: int) -> Customer:
    """Rename or change plan; a plan below current usage or over the allowance is refused."""
    require_role(actor, Role.ADMIN, Role.RESELLER)
    name = validation.name(name, max_length=200)
    with unit_of_work():
        customer = get_visible(actor, Customer, customer_id)
        if customer.reseller_id is not None:
            lock(Reseller, customer.reseller_id)
        lock(Customer, customer.id)
        plan = get_visible(actor, Plan, plan_id)
        if plan.id != customer.plan_id:
            check_plan_owner(plan, customer.reseller_id)
            has_domains = db.session.scalar(select(func.count(Domain.id)).where(Domain.customer_id == customer.id))
            if plan.tier != customer.plan.tier and has_domains:
                raise Invalid("plan_id", _l("A plan of another tier needs the domains moved first."))
            limits.check_plan_fits_usage(plan, [customer.id])
            if customer.reseller_id is not None:
                _check_allowance_for(customer.reseller_id, plan, exclude_customer=customer.id)
        audit.record(actor, "customer.update", customer, customer_id=customer.id,
                     name=[customer.name, name], plan=[customer.plan.name, plan.name])
        customer.name = name
        customer.plan = plan
    return customer


def delete_customer(actor: Actor, customer_id: int) -> None:
    """Remove a customer with its domains, mailboxes, aliases and staff logins."""
    require_role(actor, Role.ADMIN, Role.RESELLER)
    with unit_of_work():
        customer = get_visible(actor, Customer, customer_id)
        lock(Customer, customer.id)
        audit.record(actor, "customer.delete", customer, customer_id=customer.id, name=customer.name)
        for domain in db.session.scalars(select(Domain).where(Domain.customer_id == customer.id)):
            remove_domain(domain)
        db.session.execute(update(Node).where(Node.customer_id == customer.id).values(customer_id=None))
        for user in db.session.scalars(select(User).where(User.customer_id == customer.id)):
            db.session.delete(user)
        db.session.delete(customer)


def acting_actor(actor: Actor, customer_id: int) -> Actor:
    """`actor` working as the customer: only admins, or the customer's own reseller."""
    if actor.role not in (Role.ADMIN, Role.RESELLER):
        raise Forbidden(_l("You are not allowed to do this."))
    return actor.as_customer(get_visible(actor, Customer, customer_id))


def act_as(actor: Actor, customer_id: int) -> Actor:
    """Start support access as a customer; the start is audited, and so is every change made."""
    with unit_of_work():
        acting = acting_actor(actor, customer_id)
        audit.record(acting, "customer.act_as", db.session.get(Customer, customer_id),
                     customer_id=customer_id)
    return acting
