"""`make screenshots`: every main page, as each role, in Japanese and English, into docs/screenshots/.

Seeds a throwaway demo database through the services, serves the panel on a free loopback port
and drives Debian's chromium with Playwright: the same stack as the browser tests.
"""
from __future__ import annotations

import re
import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from panel import create_app  # noqa: E402
from panel.extensions import db  # noqa: E402
from panel.models import DomainStatus, Role  # noqa: E402
from panel.services import aliases, certificates, customers, domains, mailboxes, nodes, plans, resellers, users  # noqa: E402
from panel.services.actor import Actor  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live import serving  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PASSWORD = "demo password 2026"
MIB = 1024**2


def seed() -> dict[str, str]:
    """A small provider: a node, a reseller with a customer, a domain with mailboxes. Logins by role."""
    system = Actor.system("screenshots")
    nodes.create_node(system, nodes.NodeSpec(name="node1", hostname="mx1.tegami.example", ip="192.0.2.10",
                                             max_mailboxes=5000))
    allowance = plans.create_allowance(system, plans.AllowanceSpec(name="パートナー S"))
    reseller = resellers.create_reseller(system, "さくらウェブ", allowance.id)
    reseller_login = users.create_user(system, "owner@sakura-web.example", PASSWORD, Role.RESELLER,
                                       reseller_id=reseller.id)
    plan = plans.create_plan(Actor.for_user(reseller_login), plans.PlanSpec(
        name="ビジネス 10", price_per_mailbox=Decimal(550)))
    customer = customers.create_customer(Actor.for_user(reseller_login), "田中商店", plan.id)
    customer_login = users.create_user(system, "it@tanaka.example", PASSWORD, Role.CUSTOMER, customer_id=customer.id)
    domain = domains.create_domain(system, "例え.jp", customer.id, status=DomainStatus.ACTIVE)
    boxes = [mailboxes.create_mailbox(system, domain.id, name, 1024 * MIB, PASSWORD) for name in ("info", "sales", "tanaka")]
    for box, used in zip(boxes, (870, 120, 40)):
        box.used_bytes, box.message_count = used * MIB, used * 12
    db.session.commit()
    aliases.create_alias(system, domain.id, "contact", [boxes[0].email, boxes[1].email])
    certificates.create_self_signed(Actor.for_user(customer_login), ["mail.例え.jp"])
    admin = users.create_user(system, "admin@tegami.example", PASSWORD, Role.ADMIN)
    return {"admin": admin.email, "reseller": reseller_login.email, "customer": customer_login.email,
            "mailbox": boxes[0].email}


def shoot(page: Page, base: str, role: str, login: str, language: str) -> int:
    page.goto(f"{base}/language/{language}")
    page.goto(f"{base}/login")
    page.locator("#login").fill(login)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()
    links = page.locator("#mainnav .main-entries a.nav-link").evaluate_all("links => links.map(a => a.href)")
    for href in links:
        page.goto(href)
        name = re.sub(r"[^a-z0-9]+", "-", href.removeprefix(base).strip("/")) or "dashboard"
        page.screenshot(path=str(OUT / f"{language}-{role}-{name}.png"))
    page.context.clear_cookies()
    return len(links)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tegami-screens-"))
    app = create_app({"SECRET_KEY": "screenshots", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'demo.db'}",
                      "INSTANCE_PATH": str(workdir), "BUNDLE_DIR": str(workdir / "bundle"), "PASSWORD_HASH_ROUNDS": 1})
    with app.app_context():
        db.create_all()
    with app.test_request_context():
        logins = seed()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    taken = 0
    with serving(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for role, login in logins.items():
            for language in ("ja", "en"):
                taken += shoot(page, base, role, login, language)
        browser.close()
    shutil.rmtree(workdir)
    print(f"{taken} screenshots in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
