"""N concurrent creates at a limit never overshoot it (row locks in the service layer)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Customer, Mailbox
from panel.services import customers, domains, mailboxes, plans
from panel.services.actor import Actor
from panel.services.errors import Invalid, LimitExceeded

THREADS = 8


def run_concurrently(app, action) -> list[object]:
    """Run `action(n)` in THREADS threads released at once; collect results or exceptions."""
    barrier = threading.Barrier(THREADS)
    results: list[object] = [None] * THREADS

    def worker(n: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[n] = action(n)
            except Invalid as exc:  # LimitExceeded included
                results[n] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("app", ["postgres", "sqlite"], indirect=True)
def test_concurrent_mailbox_creates_at_the_limit_never_overshoot(app, make):
    customer = make.customer(make.plan(max_mailboxes=3, storage_bytes=None, max_quota_bytes=None))
    domain_id = make.domain(customer).id
    db.session.commit()
    results = run_concurrently(app, lambda n: mailboxes.create_mailbox(
        Actor.system(), domain_id, f"racer{n}", 1024, make.PASSWORD).id)
    created = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, LimitExceeded)]
    assert len(created) == 3 and len(refused) == THREADS - 3, results
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Mailbox.id))) == 3


@pytest.mark.parametrize("app", ["postgres"], indirect=True)
def test_concurrent_customer_creates_at_the_reseller_allowance_never_overshoot(app, make):
    reseller = make.reseller(make.allowance(max_customers=2, max_mailboxes=None, max_domains=None,
                                            max_aliases=None, storage_bytes=None))
    actor = make.staff_actor(reseller=reseller)
    plan_id = plans.create_plan(actor, plans.PlanSpec(name="P")).id
    db.session.commit()
    results = run_concurrently(app, lambda n: customers.create_customer(actor, f"C{n}", plan_id).id)
    assert sum(isinstance(r, int) for r in results) == 2, results
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Customer.id))) == 2


@pytest.mark.parametrize("app", ["postgres"], indirect=True)
def test_concurrent_creates_of_one_name_give_one_row_and_clear_errors(app, make):
    customer_ids = [make.customer(make.plan(max_domains=5)).id for _ in range(THREADS)]
    make.node()
    db.session.commit()
    results = run_concurrently(app, lambda n: domains.create_domain(
        Actor.system(), "contested.example", customer_ids[n]).id)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(isinstance(r, (int, Invalid)) for r in results)
