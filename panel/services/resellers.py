"""Resellers: created by the provider on an allowance (reseller plan)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from panel.extensions import db
from panel.models import Customer, Plan, Reseller, ResellerPlan, Role, User
from panel.services import audit, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.plans import check_reseller_fits
from panel.services.transaction import lock, unit_of_work


def _name_taken(name: str, exclude: int | None = None) -> bool:
    stmt = select(func.count(Reseller.id)).where(func.lower(Reseller.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(Reseller.id != exclude)
    return bool(db.session.scalar(stmt))


def create_reseller(actor: Actor, name: str, allowance_id: int) -> Reseller:
    require_role(actor, Role.ADMIN)
    name = validation.name(name, max_length=200)
    with unit_of_work():
        allowance = get_visible(actor, ResellerPlan, allowance_id)
        if _name_taken(name):
            raise Invalid("name", _l("A reseller with this name already exists."))
        reseller = Reseller(name=name, reseller_plan=allowance)
        db.session.add(reseller)
        db.session.flush()
        audit.record(actor, "reseller.create", reseller, reseller_id=reseller.id, name=name,
                     allowance=allowance.name)
    return reseller


def update_reseller(actor: Actor, reseller_id: int, name: str, allowance_id: int) -> Reseller:
    """Rename or move to another allowance; refused if it has sold more than the new one allows."""
    require_role(actor, Role.ADMIN)
    name = validation.name(name, max_length=200)
    with unit_of_work():
        reseller = get_visible(actor, Reseller, reseller_id)
        lock(Reseller, reseller.id)
        allowance = get_visible(actor, ResellerPlan, allowance_id)
        if _name_taken(name, exclude=reseller.id):
            raise Invalid("name", _l("A reseller with this name already exists."))
        check_reseller_fits(reseller, allowance)
        reseller.name = name
        reseller.reseller_plan = allowance
        audit.record(actor, "reseller.update", reseller, reseller_id=reseller.id, name=name,
                     allowance=allowance.name)
    return reseller


def delete_reseller(actor: Actor, reseller_id: int) -> None:
    """Only a reseller without customers can go; its plans and staff logins go with it."""
    require_role(actor, Role.ADMIN)
    with unit_of_work():
        reseller = get_visible(actor, Reseller, reseller_id)
        customers = db.session.scalar(select(func.count(Customer.id)).where(Customer.reseller_id == reseller.id))
        if customers:
            raise Invalid(None, _l("The reseller still has %(n)d customers; move or delete them first.", n=customers))
        audit.record(actor, "reseller.delete", reseller, reseller_id=reseller.id, name=reseller.name)
        db.session.execute(delete(Plan).where(Plan.reseller_id == reseller.id))
        db.session.execute(delete(User).where(User.reseller_id == reseller.id))
        db.session.delete(reseller)
