"""Staff logins (admin, reseller, customer) and panel authentication."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Customer, Domain, DomainStatus, Mailbox, Reseller, Role, User
from panel.services import audit, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Forbidden, Invalid
from panel.services.passwords import check_policy, context, hash_password, verify_password
from panel.services.transaction import unit_of_work


def create_user(actor: Actor, email: str, password: str, role: Role, *, name: str = "",
                reseller_id: int | None = None, customer_id: int | None = None) -> User:
    """A staff login. Admins create any; resellers their own staff and their customers';
    customers their own colleagues."""
    require_role(actor, Role.ADMIN, Role.RESELLER, Role.CUSTOMER)
    role = Role(role)
    if role is Role.MAILBOX:
        raise Invalid("role", _l("Mailbox users log in with their mailbox."))
    email = validation.email_address(email, "email")
    check_policy(password)
    with unit_of_work():
        if role is Role.ADMIN:
            require_role(actor, Role.ADMIN)
            reseller_id = customer_id = None
        elif role is Role.RESELLER:
            require_role(actor, Role.ADMIN, Role.RESELLER)
            reseller_id = get_visible(actor, Reseller, _given(reseller_id or actor.reseller_id, "reseller_id")).id
            customer_id = None
        else:
            customer_id = get_visible(actor, Customer, _given(customer_id or actor.customer_id, "customer_id")).id
            reseller_id = None
        if db.session.scalar(select(func.count(User.id)).where(User.email == email)):
            raise Invalid("email", _l("A login with this e-mail address already exists."))
        user = User(email=email, name=name.strip(), role=role, reseller_id=reseller_id,
                    customer_id=customer_id, password_hash=hash_password(password))
        db.session.add(user)
        audit.record(actor, "user.create", user, customer_id=customer_id, reseller_id=reseller_id,
                     email=email, role=role.value)
    return user


def _given(value: int | None, field: str) -> int:
    if value is None:
        raise Invalid(field, _l("This field is required."))
    return value


def delete_user(actor: Actor, user_id: int) -> None:
    require_role(actor, Role.ADMIN, Role.RESELLER, Role.CUSTOMER)
    with unit_of_work():
        user = get_visible(actor, User, user_id)
        if user.id == actor.user_id:
            raise Forbidden(_l("You cannot delete your own login."))
        audit.record(actor, "user.delete", user, customer_id=user.customer_id,
                     reseller_id=user.reseller_id, email=user.email)
        db.session.delete(user)


def set_user_password(actor: Actor, user_id: int, password: str) -> User:
    check_policy(password)
    with unit_of_work():
        user = get_visible(actor, User, user_id)
        user.password_hash = hash_password(password)
        audit.record(actor, "user.password", user, customer_id=user.customer_id, reseller_id=user.reseller_id)
    return user


def remember_locale(actor: Actor, locale: str) -> None:
    """Keep a staff user's chosen language for their next sessions (mailbox users have none)."""
    if actor.user_id is None or locale not in current_app.config["LANGUAGES"]:
        return
    with unit_of_work():
        user = db.session.get(User, actor.user_id)
        if user is not None and user.locale != locale:
            user.locale = locale
            audit.record(actor, "user.locale", user, customer_id=user.customer_id,
                         reseller_id=user.reseller_id, locale=locale)


def ensure_first_admin(email: str, password: str) -> User | None:
    """Create the first admin when there is none; returns it, or None if one existed."""
    if db.session.scalar(select(func.count(User.id)).where(User.role == Role.ADMIN)):
        return None
    return create_user(Actor.system("setup"), email, password, Role.ADMIN, name="Administrator")


def authenticate(login: str, password: str) -> User | Mailbox | None:
    """The staff user or mailbox this login and password belong to.

    Staff logins are tried first; a mailbox address logs in as that mailbox. Failures spend
    the same hashing time whether or not the login exists.
    """
    login = login.strip().lower()
    user = db.session.scalar(select(User).where(User.email == login, User.is_active.is_(True)))
    if user is not None and verify_password(password, user.password_hash):
        return user
    mailbox = _mailbox_by_address(login)
    if mailbox is not None and mailbox_may_log_in(mailbox) and verify_password(password, mailbox.password_hash):
        return mailbox
    if user is None and mailbox is None:
        context().dummy_verify()
    return None


def mailbox_may_log_in(mailbox: Mailbox) -> bool:
    """Enabled, in an active domain: as the mail daemon rules for IMAP, POP3 and SMTP logins (a
    pending domain's ownership is unproven, a suspended one's service stopped)."""
    return mailbox.enabled and mailbox.domain.status == DomainStatus.ACTIVE


def _mailbox_by_address(address: str) -> Mailbox | None:
    local, sep, domain = address.rpartition("@")
    if not sep:
        return None
    try:
        domain = validation.domain_name(domain)
    except Invalid:
        return None
    return db.session.scalar(
        select(Mailbox).join(Domain).where(Mailbox.local_part == local, Domain.name == domain)
    )
