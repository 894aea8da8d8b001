"""The landing page after login, different for each role."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Certificate, Customer, Domain, Mailbox, Node, Reseller, Role
from panel.services import limits
from panel.services.access import scope
from panel.services.actor import Actor
from panel.web.principal import current_actor

bp = Blueprint("dashboard", __name__)
CERTIFICATE_WARNING_DAYS = 14


def expiring_certificates(actor: Actor) -> list[Certificate]:
    """Certificates the actor owns (or administers) that expire within two weeks."""
    limit = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=CERTIFICATE_WARNING_DAYS)
    return list(db.session.scalars(scope(actor, select(Certificate).where(Certificate.not_after < limit)
                                         .order_by(Certificate.not_after))))


@bp.context_processor
def certificate_warnings() -> dict[str, object]:
    actor = current_actor()
    return {"expiring": [] if actor.role is Role.MAILBOX else expiring_certificates(actor)}


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    actor = current_actor()
    if actor.role is Role.MAILBOX:
        mailbox = db.session.get(Mailbox, actor.mailbox_id)
        return render_template("dashboard/mailbox.html", mailbox=mailbox)
    if actor.role is Role.CUSTOMER:
        customer = db.session.get(Customer, actor.customer_id)
        return render_template("dashboard/customer.html", customer=customer,
                               usage=limits.customer_usage(customer.id))  # type: ignore[union-attr]
    counts = {
        model.__name__.lower(): db.session.scalar(scope(actor, select(func.count(model.id)), model))
        for model in (Customer, Domain, Mailbox)
    }
    if actor.role is Role.RESELLER:
        reseller = db.session.get(Reseller, actor.reseller_id)
        return render_template("dashboard/reseller.html", reseller=reseller, counts=counts,
                               allocated=limits.reseller_allocated(reseller.id))  # type: ignore[union-attr]
    counts["reseller"] = db.session.scalar(select(func.count(Reseller.id)))
    counts["node"] = db.session.scalar(select(func.count(Node.id)))
    return render_template("dashboard/admin.html", counts=counts)
