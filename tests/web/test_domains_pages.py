"""Domain screens: add (customer, admin), list with counts, detail, status, delete with what goes."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Alias, AliasDestination, Domain, DomainStatus, Mailbox, Role

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def customer(make):
    make.node(name="shared-1", hostname="mx1.tegami.test")
    return make.customer(make.plan(max_domains=3))


@pytest.fixture
def staff(make, customer, login_as):
    return login_as(make.user(Role.CUSTOMER, customer=customer))


def count(model: type) -> int:
    return db.session.scalar(select(func.count(model.id))) or 0


def test_customer_adds_idn_domain_to_own_account(customer, staff):
    response = staff.post("/domains/new", data={"name": "例え.JP"})
    domain = db.session.scalars(select(Domain)).one()
    assert response.status_code == 302 and response.location.endswith(f"/domains/{domain.id}")
    assert (domain.name, domain.customer_id, domain.status) == ("xn--r8jz45g.jp", customer.id, DomainStatus.PENDING)
    listing = staff.get("/domains/").text
    assert "例え.jp" in listing and "xn--r8jz45g.jp" in listing and "Pending" in listing
    assert "mx1.tegami.test" in listing


def test_customer_cannot_choose_status_or_customer(make, customer, staff):
    other = make.customer()
    page = staff.get("/domains/new").text
    assert 'name="status"' not in page and 'name="customer_id"' not in page
    staff.post("/domains/new", data={"name": "shop.example", "status": "active", "customer_id": other.id})
    domain = db.session.scalars(select(Domain)).one()
    assert (domain.customer_id, domain.status) == (customer.id, DomainStatus.PENDING)


def test_invalid_domain_name_shows_the_form_again_and_writes_nothing(staff):
    for name in ("not a domain", "localhost", "-bad-.example", "a..example"):
        response = staff.post("/domains/new", data={"name": name})
        assert response.status_code == 200
        assert "Enter a valid domain name such as example.jp." in response.text, name
    assert count(Domain) == 0


def test_domain_over_plan_limit_shows_the_limit(make, customer, staff):
    for n in range(3):
        make.domain(customer, name=f"d{n}.example")
    response = staff.post("/domains/new", data={"name": "fourth.example"})
    assert "Plan limit reached: domains is limited to 3." in response.text
    assert count(Domain) == 3


def test_admin_adds_active_domain_for_a_chosen_customer(make, customer, login_as):
    client = login_as(make.user(Role.ADMIN))
    page = client.get("/domains/new").text
    assert customer.name in page and 'name="status"' in page
    response = client.post("/domains/new", data={"name": "shop.example", "customer_id": customer.id,
                                                 "status": "active"})
    assert response.status_code == 302
    domain = db.session.scalars(select(Domain)).one()
    assert (domain.customer_id, domain.status) == (customer.id, DomainStatus.ACTIVE)


def test_reseller_cannot_add_a_domain_for_another_resellers_customer(make, customer, login_as):
    reseller = make.reseller()
    client = login_as(make.user(Role.RESELLER, reseller=reseller))
    assert customer.name not in client.get("/domains/new").text
    response = client.post("/domains/new", data={"name": "shop.example", "customer_id": customer.id})
    assert response.status_code == 200 and "Not a valid choice" in response.text
    assert count(Domain) == 0


def test_list_counts_mailboxes_and_detail_shows_contents(make, customer, staff):
    busy = make.domain(customer, name="busy.example")
    make.domain(customer, name="quiet.example")
    for local in ("ann", "ben", "cho"):
        make.mailbox(busy, local, quota_bytes=1024)
    make.alias(busy, "", ["ann@busy.example"])
    listing = staff.get("/domains/").text
    assert f'href="/mailboxes/?domain={busy.id}">3</a>' in listing
    assert ">0</a>" in listing
    detail = staff.get(f"/domains/{busy.id}").text
    assert "Mailboxes (3)" in detail and "cho@busy.example" in detail
    assert "Aliases (1)" in detail and "Catch-all" in detail
    assert 'name="status"' not in detail  # the status is the provider's decision


def test_customer_may_not_change_the_status(make, customer, staff):
    domain = make.domain(customer, name="shop.example")
    assert staff.post(f"/domains/{domain.id}/status", data={"status": "suspended"}).status_code == 403
    db.session.refresh(domain)
    assert domain.status is DomainStatus.ACTIVE


def test_admin_suspends_a_domain(make, customer, login_as):
    domain = make.domain(customer, name="shop.example")
    client = login_as(make.user(Role.ADMIN))
    assert 'name="status"' in client.get(f"/domains/{domain.id}").text
    response = client.post(f"/domains/{domain.id}/status", data={"status": "suspended"})
    assert response.status_code == 302
    assert "shop.example is now Suspended." in client.get(response.location).text
    db.session.refresh(domain)
    assert domain.status is DomainStatus.SUSPENDED


def test_delete_explains_what_goes_then_deletes_it_all(make, customer, staff):
    domain = make.domain(customer, name="shop.example")
    for local in ("ann", "ben", "cho"):
        make.mailbox(domain, local, quota_bytes=1024)
    make.alias(domain, "info", ["ann@shop.example", "x@elsewhere.example"])
    make.alias(domain, "sales", ["ben@shop.example"])
    page = staff.get(f"/domains/{domain.id}/delete").text
    assert "Delete shop.example?" in page
    assert "3 mailboxes and 2 aliases will be deleted" in page
    assert count(Mailbox) == 3
    response = staff.post(f"/domains/{domain.id}/delete")
    assert response.status_code == 302 and response.location.endswith("/domains/")
    assert (count(Domain), count(Mailbox), count(Alias), count(AliasDestination)) == (0, 0, 0, 0)


def test_delete_without_csrf_token_is_refused(make, customer, staff, app):
    domain = make.domain(customer, name="shop.example")
    app.config["WTF_CSRF_ENABLED"] = True
    assert staff.post(f"/domains/{domain.id}/delete").status_code == 400
    assert count(Domain) == 1


def test_another_customers_domain_is_not_found(make, staff):
    foreign = make.domain(make.customer(), name="secret.example")
    for path in (f"/domains/{foreign.id}", f"/domains/{foreign.id}/delete"):
        assert staff.get(path).status_code == 404, path
    assert staff.post(f"/domains/{foreign.id}/delete").status_code == 404
    assert staff.post(f"/domains/{foreign.id}/status", data={"status": "suspended"}).status_code == 404
    assert "secret.example" not in staff.get("/domains/?q=secret").text
    assert count(Domain) == 1
