"""Journey: a customer proves ownership of a new domain, reads its DNS health and rotates DKIM."""
from __future__ import annotations

from panel.extensions import db
from panel.models import Domain, DomainStatus, Role
from panel.services import domains
from panel.services.dkim_keys import domain_keys
from panel.services.dns_records import zone_snippet
from tests.browser.checks import assert_page_ok
from tests.browser.journeys import alert_text, follow, go_to, log_in, press
from tests.dns_support import publish, serving


def test_customer_verifies_a_domain_and_switches_dkim_keys(page, seed, live_app):
    app = live_app[0]
    seed.node(hostname="mx1.tegami.test", ip="192.0.2.10")
    customer = seed.customer()
    domain = seed.domain(customer, "journey.example")
    domains.set_domain_status(seed.system, domain.id, DomainStatus.PENDING)
    staff = seed.user(Role.CUSTOMER, customer=customer)
    with serving(app, {"mx1.tegami.test": {"A": ["192.0.2.10"]}}) as server:
        log_in(page, staff.email, seed.PASSWORD)
        go_to(page, "Domains")
        follow(page, "journey.example")
        follow(page, "DNS, ownership and DKIM keys")
        assert f"tegami-verify={domain.verify_token}" in page.locator("#ownership").inner_text()

        press(page, "Verify now")
        assert "DNS has no such record at _tegami-verify.journey.example" in alert_text(page)

        page.get_by_label("Key type").select_option("rsa-sha256")
        press(page, "Create new key")
        assert "publish its record" in alert_text(page)
        press(page, "Switch signing to this key")
        assert "DNS has no such record" in alert_text(page)

        with app.app_context():
            publish(server, zone_snippet(db.session.get(Domain, domain.id), domain_keys(domain.id)))
        press(page, "Verify now")
        assert "Ownership confirmed" in alert_text(page)
        press(page, "Switch signing to this key")
        assert "Mail is now signed with key" in alert_text(page)

        press(page, "Check now")
        assert "DNS checked." in alert_text(page)
        health = page.locator("#health")
        assert health.get_by_text("OK", exact=True).count() == 7  # every check of an active domain
        assert health.get_by_text("Missing", exact=True).count() == 0
        assert_page_ok(page)
        page.get_by_role("link", name="Download zone snippet").wait_for()
