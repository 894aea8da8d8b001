"""Journey: a customer reads the pool, the history chart and a nearly full mailbox; sets a cleanup
policy. The chart is server-side SVG under the strict CSP: nothing may be blocked."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from panel.extensions import db
from panel.models import Role, UsageSample
from tests.browser.checks import assert_page_ok
from tests.browser.journeys import alert_text, follow, go_to, log_in, press

MIB = 1024 * 1024


def test_customer_reads_usage_history_and_sets_a_cleanup_policy(page, seed, live_app):
    seed.node()
    customer = seed.customer(seed.plan(storage_bytes=8 * MIB, max_quota_bytes=2 * MIB, default_quota_bytes=2 * MIB))
    domain = seed.domain(customer, "usage.example")
    box = seed.mailbox(domain, "info", 2 * MIB)
    box.used_bytes, box.quota_warning = 1900 * 1024, 80
    today = datetime.now(UTC).date()
    for back, used in ((6, MIB // 2), (3, MIB), (0, 1900 * 1024)):
        db.session.add(UsageSample(mailbox_id=box.id, day=today - timedelta(days=back), used_bytes=used,
                                   message_count=10, freed_messages=2 if back == 3 else 0,
                                   freed_bytes=4096 if back == 3 else 0))
    staff = seed.user(Role.CUSTOMER, customer=customer)
    db.session.commit()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    log_in(page, staff.email, seed.PASSWORD)

    go_to(page, "Usage")
    assert page.locator("svg.usage-chart polyline").count() == 1
    assert page.locator("svg.usage-chart circle").count() == 3
    assert "info@usage.example" in page.locator(".alert-warning").inner_text()  # the warning maild sent
    assert page.get_by_role("progressbar", name="1 mailbox uses the plan's storage").count() == 1
    assert_page_ok(page)

    follow(page, "History of info@usage.example")
    assert page.locator("svg.usage-chart polyline").count() == 1
    page.get_by_text("Daily figures").click()
    assert "2 messages, 4.0 KiB" in page.content()  # cleanup shows in the history
    assert_page_ok(page)

    with page.expect_navigation():
        page.locator(".nav-tabs").get_by_role("link", name="Domains").click()
    follow(page, "Cleanup")
    page.get_by_label("Empty Trash and Junk of messages older than (days)").fill("30")
    press(page, "Save")
    assert "usage.example" in alert_text(page)
    assert_page_ok(page)
    assert not blocked, blocked
