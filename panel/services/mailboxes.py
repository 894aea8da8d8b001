"""Mailboxes: address, password, quota; every change inside the customer's plan."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Alias, Customer, Domain, Mailbox, Node, Role
from panel.services import audit, limits, secrets, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.passwords import check_policy, hash_password, verify_password
from panel.services.transaction import lock, unit_of_work

STAFF = (Role.ADMIN, Role.RESELLER, Role.CUSTOMER)


def address_taken(domain_id: int, local_part: str) -> bool:
    """Whether a mailbox or alias already answers to this address."""
    for model in (Mailbox, Alias):
        if db.session.scalar(select(func.count(model.id)).where(
                model.domain_id == domain_id, model.local_part == local_part)):
            return True
    return False


def create_mailbox(actor: Actor, domain_id: int, local_part: str, quota_bytes: int | None,
                   password: str) -> Mailbox:
    """Create a mailbox; `quota_bytes` None takes the plan's default, checked like any other."""
    require_role(actor, *STAFF)
    local_part = validation.local_part(local_part)
    check_policy(password)
    if quota_bytes is not None:
        validation.positive(quota_bytes, "quota")
    with unit_of_work():
        domain = get_visible(actor, Domain, domain_id)
        customer = domain.customer
        lock(Customer, customer.id)
        lock(Node, domain.node_id)
        plan = customer.plan
        quota = plan.default_quota_bytes if quota_bytes is None else quota_bytes
        if address_taken(domain.id, local_part):
            raise Invalid("local_part", _l("This address is already in use."))
        usage = limits.customer_usage(customer.id)
        limits.check_can_add(plan, usage, "max_mailboxes", field="local_part")
        limits.check_quota(plan, usage, quota)
        limits.check_node_capacity(domain.node, 1, quota)
        mailbox = Mailbox(domain=domain, local_part=local_part, quota_bytes=quota,
                          password_hash=hash_password(password))
        db.session.add(mailbox)
        audit.record(actor, "mailbox.create", mailbox, customer_id=customer.id,
                     address=f"{local_part}@{domain.name}", quota_bytes=quota)
    return mailbox


def update_mailbox(actor: Actor, mailbox_id: int, quota_bytes: int, enabled: bool) -> Mailbox:
    require_role(actor, *STAFF)
    validation.positive(quota_bytes, "quota")
    with unit_of_work():
        mailbox = get_visible(actor, Mailbox, mailbox_id)
        customer = mailbox.domain.customer
        lock(Customer, customer.id)
        lock(Node, mailbox.domain.node_id)
        if quota_bytes != mailbox.quota_bytes:
            limits.check_quota(customer.plan, limits.customer_usage(customer.id), quota_bytes,
                               replacing=mailbox.quota_bytes)
            limits.check_node_capacity(mailbox.domain.node, 0, quota_bytes - mailbox.quota_bytes)
        audit.record(actor, "mailbox.update", mailbox, customer_id=customer.id,
                     quota_bytes=[mailbox.quota_bytes, quota_bytes], enabled=[mailbox.enabled, enabled])
        mailbox.quota_bytes = quota_bytes
        mailbox.enabled = enabled
    return mailbox


def set_password(actor: Actor, mailbox_id: int, password: str) -> Mailbox:
    """Staff reset, or the mailbox user's own change (self-service checks the old one first)."""
    require_role(actor, *STAFF, Role.MAILBOX)
    check_policy(password)
    with unit_of_work():
        mailbox = get_visible(actor, Mailbox, mailbox_id)
        mailbox.password_hash = hash_password(password)
        if mailbox.apop_enabled:  # APOP's secret is the password: it changes with it
            mailbox.apop_secret = secrets.encrypt(password)
        audit.record(actor, "mailbox.password", mailbox, customer_id=mailbox.domain.customer_id)
    return mailbox


def set_apop(actor: Actor, mailbox_id: int, enabled: bool, password: str | None = None) -> Mailbox:
    """Turn APOP on (the plan must allow it; the mailbox password is re-entered so the server can
    keep it encrypted for APOP's digest) or off (the stored secret is dropped)."""
    require_role(actor, *STAFF, Role.MAILBOX)
    with unit_of_work():
        mailbox = get_visible(actor, Mailbox, mailbox_id)
        if enabled:
            if not mailbox.domain.customer.plan.allow_apop:
                raise Invalid("apop_enabled", _l("Your plan does not allow APOP."))
            if not password or not verify_password(password, mailbox.password_hash):
                raise Invalid("password", _l("Enter the mailbox's current password to turn APOP on."))
            mailbox.apop_secret = secrets.encrypt(password)
        else:
            mailbox.apop_secret = None
        mailbox.apop_enabled = enabled
        audit.record(actor, "mailbox.apop", mailbox, customer_id=mailbox.domain.customer_id, enabled=enabled)
    return mailbox


def delete_mailbox(actor: Actor, mailbox_id: int) -> None:
    require_role(actor, *STAFF)
    with unit_of_work():
        mailbox = get_visible(actor, Mailbox, mailbox_id)
        audit.record(actor, "mailbox.delete", mailbox, customer_id=mailbox.domain.customer_id,
                     address=mailbox.email)
        db.session.delete(mailbox)
