"""Log in and out (staff and mailbox users), and support access ("act as")."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from panel.services import customers
from panel.services.users import authenticate, remember_locale
from panel.web.auth.forms import ConfirmForm, LoginForm
from panel.web.i18n import LOCALE_KEY
from panel.web.principal import ACTING_AS_KEY, Principal, current_actor

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login page cannot redirect off-site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        account = authenticate(form.login.data or "", form.password.data or "")
        if account is not None:
            chosen = session.get(LOCALE_KEY)
            session.clear()
            login_user(Principal(account))
            if chosen:  # the language picked on the login page stays, and becomes the user's own
                session[LOCALE_KEY] = chosen
                remember_locale(current_actor(), chosen)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = [_("Wrong e-mail address or password.")]
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    chosen = session.get(LOCALE_KEY)
    session.clear()
    if chosen:
        session[LOCALE_KEY] = chosen
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/act-as/<int:customer_id>")
@login_required
def act_as(customer_id: int) -> ResponseReturnValue:
    form = ConfirmForm()
    if form.validate_on_submit():
        acting = customers.act_as(current_actor(), customer_id)
        session[ACTING_AS_KEY] = acting.customer_id
        flash(_("You are now working as this customer. Every change is recorded under your name."), "warning")
    return redirect(url_for("dashboard.index"))


@bp.post("/act-as/stop")
@login_required
def stop_acting() -> ResponseReturnValue:
    if ConfirmForm().validate_on_submit():
        session.pop(ACTING_AS_KEY, None)
    return redirect(url_for("dashboard.index"))
