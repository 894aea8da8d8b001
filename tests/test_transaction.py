"""unit_of_work: a lost unique race is a clear message; any other integrity failure stays an error."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from panel.extensions import db
from panel.models import Mailbox
from panel.services.errors import Invalid
from panel.services.transaction import unit_of_work


def test_duplicate_address_is_reported_as_a_concurrent_change(make):
    mailbox = make.mailbox()
    with pytest.raises(Invalid) as refused, unit_of_work():
        db.session.add(Mailbox(domain_id=mailbox.domain_id, local_part=mailbox.local_part,
                               password_hash="x", quota_bytes=1))
    assert "at the same moment" in str(refused.value)


def test_foreign_key_failure_is_not_disguised(ctx):
    with pytest.raises(IntegrityError), unit_of_work():
        db.session.add(Mailbox(domain_id=999_999, local_part="ghost", password_hash="x", quota_bytes=1))
