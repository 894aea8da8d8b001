"""The mailbox user's own account: usage, password, forwarding, vacation, app passwords, set-up."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm

from panel.models import Mailbox, Role
from panel.models.base import to_unicode
from panel.services import app_passwords, selfservice
from panel.services.access import get_visible, require_role
from panel.web.account.forms import AppPasswordForm, ForwardingForm, OwnPasswordForm, VacationForm
from panel.web.forms_common import confirm_delete, form_page, submit
from panel.web.principal import current_actor

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def mailbox_only() -> ResponseReturnValue | None:
    """These pages are the mailbox user's own; staff use the mailbox screens."""
    require_role(current_actor(), Role.MAILBOX)
    return None


def display_address(address: str) -> str:
    """A stored (IDNA) address as people write it: 例え.jp, not xn--r8jz45g.jp."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{to_unicode(domain)}"


def own_mailbox() -> Mailbox:
    actor = current_actor()
    return get_visible(actor, Mailbox, actor.mailbox_id or 0)


def _form(form: FlaskForm, action: Callable[[], object], heading: str, saved: str) -> ResponseReturnValue:
    """One setting on its own page; once saved, back to the account overview with `saved` shown."""
    return form_page(form, action, "domains/form.html", lambda _result: (saved, url_for("account.index")),
                     heading=heading, back_url=url_for("account.index"))


@bp.get("/")
def index() -> ResponseReturnValue:
    mailbox = own_mailbox()
    return render_template("account/index.html", mailbox=mailbox,
                           forwards=[display_address(address) for address in mailbox.forward_to],
                           app_password_count=len(app_passwords.list_app_passwords(current_actor(), mailbox.id)))


@bp.route("/password", methods=["GET", "POST"])
def password() -> ResponseReturnValue:
    form = OwnPasswordForm()
    return _form(form, lambda: selfservice.change_own_password(
        current_actor(), form.old_password.data or "", form.password.data or ""),
        _("Change password"), _("Your password was changed. Update it in your mail programs too."))


@bp.route("/forwarding", methods=["GET", "POST"])
def forwarding() -> ResponseReturnValue:
    mailbox = own_mailbox()
    form = ForwardingForm(forward_to="\n".join(map(display_address, mailbox.forward_to)),
                          keep_copy=mailbox.forward_keep_copy)
    return _form(form, lambda: selfservice.set_forwarding(
        current_actor(), mailbox.id, form.addresses(), form.keep_copy.data), _("Forwarding"), _("Forwarding saved."))


@bp.route("/vacation", methods=["GET", "POST"])
def vacation() -> ResponseReturnValue:
    mailbox = own_mailbox()
    form = VacationForm(enabled=mailbox.vacation_enabled, subject=mailbox.vacation_subject,
                        body=mailbox.vacation_body, start=mailbox.vacation_start, end=mailbox.vacation_end,
                        interval_days=mailbox.vacation_interval_days)
    return _form(form, lambda: selfservice.set_vacation(
        current_actor(), mailbox.id, form.enabled.data, form.subject.data or "", form.body.data or "",
        form.start.data, form.end.data, form.interval_days.data or 0),
        _("Automatic reply (vacation)"), _("Automatic reply saved."))


@bp.route("/app-passwords", methods=["GET", "POST"])
def app_password_list() -> ResponseReturnValue:
    actor = current_actor()
    mailbox = own_mailbox()
    form = AppPasswordForm()
    created = submit(form, lambda: app_passwords.create_app_password(actor, mailbox.id, form.name.data or ""))
    if created:
        form = AppPasswordForm(formdata=None)
    response = make_response(render_template(
        "account/app_passwords.html", form=form, created=created,
        app_passwords=app_passwords.list_app_passwords(actor, mailbox.id)))
    response.headers["Cache-Control"] = "no-store"  # the new secret is on this page, once
    return response


@bp.route("/app-passwords/<int:app_password_id>/revoke", methods=["GET", "POST"])
def revoke_app_password(app_password_id: int) -> ResponseReturnValue:
    actor = current_actor()
    app_password = app_passwords.get_app_password(actor, app_password_id)
    back = url_for("account.app_password_list")
    return confirm_delete(app_password.name, lambda: app_passwords.revoke_app_password(actor, app_password.id),
                          cancel_url=back, done_url=back,
                          consequences=[_("Programs using it can no longer log in.")])


@bp.get("/setup")
def setup() -> ResponseReturnValue:
    return redirect(url_for("clientsetup.page", mailbox_id=own_mailbox().id))
