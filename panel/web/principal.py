"""The logged-in principal (staff user or mailbox) and the request's service Actor."""
from __future__ import annotations

from flask import request, session
from flask_login import UserMixin, current_user

from panel.extensions import db, login_manager
from panel.models import Mailbox, User
from panel.services import users
from panel.services.actor import Actor
from panel.services.customers import acting_actor
from panel.services.errors import ServiceError

ACTING_AS_KEY = "acting_as_customer"
ACTOR_KEY = "tegami.actor"


class Principal(UserMixin):
    """Flask-Login's view of an account; the session id says which table it lives in."""

    def __init__(self, account: User | Mailbox) -> None:
        self.account = account

    def get_id(self) -> str:
        kind = "u" if isinstance(self.account, User) else "m"
        return f"{kind}:{self.account.id}"

    @property
    def is_mailbox(self) -> bool:
        return isinstance(self.account, Mailbox)

    @property
    def label(self) -> str:
        return self.account.email


@login_manager.user_loader
def load_principal(session_id: str) -> Principal | None:
    kind, _, raw_id = session_id.partition(":")
    if not raw_id.isdigit():
        return None
    if kind == "u":
        user = db.session.get(User, int(raw_id))
        return Principal(user) if user is not None and user.is_active else None
    if kind == "m":
        mailbox = db.session.get(Mailbox, int(raw_id))
        return Principal(mailbox) if mailbox is not None and users.mailbox_may_log_in(mailbox) else None
    return None


def current_actor() -> Actor:
    """The Actor for this request: the logged-in account, switched to a customer when acting as one."""
    # Cached per request (not on `g`, which outlives a request when tests hold an app context).
    if ACTOR_KEY in request.environ:
        return request.environ[ACTOR_KEY]
    principal: Principal = current_user  # type: ignore[assignment]
    ip = request.remote_addr
    if principal.is_mailbox:
        actor = Actor.for_mailbox(principal.account, ip)  # type: ignore[arg-type]
    else:
        actor = Actor.for_user(principal.account, ip)  # type: ignore[arg-type]
        acting_id = session.get(ACTING_AS_KEY)
        if acting_id is not None:
            try:
                actor = acting_actor(actor, int(acting_id))
            except ServiceError:
                session.pop(ACTING_AS_KEY, None)
    request.environ[ACTOR_KEY] = actor
    return actor
