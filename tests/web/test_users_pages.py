"""Staff login screens: each role creates only the logins it may, and sees only its own."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Role, User
from panel.services.passwords import verify_password

pytestmark = pytest.mark.usefixtures("english")

PASSWORD = "a long enough secret"


def login_count() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def test_admin_creates_reseller_staff_login(make, login_as):
    reseller = make.reseller()
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/logins/new", data={"email": "Sales@Kansai.test", "name": "Sales", "password": PASSWORD,
                                                "role": "reseller", "reseller_id": reseller.id, "customer_id": ""})
    assert response.status_code == 302
    user = db.session.scalars(select(User).where(User.email == "sales@kansai.test")).one()
    assert (user.role, user.reseller_id) == (Role.RESELLER, reseller.id)
    assert verify_password(PASSWORD, user.password_hash) and PASSWORD not in user.password_hash
    assert "sales@kansai.test" in client.get("/logins/").text


def test_reseller_login_without_reseller_is_a_field_error(make, login_as):
    client = login_as(make.user(Role.ADMIN))
    before = login_count()
    response = client.post("/logins/new", data={"email": "x@kansai.test", "password": PASSWORD, "role": "reseller",
                                                "reseller_id": "", "customer_id": ""})
    assert response.status_code == 200 and "This field is required." in response.text
    assert login_count() == before


def test_weak_password_and_taken_address_show_and_write_nothing(make, login_as):
    customer = make.customer()
    staff = make.user(Role.CUSTOMER, customer=customer)
    client = login_as(staff)
    before = login_count()
    weak = client.post("/logins/new", data={"email": "new@sakura.test", "password": "password123", "role": "customer"})
    assert "This password is too common; choose another." in weak.text
    taken = client.post("/logins/new", data={"email": staff.email, "password": PASSWORD, "role": "customer"})
    assert "A login with this e-mail address already exists." in taken.text
    assert login_count() == before


def test_customer_staff_adds_a_colleague_only(make, login_as):
    customer = make.customer()
    client = login_as(make.user(Role.CUSTOMER, customer=customer))
    form = client.get("/logins/new").text
    assert 'value="customer"' in form and 'value="admin"' not in form and 'name="customer_id"' not in form
    refused = client.post("/logins/new", data={"email": "boss@evil.test", "password": PASSWORD, "role": "admin"})
    assert "Not a valid choice." in refused.text
    client.post("/logins/new", data={"email": "colleague@sakura.test", "password": PASSWORD, "role": "customer"})
    colleague = db.session.scalars(select(User).where(User.email == "colleague@sakura.test")).one()
    assert (colleague.role, colleague.customer_id) == (Role.CUSTOMER, customer.id)
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "boss@evil.test")) == 0


def test_new_login_link_on_customer_page_preselects_the_customer(make, login_as):
    customer = make.customer()
    client = login_as(make.user(Role.ADMIN))
    page = client.get(f"/customers/{customer.id}").text
    link = f"/logins/new?role=customer&amp;customer_id={customer.id}"
    assert link in page
    form = client.get(link.replace("&amp;", "&")).text
    assert f'<option selected value="{customer.id}">' in form and '<option selected value="customer">' in form
    assert 'name="customer_id"' in client.get("/logins/new?customer_id=not-a-number").text


def test_reseller_cannot_create_staff_for_a_foreign_customer(make, login_as):
    reseller = make.reseller()
    foreign = make.customer()
    client = login_as(make.user(Role.RESELLER, reseller=reseller))
    response = client.post("/logins/new", data={"email": "in@foreign.test", "password": PASSWORD, "role": "customer",
                                                "customer_id": foreign.id})
    assert "Not a valid choice." in response.text
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "in@foreign.test")) == 0


def test_list_shows_only_visible_logins(make, login_as):
    customer = make.customer()
    other = make.user(Role.CUSTOMER, customer=make.customer())
    admin = make.user(Role.ADMIN)
    client = login_as(make.user(Role.CUSTOMER, customer=customer))
    listing = client.get("/logins/").text
    assert other.email not in listing and admin.email not in listing
    assert client.get(f"/logins/{other.id}/delete").status_code == 404


def test_delete_asks_then_removes_and_refuses_own_login(make, login_as):
    admin = make.user(Role.ADMIN)
    colleague = make.user(Role.ADMIN)
    client = login_as(admin)
    assert f"Delete login {colleague.email}?" in client.get(f"/logins/{colleague.id}/delete").text
    client.post(f"/logins/{colleague.id}/delete")
    assert db.session.get(User, colleague.id) is None
    own = client.post(f"/logins/{admin.id}/delete", follow_redirects=True)
    assert "You cannot delete your own login." in own.text
    assert db.session.get(User, admin.id) is not None


def test_mailbox_user_cannot_reach_logins(make, login_as):
    mailbox = make.mailbox()
    client = login_as(mailbox)
    assert client.get("/logins/").status_code == 403
