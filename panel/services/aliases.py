"""Aliases and catch-alls: an address of a hosted domain forwarded to one or more addresses."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from panel.extensions import db
from panel.models import Alias, AliasDestination, Customer, Domain, Role
from panel.services import audit, limits, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.mailboxes import address_taken
from panel.services.transaction import lock, unit_of_work

STAFF = (Role.ADMIN, Role.RESELLER, Role.CUSTOMER)
MAX_DESTINATIONS = 50
CATCH_ALL_INPUTS = ("", "*", "@")


def _source_local_part(value: str) -> str:
    """'' for a catch-all (given as empty, '*' or '@'), else a validated local part."""
    value = value.strip()
    return "" if value in CATCH_ALL_INPUTS else validation.local_part(value)


def _destinations(customer_id: int, addresses: list[str]) -> list[str]:
    """Validated, de-duplicated destinations; one of the customer's own domains must exist there."""
    cleaned: list[str] = []
    for raw in addresses:
        if raw.strip() and (address := validation.email_address(raw, "destinations")) not in cleaned:
            cleaned.append(address)
    if not cleaned:
        raise Invalid("destinations", _l("Enter at least one destination address."))
    if len(cleaned) > MAX_DESTINATIONS:
        raise Invalid("destinations", _l("At most %(n)d destinations.", n=MAX_DESTINATIONS))
    for address in cleaned:
        local, _, domain_name = address.rpartition("@")
        own = db.session.scalar(select(Domain).where(Domain.name == domain_name, Domain.customer_id == customer_id))
        if own is not None and not address_taken(own.id, local):
            raise Invalid("destinations", _l("%(address)s does not exist yet; create the mailbox first.",
                                             address=address))
    return cleaned


def _check_no_loop(source: str, targets: list[str], customer_id: int) -> None:
    """Refuse destinations that lead back to `source` through the customer's other aliases: the
    mail daemon would find no mailbox at the end and refuse every message to it."""
    if source in targets:
        raise Invalid("destinations", _l("An alias cannot forward to itself."))
    for first in targets:
        seen: set[str] = set()
        pending = [first]
        while pending:
            address = pending.pop()
            if address == source:
                raise Invalid("destinations", _l(
                    "Mail to %(source)s would come back to it through %(via)s: a forwarding loop.",
                    source=source, via=first))
            if address not in seen:
                seen.add(address)
                pending.extend(_alias_destinations(address, customer_id))


def _alias_destinations(address: str, customer_id: int) -> list[str]:
    """Where the customer's alias for exactly `address` forwards to (none if it has no such alias)."""
    local, _, domain_name = address.rpartition("@")
    return list(db.session.scalars(
        select(AliasDestination.address).join(Alias).join(Domain)
        .where(Domain.name == domain_name, Domain.customer_id == customer_id, Alias.local_part == local)))


def create_alias(actor: Actor, domain_id: int, local_part: str, destinations: list[str]) -> Alias:
    require_role(actor, *STAFF)
    source = _source_local_part(local_part)
    with unit_of_work():
        domain = get_visible(actor, Domain, domain_id)
        customer_id = domain.customer_id
        lock(Customer, customer_id)
        if address_taken(domain.id, source):
            raise Invalid("local_part", _l("This address is already in use."))
        limits.check_can_add(domain.customer.plan, limits.customer_usage(customer_id), "max_aliases",
                             field="local_part")
        targets = _destinations(customer_id, destinations)
        _check_no_loop(f"{source}@{domain.name}", targets, customer_id)
        alias = Alias(domain=domain, local_part=source,
                      destinations=[AliasDestination(address=a) for a in targets])
        db.session.add(alias)
        audit.record(actor, "alias.create", alias, customer_id=customer_id,
                     source=f"{source}@{domain.name}", destinations=targets)
    return alias


def update_alias(actor: Actor, alias_id: int, destinations: list[str]) -> Alias:
    require_role(actor, *STAFF)
    with unit_of_work():
        alias = get_visible(actor, Alias, alias_id)
        targets = _destinations(alias.domain.customer_id, destinations)
        _check_no_loop(alias.source, targets, alias.domain.customer_id)
        before = [d.address for d in alias.destinations]
        alias.destinations.clear()
        db.session.flush()  # old rows go before new ones that may reuse an address
        alias.destinations.extend(AliasDestination(address=a) for a in targets)
        audit.record(actor, "alias.update", alias, customer_id=alias.domain.customer_id,
                     destinations=[before, targets])
    return alias


def delete_alias(actor: Actor, alias_id: int) -> None:
    require_role(actor, *STAFF)
    with unit_of_work():
        alias = get_visible(actor, Alias, alias_id)
        audit.record(actor, "alias.delete", alias, customer_id=alias.domain.customer_id, source=alias.source)
        db.session.delete(alias)
