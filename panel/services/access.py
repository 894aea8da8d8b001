"""Tenancy by query scoping: every read of a tenant object goes through `scope`."""
from __future__ import annotations

from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, false, select, true

from panel.extensions import db
from panel.models import (
    Alias, AppPassword, AuditEvent, Certificate, Customer, Domain, Mailbox, Node, Plan, Reseller, ResellerPlan, Role, User,
)
from panel.services.actor import Actor
from panel.services.errors import Forbidden, NotFound

T = TypeVar("T")


def _customer_filter(actor: Actor, column: Any) -> Any:
    """Condition restricting `column` (a customer id) to the customers the actor may see."""
    if actor.role is Role.ADMIN:
        return true()
    if actor.role is Role.RESELLER:
        return column.in_(select(Customer.id).where(Customer.reseller_id == actor.reseller_id))
    if actor.role is Role.CUSTOMER:
        return column == actor.customer_id
    return false()


def _condition(actor: Actor, model: type) -> Any:
    role = actor.role
    if model is Customer:
        return _customer_filter(actor, Customer.id)
    if model is Certificate:
        if role is Role.ADMIN:
            return true()
        return _customer_filter(actor, Certificate.customer_id)
    if model is Domain:
        if role is Role.MAILBOX:
            return Domain.id == select(Mailbox.domain_id).where(Mailbox.id == actor.mailbox_id).scalar_subquery()
        return _customer_filter(actor, Domain.customer_id)
    if model in (Mailbox, Alias):
        if role is Role.MAILBOX:
            return Mailbox.id == actor.mailbox_id if model is Mailbox else false()
        domains = select(Domain.id).where(_customer_filter(actor, Domain.customer_id))
        return true() if role is Role.ADMIN else model.domain_id.in_(domains)
    if model is AppPassword:  # as visible as its mailbox
        return AppPassword.mailbox_id.in_(select(Mailbox.id).where(_condition(actor, Mailbox)))
    if model is Plan:
        if role is Role.ADMIN:
            return true()
        if role is Role.RESELLER:
            return Plan.reseller_id == actor.reseller_id
        if role is Role.CUSTOMER:
            return Plan.id == select(Customer.plan_id).where(Customer.id == actor.customer_id).scalar_subquery()
        return false()
    if model is Reseller:
        if role is Role.ADMIN:
            return true()
        return Reseller.id == actor.reseller_id if role is Role.RESELLER else false()
    if model is ResellerPlan:
        if role is Role.ADMIN:
            return true()
        if role is Role.RESELLER:
            own = select(Reseller.reseller_plan_id).where(Reseller.id == actor.reseller_id)
            return ResellerPlan.id == own.scalar_subquery()
        return false()
    if model is Node:
        return true() if role is Role.ADMIN else false()
    if model is User:
        if role is Role.ADMIN:
            return true()
        if role is Role.RESELLER:
            return (User.reseller_id == actor.reseller_id) | _customer_filter(actor, User.customer_id)
        if role is Role.CUSTOMER:
            return User.customer_id == actor.customer_id
        return false()
    if model is AuditEvent:
        if role is Role.ADMIN:
            return true()
        if role is Role.RESELLER:
            return AuditEvent.reseller_id == actor.reseller_id
        if role is Role.CUSTOMER:
            return AuditEvent.customer_id == actor.customer_id
        return false()
    raise TypeError(f"no tenancy rule for {model.__name__}")


def scope(actor: Actor, stmt: Select[Any], model: type | None = None) -> Select[Any]:
    """Narrow `stmt` (selecting `model`, by default its first entity) to what `actor` may see."""
    if model is None:
        model = stmt.column_descriptions[0]["entity"]
    return stmt.where(_condition(actor, model))


def get_visible(actor: Actor, model: type[T], object_id: int) -> T:
    """The object if the actor may see it; NotFound otherwise, so foreign ids stay unconfirmed."""
    pk = model.id  # type: ignore[attr-defined]
    obj = db.session.scalars(scope(actor, select(model).where(pk == object_id), model)).first()
    if obj is None:
        raise NotFound(_l("Not found."))
    return obj


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise Forbidden(_l("You are not allowed to do this."))
