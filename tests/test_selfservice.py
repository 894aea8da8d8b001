"""Mailbox self-service: own password, forwarding, vacation and app passwords, through the pages
and the services, and what of it reaches the node's bundle."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from passlib.hash import pbkdf2_sha256
from sqlalchemy import select

from maild.bundle import load_bundle
from panel.extensions import db
from panel.models import AppPassword, AuditEvent, Mailbox, Role
from panel.services import app_passwords, mailboxes, secrets, selfservice
from panel.services.actor import Actor
from panel.services.errors import Forbidden, Invalid, NotFound
from panel.services.passwords import verify_password
from tests.conftest import login
from tests.factories import Factory

NEW_PASSWORD = "a much better passphrase"
SECRET = re.compile(r'<code class="app-password-secret">([a-z0-9-]+)</code>')


@pytest.fixture
def taro(make: Factory) -> Mailbox:
    mailbox = make.mailbox(make.domain(name="example.jp"), "taro")
    db.session.commit()
    return mailbox


def bundled(app: Flask, mailbox: Mailbox):  # type: ignore[no-untyped-def]
    """The mailbox as the node's daemon will see it."""
    config = load_bundle(f"{app.config['BUNDLE_DIR']}/{mailbox.domain.node.name}")
    return config.mailbox(mailbox.email)


def test_password_change_needs_the_old_password_and_meets_the_policy(english: FlaskClient, taro: Mailbox) -> None:
    login(english, "taro@example.jp")
    form = {"old_password": "not my password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert "The current password is not correct." in english.post("/account/password", data=form).text
    for weak in ("short", "password123"):
        page = english.post("/account/password", data={"old_password": Factory.PASSWORD, "password": weak,
                                                        "confirm": weak}).text
        assert "at least 10 characters" in page or "too common" in page
    db.session.expire_all()
    assert verify_password(Factory.PASSWORD, db.session.get(Mailbox, taro.id).password_hash)
    response = english.post("/account/password", data={**form, "old_password": Factory.PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    assert verify_password(NEW_PASSWORD, db.session.get(Mailbox, taro.id).password_hash)


def test_own_password_change_carries_the_apop_secret_along(make: Factory, taro: Mailbox) -> None:
    taro.domain.customer.plan.allow_apop = True
    db.session.commit()
    mailboxes.set_apop(make.system, taro.id, True, Factory.PASSWORD)
    mailbox = selfservice.change_own_password(Actor.for_mailbox(taro), Factory.PASSWORD, NEW_PASSWORD)
    assert mailbox.apop_secret is not None and secrets.decrypt(mailbox.apop_secret) == NEW_PASSWORD


def test_only_the_mailbox_user_changes_their_password_with_the_old_one(make: Factory, taro: Mailbox) -> None:
    with pytest.raises(Forbidden):
        selfservice.change_own_password(make.system, Factory.PASSWORD, NEW_PASSWORD)
    with pytest.raises(Invalid):
        selfservice.change_own_password(Actor.for_mailbox(taro), Factory.PASSWORD, Factory.PASSWORD)


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_forwarding_with_and_without_a_copy_reaches_the_bundle(app: Flask, english: FlaskClient, taro: Mailbox) -> None:
    login(english, "taro@example.jp")
    response = english.post("/account/forwarding", data={"forward_to": "Taro@Home.test\n\ntaro@home.test, boss@例え.jp",
                                                          "keep_copy": "y"})
    assert response.status_code == 302
    box = bundled(app, taro)
    assert box.forward_to == ("taro@home.test", "boss@xn--r8jz45g.jp") and box.forward_keep_copy
    assert "boss@例え.jp" in english.get("/account/forwarding").text
    assert "boss@例え.jp" in english.get("/account/").text
    english.post("/account/forwarding", data={"forward_to": "taro@home.test"})
    box = bundled(app, taro)
    assert box.forward_to == ("taro@home.test",) and not box.forward_keep_copy
    english.post("/account/forwarding", data={"forward_to": ""})
    assert bundled(app, taro).forward_to == ()
    assert bundled(app, taro).forward_keep_copy
    page = english.post("/account/forwarding", data={"forward_to": "taro@example.jp"}).text
    assert "cannot be forwarded to the mailbox itself" in page
    assert "Enter a full e-mail address" in english.post("/account/forwarding", data={"forward_to": "nobody"}).text


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_vacation_saved_in_the_panel_is_in_the_bundle(app: Flask, english: FlaskClient, taro: Mailbox) -> None:
    login(english, "taro@example.jp")
    form = {"enabled": "y", "subject": "Away", "body": "Back on Monday.\r\nTaro", "start": "2030-08-01",
            "end": "2030-08-10", "interval_days": "3"}
    assert english.post("/account/vacation", data=form).status_code == 302
    vacation = bundled(app, taro).vacation
    assert (vacation.subject, vacation.body, vacation.start, vacation.end, vacation.interval_days) == (
        "Away", "Back on Monday.\nTaro", "2030-08-01", "2030-08-10", 3)
    assert "cannot be before the first" in english.post("/account/vacation", data={**form, "end": "2030-07-01"}).text
    assert "single line" in english.post("/account/vacation", data={**form, "subject": "a\nBcc: x@y"}).text
    english.post("/account/vacation", data={**form, "enabled": ""})
    assert bundled(app, taro).vacation is None
    assert db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == "mailbox.vacation"


def test_staff_set_forwarding_but_never_for_another_tenant(make: Factory, taro: Mailbox) -> None:
    customer_staff = Actor.for_user(make.user(Role.CUSTOMER, customer=taro.domain.customer))
    selfservice.set_forwarding(customer_staff, taro.id, ["a@b.test"], keep_copy=True)
    stranger = Actor.for_user(make.user(Role.CUSTOMER, customer=make.customer()))
    with pytest.raises(NotFound):
        selfservice.set_forwarding(stranger, taro.id, [], keep_copy=True)
    with pytest.raises(NotFound):
        selfservice.set_vacation(stranger, taro.id, False, "", "", None, None, 7)


def test_app_password_is_shown_once_and_stored_only_as_a_hash(app: Flask, english: FlaskClient, taro: Mailbox) -> None:
    login(english, "taro@example.jp")
    response = english.post("/account/app-passwords", data={"name": "iPhone"})
    assert response.headers["Cache-Control"] == "no-store"
    [secret] = SECRET.findall(response.text)
    row = db.session.scalars(select(AppPassword)).one()
    assert row.name == "iPhone" and secret not in row.password_hash
    assert row.password_hash.startswith("$pbkdf2-sha256$") and pbkdf2_sha256.verify(secret, row.password_hash)
    listing = english.get("/account/app-passwords").text
    assert "iPhone" in listing and secret not in listing
    assert "exists already" in english.post("/account/app-passwords", data={"name": "iPhone"}).text
    assert bundled(app, taro).app_password_hashes == (row.password_hash,)
    assert english.post(f"/account/app-passwords/{row.id}/revoke").status_code == 302
    assert db.session.scalars(select(AppPassword)).all() == []
    assert bundled(app, taro).app_password_hashes == ()


def test_app_passwords_belong_to_their_mailbox(make: Factory, taro: Mailbox) -> None:
    jiro = make.mailbox(taro.domain, "jiro")
    row, _ = app_passwords.create_app_password(Actor.for_mailbox(jiro), jiro.id, "laptop")
    with pytest.raises(NotFound):
        app_passwords.revoke_app_password(Actor.for_mailbox(taro), row.id)
    with pytest.raises(NotFound):
        app_passwords.create_app_password(Actor.for_mailbox(taro), jiro.id, "sneaky")
    with pytest.raises(Forbidden):  # staff may revoke, never mint one they would see
        app_passwords.create_app_password(make.system, jiro.id, "staff")
    app_passwords.revoke_app_password(Actor.for_user(make.user(Role.CUSTOMER, customer=taro.domain.customer)), row.id)


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_account_pages_are_for_mailbox_users_only(english: FlaskClient, make: Factory, taro: Mailbox) -> None:
    assert english.get("/account/").status_code == 302  # to the login page
    login(english, make.user(Role.ADMIN).email)
    assert english.get("/account/").status_code == 403
    english.post("/logout")
    login(english, "taro@example.jp")
    page = english.get("/account/").text
    assert "taro@example.jp" in page and "App passwords" in page
    assert "My account" in english.get("/").text


def test_vacation_dates_are_optional_and_interval_bounded(make: Factory, taro: Mailbox) -> None:
    actor = Actor.for_mailbox(taro)
    with pytest.raises(Invalid):
        selfservice.set_vacation(actor, taro.id, True, "Away", "Back soon", None, None, 0)
    mailbox = selfservice.set_vacation(actor, taro.id, True, "Away", "Back soon", dt.date(2030, 1, 1), None, 14)
    assert (mailbox.vacation_enabled, mailbox.vacation_start, mailbox.vacation_end) == (True, dt.date(2030, 1, 1), None)
