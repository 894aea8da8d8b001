"""Logging in and out (staff and mailbox users), CSRF, and support access ("act as")."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import AuditEvent, DomainStatus, Plan, Role, User
from panel.services import domains
from panel.web.principal import load_principal
from tests.factories import Factory

pytestmark = pytest.mark.usefixtures("english")

BANNER = "Support access: you are working as a customer."


def test_staff_logs_in_and_out(make, client):
    admin = make.user(Role.ADMIN)
    assert client.get("/").status_code == 302  # not logged in yet
    response = client.post("/login", data={"login": admin.email.upper(), "password": Factory.PASSWORD})
    assert response.status_code == 302 and response.location == "/"
    page = client.get("/").text
    assert "Provider dashboard" in page and admin.email in page
    logout = client.post("/logout", follow_redirects=True)
    assert "You have logged out." in logout.text
    assert client.get("/").location.startswith("/login")


def test_mailbox_user_logs_in_with_address_and_password(make, client):
    mailbox = make.mailbox()
    response = client.post("/login", data={"login": mailbox.email, "password": Factory.PASSWORD})
    assert response.status_code == 302
    page = client.get("/").text
    assert "My mailbox" in page and mailbox.email in page
    assert client.get("/customers/").status_code == 403


@pytest.mark.parametrize("status", [DomainStatus.PENDING, DomainStatus.SUSPENDED])
def test_mailbox_of_a_domain_not_in_service_cannot_log_in_or_stay(make, client, status):
    mailbox = make.mailbox()
    assert load_principal(f"m:{mailbox.id}") is not None
    domains.set_domain_status(make.system, mailbox.domain_id, status)
    assert load_principal(f"m:{mailbox.id}") is None  # a session from before no longer counts
    response = client.post("/login", data={"login": mailbox.email, "password": Factory.PASSWORD})
    assert "Wrong e-mail address or password." in response.text
    assert client.get("/account/forwarding").status_code == 302


def test_wrong_password_shows_message_and_stays_logged_out(make, client):
    admin = make.user(Role.ADMIN)
    response = client.post("/login", data={"login": admin.email, "password": "not the password"})
    assert response.status_code == 200
    assert "Wrong e-mail address or password." in response.text
    unknown = client.post("/login", data={"login": "nobody@nowhere.test", "password": "not the password"})
    assert "Wrong e-mail address or password." in unknown.text
    assert client.get("/").status_code == 302


def test_login_never_redirects_off_site(make, client):
    admin = make.user(Role.ADMIN)
    response = client.post("/login?next=//evil.example/x", data={"login": admin.email, "password": Factory.PASSWORD})
    assert response.location == "/"


def test_post_without_csrf_token_is_rejected(app, make, client):
    app.config["WTF_CSRF_ENABLED"] = True
    admin = make.user(Role.ADMIN)
    refused = client.post("/login", data={"login": admin.email, "password": Factory.PASSWORD})
    assert refused.status_code == 400
    assert client.get("/").status_code == 302
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text).group(1)
    accepted = client.post("/login", data={"login": admin.email, "password": Factory.PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302
    forged = client.post("/plans/new", data={"name": "Forged", "default_quota_bytes": "1", "max_message_bytes": "1"})
    assert forged.status_code == 400
    assert db.session.scalar(select(func.count(Plan.id))) == 0


def test_act_as_shows_banner_and_audits_the_real_user(make, login_as):
    customer = make.customer()
    admin = make.user(Role.ADMIN)
    client = login_as(admin)
    assert BANNER not in client.get("/").text
    response = client.post(f"/act-as/{customer.id}", follow_redirects=True)
    assert BANNER in response.text and customer.name in response.text
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.act_as")).one()
    assert (event.user_id, event.actor_label, event.acting_as_customer_id) == (admin.id, admin.email, customer.id)
    # A change made while acting is the customer's, recorded under the admin's name.
    client.post("/logins/new", data={"email": "helper@sakura.test", "password": "a long enough secret",
                                     "role": "customer"})
    helper = db.session.scalars(select(User).where(User.email == "helper@sakura.test")).one()
    assert helper.customer_id == customer.id
    change = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create",
                                                         AuditEvent.object_id == helper.id)).one()
    assert (change.user_id, change.acting_as_customer_id) == (admin.id, customer.id)
    assert BANNER not in client.post("/act-as/stop", follow_redirects=True).text


def test_reseller_cannot_act_as_a_foreign_customer(make, login_as):
    foreign = make.customer()
    client = login_as(make.user(Role.RESELLER, reseller=make.reseller()))
    assert client.post(f"/act-as/{foreign.id}").status_code == 404
    assert BANNER not in client.get("/").text
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "customer.act_as")) == 0


def test_act_as_button_on_customer_page_carries_its_csrf_token(app, make, login_as):
    customer = make.customer()
    client = login_as(make.user(Role.ADMIN))
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/customers/{customer.id}").text
    button = page[page.index(f'action="/act-as/{customer.id}"'):][:400]
    token = re.search(r'name="csrf_token" value="([^"]+)"', button).group(1)
    assert client.post(f"/act-as/{customer.id}").status_code == 400
    assert BANNER in client.post(f"/act-as/{customer.id}", data={"csrf_token": token}, follow_redirects=True).text


def test_language_chosen_on_the_login_page_survives_login_and_is_remembered(make, client, ctx):
    admin = make.user(Role.ADMIN)
    client.get("/language/ja")
    client.post("/login", data={"login": admin.email, "password": make.PASSWORD})
    assert '<html lang="ja">' in client.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).locale == "ja"
    client.post("/logout")
    fresh = client.application.test_client()
    fresh.post("/login", data={"login": admin.email, "password": make.PASSWORD})
    assert '<html lang="ja">' in fresh.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
