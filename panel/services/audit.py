"""Audit events, added to the session of the change they describe (same transaction)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from panel.extensions import db
from panel.models import AuditEvent, Customer
from panel.services.actor import Actor


def record(
    actor: Actor,
    action: str,
    obj: Any,
    *,
    customer_id: int | None = None,
    reseller_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an AuditEvent for `action` on `obj`; the caller's commit writes both together.

    `customer_id`/`reseller_id` file the event under the tenant it concerns, so that tenant's
    staff can read it; the reseller defaults to the customer's reseller.
    """
    db.session.flush()  # gives `obj` its id
    if customer_id is not None and reseller_id is None:
        reseller_id = db.session.scalar(select(Customer.reseller_id).where(Customer.id == customer_id))
    event = AuditEvent(
        user_id=actor.user_id,
        actor_label=actor.label,
        acting_as_customer_id=actor.customer_id if actor.acting_as else None,
        customer_id=customer_id,
        reseller_id=reseller_id,
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=getattr(obj, "id", None),
        detail={key: _jsonable(value) for key, value in detail.items()},
        ip=actor.ip,
    )
    db.session.add(event)
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
