"""Reseller screens: created together with a first login, or not at all."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import AuditEvent, Reseller, Role, User

pytestmark = pytest.mark.usefixtures("english")


def count(model: type) -> int:
    return db.session.scalar(select(func.count(model.id))) or 0


def form(allowance_id: int, **changes: str) -> dict[str, object]:
    return {"name": "Kansai Hosting", "allowance_id": allowance_id, "email": "boss@kansai.test",
            "password": "a long enough secret"} | changes


def test_admin_creates_reseller_with_first_login_that_can_log_in(make, login_as, client):
    allowance = make.allowance()
    login_as(make.user(Role.ADMIN))
    response = client.post("/resellers/new", data=form(allowance.id))
    reseller = db.session.scalars(select(Reseller)).one()
    assert response.status_code == 302 and response.location.endswith(f"/resellers/{reseller.id}")
    login = db.session.scalars(select(User).where(User.email == "boss@kansai.test")).one()
    assert login.role is Role.RESELLER and login.reseller_id == reseller.id
    assert "boss@kansai.test" in client.get(f"/resellers/{reseller.id}").text
    client.post("/logout")
    assert client.post("/login", data={"login": "boss@kansai.test", "password": "a long enough secret"}).status_code == 302
    assert "Kansai Hosting" in client.get("/").text


def test_weak_password_or_bad_address_writes_no_reseller(make, login_as):
    allowance = make.allowance()
    client = login_as(make.user(Role.ADMIN))
    weak = client.post("/resellers/new", data=form(allowance.id, password="short"))
    assert "The password must have at least 10 characters." in weak.text
    bad = client.post("/resellers/new", data=form(allowance.id, email="not-an-address"))
    assert "Enter a full e-mail address" in bad.text
    assert count(Reseller) == 0


def test_taken_login_address_removes_the_new_reseller_again(make, login_as):
    allowance = make.allowance()
    admin = make.user(Role.ADMIN)
    client = login_as(admin)
    response = client.post("/resellers/new", data=form(allowance.id, email=admin.email))
    assert "A login with this e-mail address already exists." in response.text
    assert count(Reseller) == 0


def test_duplicate_name_shows_next_to_name(make, login_as):
    existing = make.reseller()
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/resellers/new", data=form(existing.reseller_plan_id, name=existing.name))
    assert "A reseller with this name already exists." in response.text
    assert count(Reseller) == 1


def test_moving_to_a_smaller_allowance_shows_what_is_over(make, login_as):
    reseller = make.reseller(max_customers=5)
    make.customer(reseller=reseller)
    make.customer(reseller=reseller)
    small = make.allowance(max_customers=1)
    client = login_as(make.user(Role.ADMIN))
    response = client.post(f"/resellers/{reseller.id}/edit", data={"name": reseller.name, "allowance_id": small.id})
    assert "customers would be 2 of 1" in response.text
    db.session.expire_all()
    assert db.session.get(Reseller, reseller.id).reseller_plan_id != small.id


def test_delete_lists_what_goes_then_removes_reseller_and_logins(make, login_as):
    reseller = make.reseller()
    make.user(Role.RESELLER, reseller=reseller)
    client = login_as(make.user(Role.ADMIN))
    confirm = client.get(f"/resellers/{reseller.id}/delete").text
    assert "0 plans it sells" in confirm and "1 staff login" in confirm
    client.post(f"/resellers/{reseller.id}/delete")
    assert count(Reseller) == 0
    assert db.session.scalar(select(func.count(User.id)).where(User.role == Role.RESELLER)) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "reseller.delete")) == 1


def test_delete_removes_the_plans_it_sells(make, login_as):
    reseller = make.reseller()
    make.plan(make.staff_actor(reseller))
    client = login_as(make.user(Role.ADMIN))
    assert "1 plan it sells" in client.get(f"/resellers/{reseller.id}/delete").text
    client.post(f"/resellers/{reseller.id}/delete")
    assert count(Reseller) == 0


def test_reseller_with_customers_is_not_deleted(make, login_as):
    reseller = make.reseller()
    make.customer(reseller=reseller)
    client = login_as(make.user(Role.ADMIN))
    response = client.post(f"/resellers/{reseller.id}/delete", follow_redirects=True)
    assert "The reseller still has 1 customers" in response.text
    assert count(Reseller) == 1


def test_reseller_staff_cannot_reach_reseller_pages(make, login_as):
    reseller = make.reseller()
    client = login_as(make.user(Role.RESELLER, reseller=reseller))
    assert client.get("/resellers/").status_code == 403
    assert client.get(f"/resellers/{reseller.id}").status_code == 403
