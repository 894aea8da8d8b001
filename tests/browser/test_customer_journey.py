"""Journey 3: a customer adds a domain, mailboxes and an alias, meets the plan's mailbox limit,
and reads the client set-up page."""
from __future__ import annotations

from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Alias, Mailbox, Role
from tests.browser.checks import assert_page_ok
from tests.browser.journeys import alert_text, follow, go_to, log_in, press

PASSWORD = "a long mailbox password"


def create_mailbox(page, local_part: str) -> None:  # type: ignore[no-untyped-def]
    go_to(page, "Mailboxes")
    follow(page, "New mailbox")
    page.get_by_label("Address (part before @)").fill(local_part)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    press(page, "Create mailbox")


def test_customer_sets_up_mail_and_meets_the_mailbox_limit(page, seed, live_app):
    seed.node(hostname="mx1.tegami.test")
    customer = seed.customer(seed.plan(max_mailboxes=2, max_domains=1))
    staff = seed.user(Role.CUSTOMER, customer=customer)
    log_in(page, staff.email, seed.PASSWORD)

    go_to(page, "Domains")
    follow(page, "Add domain")
    page.get_by_label("Domain name").fill("例え.jp")
    press(page, "Add domain")
    assert "例え.jp" in alert_text(page)
    assert_page_ok(page)

    create_mailbox(page, "info")
    create_mailbox(page, "sales")
    create_mailbox(page, "third")
    assert "Plan limit reached: mailboxes is limited to 2." in page.content()
    assert_page_ok(page)

    go_to(page, "Aliases")
    follow(page, "New alias")
    page.get_by_label("Address (part before @)").fill("contact")
    page.get_by_label("Forward to").fill("info@例え.jp\nsales@例え.jp")
    press(page, "Create alias")

    with live_app[0].app_context():
        assert db.session.scalar(select(func.count(Mailbox.id))) == 2
        alias = db.session.scalars(select(Alias)).one()
        assert [d.address for d in alias.destinations] == ["info@xn--r8jz45g.jp", "sales@xn--r8jz45g.jp"]

    go_to(page, "Mailboxes")
    follow(page, "info@例え.jp")
    follow(page, "Client set-up")
    text = page.inner_text("main")
    assert "mx1.tegami.test" in text and "info@例え.jp" in text
    assert "IMAP" in text and "POP3" in text and "SMTP" in text
