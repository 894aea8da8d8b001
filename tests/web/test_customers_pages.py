"""Customer screens: create with a plan the actor may assign, refusals on the page, support access."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Customer, Domain, Mailbox, Role, User

pytestmark = pytest.mark.usefixtures("english")

MIB = 1024**2


def customer_count() -> int:
    return db.session.scalar(select(func.count(Customer.id))) or 0


def form(plan_id: int, **changes: object) -> dict[str, object]:
    return {"name": "Sakura Trading", "plan_id": plan_id, "reseller_id": "", "email": "it@sakura.test",
            "password": "a long enough secret"} | changes


def test_admin_creates_provider_customer_with_first_login(make, login_as):
    plan = make.plan()
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/customers/new", data=form(plan.id))
    customer = db.session.scalars(select(Customer)).one()
    assert response.status_code == 302 and response.location.endswith(f"/customers/{customer.id}")
    assert (customer.name, customer.plan_id, customer.reseller_id) == ("Sakura Trading", plan.id, None)
    login = db.session.scalars(select(User).where(User.email == "it@sakura.test")).one()
    assert login.role is Role.CUSTOMER and login.customer_id == customer.id


def test_admin_creates_customer_for_a_reseller_on_its_plan(make, login_as):
    reseller = make.reseller()
    plan = make.plan(make.staff_actor(reseller))
    client = login_as(make.user(Role.ADMIN))
    page = client.get("/customers/new").text
    assert f'<optgroup label="{reseller.name}">' in page
    client.post("/customers/new", data=form(plan.id, reseller_id=reseller.id))
    assert db.session.scalars(select(Customer)).one().reseller_id == reseller.id


def test_plan_of_another_seller_is_a_field_error(make, login_as):
    reseller = make.reseller()
    provider_plan = make.plan()
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/customers/new", data=form(provider_plan.id, reseller_id=reseller.id))
    assert response.status_code == 200
    assert "This plan belongs to another seller." in response.text
    assert customer_count() == 0


def test_reseller_creates_own_customer_and_cannot_pick_foreign_plan(make, login_as):
    reseller = make.reseller()
    own = make.plan(make.staff_actor(reseller), name="Own")
    foreign = make.plan(name="Provider only")
    client = login_as(make.user(Role.RESELLER, reseller=reseller))
    page = client.get("/customers/new").text
    assert "Own" in page and "Provider only" not in page and 'name="reseller_id"' not in page
    refused = client.post("/customers/new", data=form(foreign.id))
    assert "Not a valid choice." in refused.text
    assert customer_count() == 0
    client.post("/customers/new", data=form(own.id))
    assert db.session.scalars(select(Customer)).one().reseller_id == reseller.id


def test_reseller_over_its_customer_allowance_sees_the_message(make, login_as):
    reseller = make.reseller(max_customers=1)
    plan = make.plan(make.staff_actor(reseller))
    make.customer(plan, reseller)
    client = login_as(make.user(Role.RESELLER, reseller=reseller))
    response = client.post("/customers/new", data=form(plan.id))
    assert "Reseller allowance exceeded: customers would be 2 of 1." in response.text
    assert customer_count() == 1
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "it@sakura.test")) == 0


def test_bad_input_shows_field_errors_and_writes_nothing(make, login_as):
    plan = make.plan()
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/customers/new", data=form(plan.id, name="", password="short"))
    assert "This field is required." in response.text
    assert customer_count() == 0
    weak = client.post("/customers/new", data=form(plan.id, password="short"))
    assert "The password must have at least 10 characters." in weak.text
    assert customer_count() == 0


def test_plan_change_below_usage_shows_the_service_message(make, login_as):
    customer = make.customer(make.plan(max_mailboxes=5, storage_bytes=None, max_quota_bytes=None))
    domain = make.domain(customer)
    make.mailbox(domain, quota_bytes=MIB)
    make.mailbox(domain, quota_bytes=MIB)
    small = make.plan(max_mailboxes=1, storage_bytes=None, max_quota_bytes=None)
    client = login_as(make.user(Role.ADMIN))
    response = client.post(f"/customers/{customer.id}/edit", data={"name": "Renamed", "plan_id": small.id})
    assert "The plan is below current usage" in response.text and "mailboxes: 2 in use, limit 1" in response.text
    db.session.expire_all()
    stored = db.session.get(Customer, customer.id)
    assert (stored.name, stored.plan_id) == (customer.name, customer.plan_id)


def test_customer_page_shows_monthly_total_and_usage(make, login_as):
    customer = make.customer(make.plan(price_per_mailbox=Decimal(450), max_mailboxes=None))
    domain = make.domain(customer)
    make.mailbox(domain, quota_bytes=MIB)
    make.mailbox(domain, quota_bytes=MIB)
    page = login_as(make.user(Role.ADMIN)).get(f"/customers/{customer.id}").text
    assert "¥900" in page and "2 mailboxes × ¥450" in page
    assert f'action="/act-as/{customer.id}"' in page


def test_delete_lists_domains_and_mailboxes_then_removes_everything(make, login_as):
    customer = make.customer()
    domain = make.domain(customer)
    make.mailbox(domain, quota_bytes=MIB)
    make.user(Role.CUSTOMER, customer=customer)
    client = login_as(make.user(Role.ADMIN))
    confirm = client.get(f"/customers/{customer.id}/delete").text
    assert "1 domain" in confirm and "1 mailbox and all its mail" in confirm and "1 staff login" in confirm
    assert customer_count() == 1
    assert client.post(f"/customers/{customer.id}/delete").status_code == 302
    assert customer_count() == 0
    assert db.session.scalar(select(func.count(Domain.id))) == 0
    assert db.session.scalar(select(func.count(Mailbox.id))) == 0


def test_reseller_cannot_see_another_sellers_customer(make, login_as):
    reseller = make.reseller()
    foreign = make.customer()
    client = login_as(make.user(Role.RESELLER, reseller=reseller))
    assert foreign.name not in client.get("/customers/").text
    assert client.get(f"/customers/{foreign.id}").status_code == 404
    assert client.post(f"/customers/{foreign.id}/delete").status_code == 404
    assert customer_count() == 1


def test_customer_staff_cannot_reach_customer_pages(make, login_as):
    customer = make.customer()
    client = login_as(make.user(Role.CUSTOMER, customer=customer))
    assert client.get("/customers/").status_code == 403
    assert client.get(f"/customers/{customer.id}").status_code == 403
