"""Domain ownership: a pending domain becomes active once its TXT token is visible in DNS.

Until then maild refuses its mail (the bundle carries the status), so nobody can receive mail
for a domain they merely typed in. Admins may skip the check (`domains.set_domain_status`).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from panel.extensions import db
from panel.models import Domain, DomainStatus
from panel.services import audit
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.dns_records import not_published_message, ownership_record
from panel.services.domains import STAFF
from panel.services.errors import Invalid
from panel.services.resolver import resolver
from panel.services.transaction import unit_of_work


def verify_ownership(actor: Actor, domain_id: int) -> Domain:
    """Activate a pending domain whose token DNS serves; a clear refusal says what DNS did."""
    require_role(actor, *STAFF)
    domain = get_visible(actor, Domain, domain_id)
    if domain.status is DomainStatus.ACTIVE:
        return domain
    if domain.status is DomainStatus.SUSPENDED:
        raise Invalid(None, _l("This domain is suspended; only the provider can reactivate it."))
    record = ownership_record(domain)
    answer = resolver().lookup(record.name, "TXT")  # outside the transaction: DNS may be slow
    if record.value not in answer.texts:
        raise Invalid(None, not_published_message(answer, record.name))
    with unit_of_work():  # only a domain still pending: a suspension made meanwhile stands
        activated = db.session.execute(update(Domain).where(Domain.id == domain.id, Domain.status == DomainStatus.PENDING)
                                       .values(status=DomainStatus.ACTIVE)).rowcount
        if activated:
            audit.record(actor, "domain.verify", domain, customer_id=domain.customer_id, name=domain.name)
    db.session.refresh(domain)
    return domain
