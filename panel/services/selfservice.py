"""What a mailbox user changes for themselves: password, forwarding, vacation auto-reply.

Staff may set forwarding and the vacation reply for a mailbox they manage too (a colleague who
forgot before leaving); the password change with the old password is the mailbox user's own.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l

from panel.models import Mailbox, Role
from panel.services import audit, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.mailboxes import STAFF, set_password
from panel.services.passwords import verify_password
from panel.services.transaction import unit_of_work

MAX_FORWARDS = 10
MAX_SUBJECT = 200
MAX_BODY = 10_000
MAX_INTERVAL_DAYS = 365


def change_own_password(actor: Actor, old_password: str, new_password: str) -> Mailbox:
    """The logged-in mailbox's new password; the current one proves it is really its owner."""
    require_role(actor, Role.MAILBOX)
    mailbox = get_visible(actor, Mailbox, actor.mailbox_id or 0)
    if not verify_password(old_password, mailbox.password_hash):
        raise Invalid("old_password", _l("The current password is not correct."))
    if new_password == old_password:
        raise Invalid("password", _l("Choose a password different from the current one."))
    return set_password(actor, mailbox.id, new_password)


def forward_addresses(addresses: list[str], own_address: str) -> list[str]:
    """Validated, IDNA-normalised, duplicate-free forwarding targets (never the mailbox itself)."""
    result: list[str] = []
    for raw in addresses:
        if not raw.strip():
            continue
        address = validation.email_address(raw, "forward_to").lower()
        if address == own_address.lower():
            raise Invalid("forward_to", _l("Mail cannot be forwarded to the mailbox itself."))
        if address not in result:
            result.append(address)
    if len(result) > MAX_FORWARDS:
        raise Invalid("forward_to", _l("At most %(n)d forwarding addresses.", n=MAX_FORWARDS))
    return result


def set_forwarding(actor: Actor, mailbox_id: int, addresses: list[str], keep_copy: bool) -> Mailbox:
    """Forward every message to `addresses` (none: forwarding off), storing a copy if `keep_copy`."""
    require_role(actor, *STAFF, Role.MAILBOX)
    with unit_of_work():
        mailbox = get_visible(actor, Mailbox, mailbox_id)
        targets = forward_addresses(addresses, mailbox.email)
        keep = keep_copy or not targets
        audit.record(actor, "mailbox.forwarding", mailbox, customer_id=mailbox.domain.customer_id,
                     forward_to=[mailbox.forward_to, targets], keep_copy=[mailbox.forward_keep_copy, keep])
        mailbox.forward_to = targets
        mailbox.forward_keep_copy = keep
    return mailbox


def _single_line(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise Invalid(field, _l("This field is required."))
    if len(value) > limit:
        raise Invalid(field, _l("At most %(n)d characters.", n=limit))
    if any(ch in value for ch in "\r\n\0"):
        raise Invalid(field, _l("Use a single line."))
    return value


def set_vacation(actor: Actor, mailbox_id: int, enabled: bool, subject: str, body: str,
                 start: dt.date | None, end: dt.date | None, interval_days: int) -> Mailbox:
    """The auto-reply maild sends while on vacation (at most once per sender per `interval_days`)."""
    require_role(actor, *STAFF, Role.MAILBOX)
    if enabled:
        subject = _single_line(subject, "subject", MAX_SUBJECT)
        body = body.replace("\r\n", "\n").strip()
        if not body:
            raise Invalid("body", _l("This field is required."))
        if len(body) > MAX_BODY or "\0" in body:
            raise Invalid("body", _l("At most %(n)d characters.", n=MAX_BODY))
        if start is not None and end is not None and end < start:
            raise Invalid("end", _l("The last day cannot be before the first."))
        if not 1 <= interval_days <= MAX_INTERVAL_DAYS:
            raise Invalid("interval_days", _l("Between 1 and %(n)d days.", n=MAX_INTERVAL_DAYS))
    with unit_of_work():
        mailbox = get_visible(actor, Mailbox, mailbox_id)
        if enabled:
            mailbox.vacation_subject, mailbox.vacation_body = subject, body
            mailbox.vacation_start, mailbox.vacation_end = start, end
            mailbox.vacation_interval_days = interval_days
        mailbox.vacation_enabled = enabled
        audit.record(actor, "mailbox.vacation", mailbox, customer_id=mailbox.domain.customer_id, enabled=enabled,
                     start=str(start) if enabled and start else None, end=str(end) if enabled and end else None)
    return mailbox
