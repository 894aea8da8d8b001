"""Every state change writes an AuditEvent in its own transaction, naming who acted for whom."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import AuditEvent, Role
from panel.services import aliases, customers, domains, mailboxes, nodes, plans, users
from panel.services.actor import Actor
from panel.services.errors import LimitExceeded

SYSTEM = Actor.system("tests")


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


CHANGES = {
    "plan.update": lambda make: plans.update_plan(SYSTEM, make.plan(name="P").id, plans.PlanSpec(name="P2")),
    "plan.delete": lambda make: plans.delete_plan(SYSTEM, make.plan().id),
    "reseller_plan.create": lambda make: make.allowance(),
    "reseller.create": lambda make: make.reseller(),
    "customer.create": lambda make: make.customer(),
    "customer.delete": lambda make: customers.delete_customer(SYSTEM, make.customer().id),
    "node.create": lambda make: make.node(),
    "node.delete": lambda make: nodes.delete_node(SYSTEM, make.node().id),
    "domain.create": lambda make: make.domain(),
    "domain.status": lambda make: domains.set_domain_status(SYSTEM, make.domain().id, "suspended"),
    "domain.delete": lambda make: domains.delete_domain(SYSTEM, make.domain().id),
    "mailbox.update": lambda make: mailboxes.update_mailbox(SYSTEM, make.mailbox().id, 1024, False),
    "mailbox.password": lambda make: mailboxes.set_password(SYSTEM, make.mailbox().id, "another long password"),
    "mailbox.delete": lambda make: mailboxes.delete_mailbox(SYSTEM, make.mailbox().id),
    "alias.create": lambda make: make.alias(),
    "alias.update": lambda make: aliases.update_alias(SYSTEM, make.alias().id, ["n@elsewhere.example"]),
    "alias.delete": lambda make: aliases.delete_alias(SYSTEM, make.alias().id),
    "user.create": lambda make: make.user(Role.ADMIN),
    "user.delete": lambda make: users.delete_user(SYSTEM, make.user(Role.ADMIN).id),
}


@pytest.mark.parametrize("action", sorted(CHANGES))
def test_each_change_is_audited(make, action):
    CHANGES[action](make)
    recorded = events(action)
    assert len(recorded) == 1
    assert recorded[0].actor_label == "tests"


def test_refused_change_leaves_no_audit_row(make):
    customer = make.customer(make.plan(max_mailboxes=0))
    domain = make.domain(customer)
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    with pytest.raises(LimitExceeded):
        make.mailbox(domain)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before


def test_act_as_is_audited_with_the_real_person(make):
    make.node()
    reseller = make.reseller()
    customer = make.customer(reseller=reseller)
    staff = make.user(Role.RESELLER, reseller=reseller)
    acting = customers.act_as(Actor.for_user(staff, ip="198.51.100.7"), customer.id)
    domain = domains.create_domain(acting, "support.example")
    event = events("domain.create")[-1]
    assert event.user_id == staff.id and event.actor_label == staff.email
    assert event.acting_as_customer_id == customer.id and event.customer_id == customer.id
    assert event.reseller_id == reseller.id and event.ip == "198.51.100.7"
    assert events("customer.act_as")[0].object_id == customer.id
    assert domain.customer_id == customer.id
