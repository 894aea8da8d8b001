"""Reseller allowances and the loopholes other panels leave open."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Customer, Plan, Reseller
from panel.services import customers, plans, resellers
from panel.services.actor import Actor
from panel.services.errors import Forbidden, LimitExceeded
from panel.services.plans import AllowanceSpec, PlanSpec

GIB = 1024**3


def small_plan(**overrides):
    values = dict(max_domains=1, max_mailboxes=10, max_aliases=10, storage_bytes=10 * GIB,
                  max_quota_bytes=GIB, default_quota_bytes=GIB)
    return PlanSpec(name=overrides.pop("name", "Small"), **(values | overrides))


@pytest.fixture
def reseller_actor(make):
    reseller = make.reseller(make.allowance(max_customers=3, max_domains=3, max_mailboxes=25,
                                            max_aliases=100, storage_bytes=100 * GIB))
    return make.staff_actor(reseller=reseller)


def test_reseller_cannot_exceed_customer_allowance(make, reseller_actor):
    plan = plans.create_plan(reseller_actor, small_plan(max_mailboxes=5))
    for n in range(3):
        customers.create_customer(reseller_actor, f"Shop {n}", plan.id)
    with pytest.raises(LimitExceeded) as refused:
        customers.create_customer(reseller_actor, "Shop 4", plan.id)
    assert refused.value.limit == "max_customers"
    assert db.session.scalar(select(func.count(Customer.id))) == 3


def test_reseller_cannot_sell_more_mailboxes_than_its_allowance(make, reseller_actor):
    plan = plans.create_plan(reseller_actor, small_plan(max_mailboxes=10))
    customers.create_customer(reseller_actor, "A", plan.id)
    customers.create_customer(reseller_actor, "B", plan.id)
    with pytest.raises(LimitExceeded) as refused:  # 30 > 25 mailboxes
        customers.create_customer(reseller_actor, "C", plan.id)
    assert refused.value.limit == "max_mailboxes"
    assert "30" in str(refused.value) and "25" in str(refused.value)


def test_unlimited_plan_cannot_slip_past_a_finite_allowance(make, reseller_actor):
    """Loophole: "None/0 = unlimited" must not pass as a small number."""
    with pytest.raises(LimitExceeded) as refused:
        plans.create_plan(reseller_actor, small_plan(max_mailboxes=None))
    assert refused.value.limit == "max_mailboxes"
    assert db.session.scalar(select(func.count(Plan.id))) == 0


def test_zero_means_zero_not_unlimited(make):
    customer = make.customer(make.plan(max_aliases=0))
    with pytest.raises(LimitExceeded):
        make.alias(make.domain(customer))


def test_single_plan_larger_than_allowance_is_refused(make, reseller_actor):
    with pytest.raises(LimitExceeded):
        plans.create_plan(reseller_actor, small_plan(storage_bytes=200 * GIB, max_quota_bytes=GIB))


def test_raising_a_sold_plan_past_the_allowance_is_refused(make, reseller_actor):
    plan = plans.create_plan(reseller_actor, small_plan(max_mailboxes=10))
    customers.create_customer(reseller_actor, "A", plan.id)
    customers.create_customer(reseller_actor, "B", plan.id)
    with pytest.raises(LimitExceeded):  # 2 x 15 > 25
        plans.update_plan(reseller_actor, plan.id, small_plan(max_mailboxes=15))
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).max_mailboxes == 10


def test_downgrading_a_plan_below_usage_names_what_is_over(make):
    plan = make.plan(name="Big", max_mailboxes=10, storage_bytes=None, max_quota_bytes=None)
    customer = make.customer(plan)
    domain = make.domain(customer)
    for n in range(4):
        make.mailbox(domain, f"u{n}", quota_bytes=1024)
    with pytest.raises(LimitExceeded) as refused:
        plans.update_plan(Actor.system(), plan.id, PlanSpec(
            name="Big", max_mailboxes=3, storage_bytes=None, max_quota_bytes=None))
    message = str(refused.value)
    assert customer.name in message and "4" in message and "3" in message
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).max_mailboxes == 10


def test_moving_customer_to_a_smaller_plan_below_usage_is_refused(make):
    customer = make.customer(make.plan(max_domains=2))
    make.domain(customer)
    make.domain(customer)
    smaller = make.plan(max_domains=1)
    with pytest.raises(LimitExceeded):
        customers.update_customer(Actor.system(), customer.id, customer.name, smaller.id)


def test_shrinking_a_reseller_allowance_below_what_it_sold_is_refused(make, reseller_actor):
    plan = plans.create_plan(reseller_actor, small_plan(max_mailboxes=10))
    customers.create_customer(reseller_actor, "A", plan.id)
    customers.create_customer(reseller_actor, "B", plan.id)
    reseller = db.session.get(Reseller, reseller_actor.reseller_id)
    with pytest.raises(LimitExceeded):
        plans.update_allowance(Actor.system(), reseller.reseller_plan_id, AllowanceSpec(
            name=reseller.reseller_plan.name, max_customers=3, max_domains=3, max_mailboxes=15,
            max_aliases=100, storage_bytes=100 * GIB))
    smaller = plans.create_allowance(Actor.system(), AllowanceSpec(name="Tiny", max_mailboxes=5))
    with pytest.raises(LimitExceeded):
        resellers.update_reseller(Actor.system(), reseller.id, reseller.name, smaller.id)


def test_reseller_cannot_put_a_customer_on_another_sellers_plan(make, reseller_actor):
    provider_plan = make.plan()
    with pytest.raises(Exception) as refused:
        customers.create_customer(reseller_actor, "Sneaky", provider_plan.id)
    assert refused.type.__name__ in ("NotFound", "Forbidden")


def test_customer_staff_cannot_create_plans(make):
    customer = make.customer()
    with pytest.raises(Forbidden):
        plans.create_plan(make.staff_actor(customer=customer), small_plan())
