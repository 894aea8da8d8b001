"""Plan limits on mailboxes, quotas and storage, enforced by the service layer."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import AuditEvent, Mailbox
from panel.services import mailboxes
from panel.services.actor import Actor
from panel.services.errors import LimitExceeded

GIB = 1024**3


def test_eleventh_mailbox_on_ten_mailbox_plan_is_refused(make):
    customer = make.customer(make.plan(max_mailboxes=10, storage_bytes=None, max_quota_bytes=None))
    domain = make.domain(customer)
    for n in range(10):
        make.mailbox(domain, f"user{n}", quota_bytes=1024)
    with pytest.raises(LimitExceeded) as refused:
        make.mailbox(domain, "user10", quota_bytes=1024)
    assert refused.value.limit == "max_mailboxes"
    assert "10" in str(refused.value)
    assert db.session.scalar(select(func.count(Mailbox.id))) == 10


def test_quota_above_plan_maximum_is_refused(make):
    customer = make.customer(make.plan(max_quota_bytes=2 * GIB, storage_bytes=None))
    with pytest.raises(LimitExceeded) as refused:
        make.mailbox(make.domain(customer), quota_bytes=3 * GIB)
    assert refused.value.limit == "max_quota_bytes"
    assert refused.value.field == "quota"


def test_sum_of_quotas_above_plan_storage_is_refused(make):
    customer = make.customer(make.plan(storage_bytes=5 * GIB, max_quota_bytes=2 * GIB, default_quota_bytes=GIB))
    domain = make.domain(customer)
    make.mailbox(domain, quota_bytes=2 * GIB)
    make.mailbox(domain, quota_bytes=2 * GIB)
    with pytest.raises(LimitExceeded) as refused:
        make.mailbox(domain, quota_bytes=2 * GIB)
    assert refused.value.limit == "storage_bytes"
    make.mailbox(domain, quota_bytes=GIB)  # exactly fills the plan


def test_default_quota_counts_against_storage(make):
    """Loophole: leaving the quota empty must not skip the storage check."""
    customer = make.customer(make.plan(storage_bytes=2 * GIB, max_quota_bytes=GIB, default_quota_bytes=GIB))
    domain = make.domain(customer)
    make.mailbox(domain)
    make.mailbox(domain)
    with pytest.raises(LimitExceeded):
        make.mailbox(domain)


def test_raising_quota_past_storage_is_refused_and_nothing_changes(make):
    customer = make.customer(make.plan(storage_bytes=3 * GIB, max_quota_bytes=3 * GIB, default_quota_bytes=GIB))
    domain = make.domain(customer)
    first = make.mailbox(domain)
    make.mailbox(domain)
    with pytest.raises(LimitExceeded):
        mailboxes.update_mailbox(Actor.system(), first.id, 3 * GIB, True)
    db.session.expire_all()
    assert db.session.get(Mailbox, first.id).quota_bytes == GIB


def test_mailbox_creation_is_audited(make):
    mailbox = make.mailbox()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mailbox.create")).one()
    assert event.object_id == mailbox.id
    assert event.customer_id == mailbox.domain.customer_id
    assert event.detail["address"] == mailbox.email
