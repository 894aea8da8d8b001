"""Journeys 1 and 2: the admin sets up a plan and a reseller; the reseller sells within its allowance."""
from __future__ import annotations

from sqlalchemy import select

from panel.extensions import db
from panel.models import Customer, Plan, Reseller, Role
from panel.services import plans
from panel.services.actor import Actor
from tests.browser.checks import assert_page_ok
from tests.browser.journeys import alert_text, follow, go_to, log_in, press


def test_admin_creates_a_plan_and_a_reseller_with_an_allowance(page, seed, live_app):
    admin = seed.user(Role.ADMIN)
    log_in(page, admin.email, seed.PASSWORD)

    go_to(page, "Plans")
    follow(page, "New plan")
    page.get_by_label("Name", exact=True).fill("Business 10")
    page.get_by_label("Mailboxes", exact=True).fill("10")
    page.get_by_label("Monthly price per mailbox").fill("500")
    press(page, "Save")
    assert "Plan Business 10 created." in alert_text(page)
    assert_page_ok(page)

    go_to(page, "Reseller plans")
    follow(page, "New reseller plan")
    page.get_by_label("Name", exact=True).fill("Partner S")
    page.get_by_label("Customers", exact=True).fill("5")
    press(page, "Save")

    go_to(page, "Resellers")
    follow(page, "New reseller")
    page.get_by_label("Name", exact=True).fill("Sakura Web")
    page.get_by_label("Reseller plan").select_option(label="Partner S")
    page.get_by_label("Login e-mail address").fill("owner@sakura.example")
    page.get_by_label("Password").fill("a long reseller password")
    press(page, "Create reseller")
    assert "Sakura Web" in page.content()

    with live_app[0].app_context():
        reseller = db.session.scalars(select(Reseller).where(Reseller.name == "Sakura Web")).one()
        assert reseller.reseller_plan.max_customers == 5
        assert db.session.scalars(select(Plan.max_mailboxes).where(Plan.name == "Business 10")).one() == 10


def test_reseller_creates_a_customer_and_is_refused_past_its_allowance(page, seed, live_app):
    reseller = seed.reseller(seed.allowance(max_customers=1))
    staff = seed.user(Role.RESELLER, reseller=reseller)
    plans.create_plan(Actor.for_user(staff), plans.PlanSpec(name="Shop"))
    log_in(page, staff.email, seed.PASSWORD)

    for name, login in (("Tanaka Shoten", "it@tanaka.example"), ("Suzuki Trading", "it@suzuki.example")):
        go_to(page, "Customers")
        follow(page, "New customer")
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Plan").select_option(label="Shop")
        page.get_by_label("Login e-mail address").fill(login)
        page.get_by_label("Password").fill("a long customer password")
        press(page, "Create customer")

    assert "Reseller allowance exceeded" in page.content()
    with live_app[0].app_context():
        assert db.session.scalars(select(Customer.name)).all() == ["Tanaka Shoten"]
