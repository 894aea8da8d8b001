"""APOP: off by default, allowed by the plan, its secret stored only encrypted."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from panel.extensions import db
from panel.models import Mailbox
from panel.services import mailboxes, secrets
from panel.services.actor import Actor
from panel.services.errors import Invalid


def test_apop_needs_a_plan_that_allows_it(make):
    mailbox = make.mailbox(make.domain(make.customer(make.plan(allow_apop=False))))
    with pytest.raises(Invalid) as refused:
        mailboxes.set_apop(Actor.system(), mailbox.id, True, make.PASSWORD)
    assert refused.value.field == "apop_enabled"


def test_apop_secret_is_stored_encrypted_and_follows_password_changes(make):
    mailbox = make.mailbox(make.domain(make.customer(make.plan(allow_apop=True))))
    assert mailbox.apop_enabled is False and mailbox.apop_secret is None
    with pytest.raises(Invalid):
        mailboxes.set_apop(Actor.system(), mailbox.id, True, "not the password")
    mailboxes.set_apop(Actor.system(), mailbox.id, True, make.PASSWORD)
    raw = db.session.execute(text("SELECT apop_secret FROM mailbox WHERE id = :id"), {"id": mailbox.id}).scalar()
    assert make.PASSWORD not in raw
    assert secrets.decrypt(raw) == make.PASSWORD
    mailboxes.set_password(Actor.for_mailbox(mailbox), mailbox.id, "a brand new secret")
    assert secrets.decrypt(db.session.scalar(select(Mailbox.apop_secret))) == "a brand new secret"
    mailboxes.set_apop(Actor.system(), mailbox.id, False)
    assert db.session.scalar(select(Mailbox.apop_secret)) is None
