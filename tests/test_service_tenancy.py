"""Services refuse foreign objects with NotFound (never confirming they exist) for every role."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.extensions import db
from panel.models import Alias, Customer, Domain, Mailbox, Node, Plan
from panel.services import aliases, customers, domains, mailboxes, plans
from panel.services.access import get_visible, scope
from panel.services.actor import Actor
from panel.services.errors import Forbidden, NotFound


@pytest.fixture
def two_tenants(make):
    pair = []
    for _ in range(2):
        reseller = make.reseller()
        customer = make.customer(reseller=reseller)
        domain = make.domain(customer)
        mailbox = make.mailbox(domain)
        pair.append(dict(reseller=reseller, customer=customer, domain=domain, mailbox=mailbox,
                         alias=make.alias(domain), plan=customer.plan))
    return pair


def actors(make, tenant) -> dict[str, Actor]:
    return {
        "reseller": make.staff_actor(reseller=tenant["reseller"]),
        "customer": make.staff_actor(customer=tenant["customer"]),
        "mailbox": Actor.for_mailbox(tenant["mailbox"]),
    }


@pytest.mark.parametrize("role", ["reseller", "customer", "mailbox"])
def test_foreign_objects_are_not_found(make, two_tenants, role):
    own, foreign = two_tenants
    actor = actors(make, own)[role]
    for model in (Customer, Domain, Mailbox, Alias):
        key = model.__name__.lower()
        with pytest.raises(NotFound):
            get_visible(actor, model, foreign[key].id)
        visible_ids = set(db.session.scalars(scope(actor, select(model.id), model)))
        assert foreign[key].id not in visible_ids
    with pytest.raises((NotFound, Forbidden)):
        mailboxes.delete_mailbox(actor, foreign["mailbox"].id)
    with pytest.raises((NotFound, Forbidden)):
        aliases.update_alias(actor, foreign["alias"].id, ["x@elsewhere.example"])
    with pytest.raises((NotFound, Forbidden)):
        domains.delete_domain(actor, foreign["domain"].id)
    with pytest.raises((NotFound, Forbidden)):
        customers.act_as(actor, foreign["customer"].id)
    with pytest.raises((NotFound, Forbidden)):
        plans.delete_plan(actor, foreign["plan"].id)


def test_each_role_sees_exactly_its_own(make, two_tenants):
    own, _ = two_tenants
    seen = {role: set(db.session.scalars(scope(actor, select(Mailbox.id))))
            for role, actor in actors(make, own).items()}
    assert seen == {role: {own["mailbox"].id} for role in seen}
    assert set(db.session.scalars(scope(Actor.system(), select(Mailbox.id)))) == {
        t["mailbox"].id for t in two_tenants}
    reseller_actor = actors(make, own)["reseller"]
    assert set(db.session.scalars(scope(reseller_actor, select(Plan.id)))) == {own["plan"].id}
    assert list(db.session.scalars(scope(reseller_actor, select(Node.id)))) == []


def test_mailbox_user_cannot_create_or_delete(make, two_tenants):
    own, _ = two_tenants
    actor = Actor.for_mailbox(own["mailbox"])
    with pytest.raises(Forbidden):
        mailboxes.create_mailbox(actor, own["domain"].id, "new", None, make.PASSWORD)
    with pytest.raises(Forbidden):
        domains.delete_domain(actor, own["domain"].id)
