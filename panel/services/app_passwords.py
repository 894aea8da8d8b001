"""App passwords: one per mail client, shown once, stored only as a passlib hash, revocable.

maild accepts them wherever the mailbox password works (IMAP, POP3, SMTP AUTH), so a lost phone
is cut off without changing the password everywhere else.
"""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from passlib.hash import pbkdf2_sha256
from sqlalchemy import select

from panel.extensions import db
from panel.models import AppPassword, Mailbox, Role
from panel.services import audit, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.mailboxes import STAFF
from panel.services.transaction import unit_of_work

MAX_PER_MAILBOX = 20
# No look-alikes (0/o, 1/l/i): people type these into phones. 5 groups of 4: ~100 bits.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS, GROUP_LENGTH = 5, 4
# A random ~100-bit secret needs no slow hash to resist guessing, and a fast one keeps a failed
# login cheap: maild tries every app password of the account on each attempt (maild/auth.py).
HASHER = pbkdf2_sha256.using(rounds=1000)


def new_secret() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))


def list_app_passwords(actor: Actor, mailbox_id: int) -> list[AppPassword]:
    mailbox = get_visible(actor, Mailbox, mailbox_id)
    return list(db.session.scalars(select(AppPassword).where(AppPassword.mailbox_id == mailbox.id)
                                   .order_by(AppPassword.created_at, AppPassword.id)))


def create_app_password(actor: Actor, mailbox_id: int, name: str) -> tuple[AppPassword, str]:
    """A new app password for the actor's own mailbox; the clear secret is returned this once."""
    require_role(actor, Role.MAILBOX)
    name = validation.name(name, "name")
    secret = new_secret()
    with unit_of_work():
        mailbox = get_visible(actor, Mailbox, mailbox_id)
        existing = db.session.scalars(select(AppPassword.name).where(AppPassword.mailbox_id == mailbox.id)).all()
        if name in existing:
            raise Invalid("name", _l("An app password with this name exists already."))
        if len(existing) >= MAX_PER_MAILBOX:
            raise Invalid("name", _l("At most %(n)d app passwords; revoke one you no longer use.", n=MAX_PER_MAILBOX))
        app_password = AppPassword(mailbox_id=mailbox.id, name=name, password_hash=HASHER.hash(secret))
        db.session.add(app_password)
        audit.record(actor, "app_password.create", app_password, customer_id=mailbox.domain.customer_id, name=name)
    return app_password, secret


def get_app_password(actor: Actor, app_password_id: int) -> AppPassword:
    return get_visible(actor, AppPassword, app_password_id)


def revoke_app_password(actor: Actor, app_password_id: int) -> None:
    """Delete it: maild refuses it once the node's bundle is rewritten (right after the commit)."""
    require_role(actor, *STAFF, Role.MAILBOX)
    with unit_of_work():
        app_password = get_visible(actor, AppPassword, app_password_id)
        audit.record(actor, "app_password.revoke", app_password,
                     customer_id=app_password.mailbox.domain.customer_id, name=app_password.name)
        db.session.delete(app_password)

