"""Domains: owned by a customer, placed on a node by the plan's tier."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from panel.extensions import db
from panel.models import Alias, AliasDestination, Customer, DkimKey, DnsCheck, Domain, DomainStatus, Mailbox, Role
from panel.services import audit, limits, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.nodes import place_domain
from panel.services.transaction import lock, unit_of_work

STAFF = (Role.ADMIN, Role.RESELLER, Role.CUSTOMER)


def _owning_customer(actor: Actor, customer_id: int | None) -> Customer:
    """Customers add to their own account; admins and resellers name a visible customer."""
    if actor.role is Role.CUSTOMER:
        customer_id = actor.customer_id
    if customer_id is None:
        raise Invalid("customer_id", _l("Choose the customer."))
    return get_visible(actor, Customer, customer_id)


def create_domain(actor: Actor, name: str, customer_id: int | None = None,
                  status: DomainStatus | None = None) -> Domain:
    """Add a domain, pending its ownership check unless an admin sets the status."""
    require_role(actor, *STAFF)
    name = validation.domain_name(name)
    with unit_of_work():
        customer = _owning_customer(actor, customer_id)
        lock(Customer, customer.id)
        if db.session.scalar(select(func.count(Domain.id)).where(Domain.name == name)):
            raise Invalid("name", _l("This domain is already hosted here."))
        limits.check_can_add(customer.plan, limits.customer_usage(customer.id), "max_domains", field="name")
        if status is None or actor.role is not Role.ADMIN:
            status = DomainStatus.PENDING
        domain = Domain(name=name, customer=customer, node=place_domain(customer), status=status)
        db.session.add(domain)
        audit.record(actor, "domain.create", domain, customer_id=customer.id, name=name,
                     node=domain.node.name, status=status.value)
    return domain


def set_domain_status(actor: Actor, domain_id: int, status: DomainStatus) -> Domain:
    """Activate or suspend a domain: the provider's or reseller's decision, not the customer's."""
    require_role(actor, Role.ADMIN, Role.RESELLER)
    with unit_of_work():
        domain = get_visible(actor, Domain, domain_id)
        audit.record(actor, "domain.status", domain, customer_id=domain.customer_id,
                     status=[domain.status.value, DomainStatus(status).value])
        domain.status = DomainStatus(status)
    return domain


def domain_contents(domain_id: int) -> tuple[int, int]:
    """(mailboxes, aliases) that deleting the domain would remove."""
    mailboxes = db.session.scalar(select(func.count(Mailbox.id)).where(Mailbox.domain_id == domain_id)) or 0
    aliases = db.session.scalar(select(func.count(Alias.id)).where(Alias.domain_id == domain_id)) or 0
    return mailboxes, aliases


def remove_domain(domain: Domain) -> None:
    """Delete a domain with its mailboxes and aliases (inside the caller's transaction)."""
    alias_ids = select(Alias.id).where(Alias.domain_id == domain.id)
    db.session.execute(delete(AliasDestination).where(AliasDestination.alias_id.in_(alias_ids)))
    db.session.execute(delete(Alias).where(Alias.domain_id == domain.id))
    db.session.execute(delete(Mailbox).where(Mailbox.domain_id == domain.id))
    db.session.execute(delete(DkimKey).where(DkimKey.domain_id == domain.id))
    db.session.execute(delete(DnsCheck).where(DnsCheck.domain_id == domain.id))
    db.session.delete(domain)


def delete_domain(actor: Actor, domain_id: int) -> None:
    require_role(actor, *STAFF)
    with unit_of_work():
        domain = get_visible(actor, Domain, domain_id)
        mailboxes, aliases = domain_contents(domain.id)
        audit.record(actor, "domain.delete", domain, customer_id=domain.customer_id, name=domain.name,
                     mailboxes=mailboxes, aliases=aliases)
        remove_domain(domain)
