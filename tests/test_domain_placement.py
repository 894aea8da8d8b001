"""Domains: IDNA storage, ownership, and placement on a node of the plan's tier."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Domain, DomainStatus, Tier
from panel.services import domains
from panel.services.actor import Actor
from panel.services.errors import Invalid, LimitExceeded


def test_unicode_domain_is_stored_as_punycode_and_shown_in_unicode(make):
    domain = make.domain(name="Ｍail.例え.jp")
    db.session.expire_all()
    stored = db.session.scalar(select(Domain.name).where(Domain.id == domain.id))
    assert stored == "mail.xn--r8jz45g.jp"
    assert db.session.get(Domain, domain.id).display_name == "mail.例え.jp"


def test_same_domain_twice_is_refused_whatever_its_form(make):
    make.domain(name="例え.jp")
    with pytest.raises(Invalid) as refused:
        make.domain(name="XN--R8JZ45G.JP")
    assert refused.value.field == "name"


@pytest.mark.parametrize("name", ["nodot", "-bad-.jp", "a..jp", "x" * 64 + ".jp", "1.2.3.4", ""])
def test_invalid_domain_names_are_refused(make, name):
    customer = make.customer()
    with pytest.raises(Invalid) as refused:
        domains.create_domain(Actor.system(), name, customer.id)
    assert refused.value.field == "name"


def test_shared_domain_goes_to_least_loaded_shared_node(make):
    busy = make.node(max_mailboxes=10)
    idle = make.node(max_mailboxes=10)
    first = make.domain()
    assert first.node_id == busy.id  # both empty: lowest id
    make.mailbox(first)
    assert make.domain().node_id == idle.id


def test_full_shared_nodes_give_a_clear_error(make):
    node = make.node(max_mailboxes=1)
    make.mailbox(make.domain())
    assert node.max_mailboxes == 1
    with pytest.raises(LimitExceeded) as refused:
        make.domain()
    assert refused.value.limit == "node"


def test_dedicated_plan_uses_the_customers_own_node(make):
    make.node()  # a shared node that must not be chosen
    customer = make.customer(make.plan(tier=Tier.DEDICATED))
    with pytest.raises(LimitExceeded) as refused:
        make.domain(customer)
    assert "dedicated" in str(refused.value)
    own = make.node(tier=Tier.DEDICATED, customer_id=customer.id)
    assert make.domain(customer).node_id == own.id


def test_customer_domains_start_pending_admin_may_activate(make):
    customer = make.customer(make.plan(max_domains=2))
    make.node()
    staff = make.staff_actor(customer=customer)
    domain = domains.create_domain(staff, "pending.example", status=DomainStatus.ACTIVE)
    assert domain.status is DomainStatus.PENDING
    assert domains.create_domain(Actor.system(), "active.example", customer.id,
                                 status=DomainStatus.ACTIVE).status is DomainStatus.ACTIVE


def test_domain_limit_and_delete_removes_mailboxes_and_aliases(make):
    customer = make.customer(make.plan(max_domains=1))
    domain = make.domain(customer)
    mailbox = make.mailbox(domain)
    make.alias(domain, "info", [mailbox.email])
    with pytest.raises(LimitExceeded):
        make.domain(customer)
    assert domains.domain_contents(domain.id) == (1, 1)
    domains.delete_domain(Actor.system(), domain.id)
    assert db.session.scalar(select(func.count(Domain.id))) == 0
    make.domain(customer)  # the freed slot can be used again
