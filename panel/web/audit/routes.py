"""The audit log: newest first, scoped to the actor's tenants, filtered by action."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_login import login_required
from sqlalchemy import select

from panel.extensions import db
from panel.models import AuditEvent, Customer, Role
from panel.services.access import require_role, scope
from panel.web.listing import paginated
from panel.web.principal import current_actor

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.before_request
@login_required
def staff_only() -> None:
    require_role(current_actor(), Role.ADMIN, Role.RESELLER, Role.CUSTOMER)


@bp.app_template_filter("datetime_short")
def datetime_short(value: datetime) -> str:
    """A date and time in the user's locale and the configured time zone."""
    return format_datetime(value, "short")


@bp.get("/")
def index() -> ResponseReturnValue:
    actor = current_actor()
    actions = list(db.session.scalars(
        scope(actor, select(AuditEvent.action).distinct(), AuditEvent).order_by(AuditEvent.action)))
    action = request.args.get("action", "")
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action == action[:64])
    page = paginated(stmt, AuditEvent.actor_label, model=AuditEvent)
    acting_ids = {event.acting_as_customer_id for event in page.items} - {None}
    acting_as = dict(db.session.execute(
        select(Customer.id, Customer.name).where(Customer.id.in_(acting_ids))).all())
    return render_template("audit/index.html", page=page, actions=actions, action=action, acting_as=acting_as)
