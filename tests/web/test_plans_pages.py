"""Plan screens: forms write through the service, refusals show on the page, tenancy holds."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Plan, Role, Tier

pytestmark = pytest.mark.usefixtures("english")

GIB = 1024**3
MIB = 1024**2

PLAN_FORM = {
    "name": "Business", "tier": "shared", "max_domains": "3", "max_mailboxes": "",
    "max_aliases": "50", "storage_bytes": "1.5", "max_quota_bytes": "512",
    "default_quota_bytes": "256", "max_message_bytes": "25", "sends_per_hour": "100",
    "archive_retention_days": "", "price_per_mailbox": "500", "setup_fee": "0", "currency": "JPY",
}


def plan_count() -> int:
    return db.session.scalar(select(func.count(Plan.id))) or 0


def test_admin_creates_plan_with_sizes_in_mib_and_gib(make, login_as):
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/plans/new", data=PLAN_FORM)
    plan = db.session.scalars(select(Plan)).one()
    assert response.status_code == 302 and response.location.endswith(f"/plans/{plan.id}")
    assert plan.storage_bytes == int(1.5 * GIB)
    assert plan.max_quota_bytes == 512 * MIB
    assert plan.max_mailboxes is None  # empty is unlimited
    assert plan.reseller_id is None
    page = client.get(f"/plans/{plan.id}").text
    assert "¥500" in page and "¥500.00" not in page  # yen has no decimals
    assert "unlimited" in page


def test_bad_input_shows_field_error_and_writes_nothing(make, login_as):
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/plans/new", data=PLAN_FORM | {"storage_bytes": "lots", "price_per_mailbox": "NaN"})
    assert response.status_code == 200
    assert "Enter a number of GiB" in response.text
    assert "Enter an amount such as 500" in response.text
    hostile = client.post("/plans/new", data=PLAN_FORM | {"storage_bytes": "1e999999", "max_domains": "9" * 5000,
                                                          "setup_fee": "-1"})
    assert hostile.status_code == 200
    assert "This size is too large." in hostile.text and "Not a valid integer value." in hostile.text
    assert "Enter an amount between 0 and" in hostile.text
    assert plan_count() == 0


def test_service_rule_shows_next_to_its_field(make, login_as):
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/plans/new", data=PLAN_FORM | {"default_quota_bytes": "1024"})
    assert "The default quota is above the maximum quota per mailbox." in response.text
    assert plan_count() == 0


def test_reseller_plan_beyond_allowance_is_refused_with_the_message(make, login_as):
    reseller = make.reseller(max_mailboxes=20)
    client = login_as(make.user(Role.RESELLER, reseller=reseller))
    response = client.post("/plans/new", data=PLAN_FORM | {"max_mailboxes": "30"})
    assert "Reseller allowance exceeded: mailboxes would be 30 of 20." in response.text
    response = client.post("/plans/new", data=PLAN_FORM | {"max_mailboxes": ""})
    assert "so unlimited is not possible" in response.text
    assert plan_count() == 0


def test_plan_page_shows_customers_and_monthly_total(make, login_as):
    plan = make.plan(price_per_mailbox=Decimal(300), max_mailboxes=None)
    customer, small = make.customer(plan), make.customer(plan)
    domain = make.domain(customer)
    for _ in range(3):
        make.mailbox(domain, quota_bytes=MIB)
    make.mailbox(make.domain(small), quota_bytes=MIB)
    page = login_as(make.user(Role.ADMIN)).get(f"/plans/{plan.id}").text
    assert customer.name in page and small.name in page
    assert "¥900" in page and "¥300" in page
    assert "All customers, per month</th><th class=\"text-end\">¥1,200" in page


def test_downgrade_below_usage_shows_what_is_over(make, login_as):
    plan = make.plan(max_mailboxes=5, storage_bytes=None, max_quota_bytes=None)
    customer = make.customer(plan)
    domain = make.domain(customer)
    make.mailbox(domain, quota_bytes=MIB)
    make.mailbox(domain, quota_bytes=MIB)
    client = login_as(make.user(Role.ADMIN))
    form = PLAN_FORM | {"name": plan.name, "max_mailboxes": "1", "storage_bytes": "", "max_quota_bytes": ""}
    response = client.post(f"/plans/{plan.id}/edit", data=form)
    assert response.status_code == 200
    assert "The plan is below current usage" in response.text and "2 in use, limit 1" in response.text
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).max_mailboxes == 5


def test_edit_form_shows_stored_sizes_in_its_units(make, login_as):
    plan = make.plan(storage_bytes=2 * GIB, max_quota_bytes=GIB + GIB // 2)
    page = login_as(make.user(Role.ADMIN)).get(f"/plans/{plan.id}/edit").text
    assert 'name="storage_bytes" step="any" type="number" value="2"' in page
    assert 'value="1536"' in page


def test_delete_asks_then_removes(make, login_as):
    plan = make.plan()
    client = login_as(make.user(Role.ADMIN))
    confirm = client.get(f"/plans/{plan.id}/delete")
    assert confirm.status_code == 200 and f"Delete plan {plan.name}?" in confirm.text
    assert plan_count() == 1
    assert client.post(f"/plans/{plan.id}/delete").status_code == 302
    assert plan_count() == 0


def test_plan_in_use_is_not_deleted(make, login_as):
    plan = make.plan()
    make.customer(plan)
    client = login_as(make.user(Role.ADMIN))
    response = client.post(f"/plans/{plan.id}/delete", follow_redirects=True)
    assert "The plan is used by 1 customers" in response.text
    assert plan_count() == 1


def test_list_searches_and_pages_in_sql(app, make, login_as):
    app.config["PAGE_SIZE"] = 2
    for name in ("Gold", "Silver", "Bronze", "Golden Week"):
        make.plan(name=name)
    client = login_as(make.user(Role.ADMIN))
    found = client.get("/plans/?q=gold").text
    assert "Gold" in found and "Golden Week" in found and "Silver" not in found
    first, second = client.get("/plans/").text, client.get("/plans/?page=2").text
    assert "4 in all" in first and "Bronze" in first and "Silver" not in first
    assert "Silver" in second and "Bronze" not in second


def test_reseller_sees_only_its_own_plans(make, login_as):
    reseller = make.reseller()
    own = make.plan(make.staff_actor(reseller), name="Own plan")
    provider = make.plan(name="Provider plan", tier=Tier.SHARED)
    client = login_as(make.user(Role.RESELLER, reseller=reseller))
    listing = client.get("/plans/").text
    assert "Own plan" in listing and "Provider plan" not in listing
    assert client.get(f"/plans/{own.id}").status_code == 200
    assert client.get(f"/plans/{provider.id}").status_code == 404
    assert client.get(f"/plans/{provider.id}/edit").status_code == 404


def test_customer_staff_cannot_reach_plans(make, login_as):
    customer = make.customer()
    client = login_as(make.user(Role.CUSTOMER, customer=customer))
    assert client.get("/plans/").status_code == 403
    assert client.get(f"/plans/{customer.plan_id}").status_code == 403
