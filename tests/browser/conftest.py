"""Browser fixtures: the panel served on a free loopback port, driven by Debian's chromium.

A failing test leaves a screenshot and the page HTML in test-artifacts/ and prints both paths
(and the HTML) into the log, so CI output shows what the browser saw.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from panel import create_app
from panel.extensions import db
from tests.factories import Factory
from tests.live import serving

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The panel on SQLite in tmp_path, served by a real HTTP server in a thread."""
    app = create_app({
        "SECRET_KEY": "browser-tests",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'panel.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "BUNDLE_DIR": str(tmp_path / "bundle"),
        "PASSWORD_HASH_ROUNDS": 1,
    })
    with app.app_context():
        db.create_all()
    with serving(app) as url:
        yield app, url
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def seed(live_app: tuple[Flask, str]) -> Iterator[Factory]:
    """A Factory inside the live app's context, to create what a journey starts from."""
    app, _ = live_app
    with app.test_request_context():
        yield Factory()


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    """A chromium per test: Playwright's sync API keeps an event loop running while it is open,
    which would break every asyncio test the same worker runs after it."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _context(browser, request: pytest.FixtureRequest, **options):  # type: ignore[no-untyped-def]
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


@pytest.fixture(params=[pytest.param({"width": 1280, "height": 900}, id="desktop"),
                        pytest.param({"width": 375, "height": 740}, id="phone")])
def page(browser, request: pytest.FixtureRequest, live_app):  # type: ignore[no-untyped-def]
    """A fresh browser page at desktop and at phone width, English first."""
    context, page = _context(browser, request, viewport=request.param, locale="en-US")
    page.base_url = live_app[1]  # type: ignore[attr-defined]
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        stem = ARTIFACTS / request.node.name.replace("/", "_")
        page.screenshot(path=f"{stem}.png", full_page=True)
        html = page.content()
        Path(f"{stem}.html").write_text(html)
        print(f"\n--- browser artefacts: {stem}.png {stem}.html (url {page.url}) ---\n{html[:20000]}")
    context.close()
