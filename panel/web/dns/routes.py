"""A domain's DNS: ownership check, health of every record, zone snippet, DKIM key rotation."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from panel.models import DkimState, Domain, DomainStatus
from panel.services import dkim_keys, dns_health, ownership
from panel.services.access import get_visible
from panel.services.dns_records import dkim_record, ownership_record, zone_snippet
from panel.services.errors import Invalid
from panel.web.auth.forms import ConfirmForm
from panel.web.dns.forms import CHECK_LABELS, KEY_STATE_LABELS, STATUS_LABELS, STATUS_STYLES, KeyForm
from panel.web.domains.pages import staff_only
from panel.web.principal import current_actor

T = TypeVar("T")
bp = Blueprint("dns", __name__, url_prefix="/dns")
bp.before_request(staff_only)


def _visible_domain(domain_id: int) -> Domain:
    return get_visible(current_actor(), Domain, domain_id)


@bp.get("/<int:domain_id>")
def health(domain_id: int) -> ResponseReturnValue:
    domain = _visible_domain(domain_id)
    check = dns_health.last_check(domain.id)
    keys = dkim_keys.domain_keys(domain.id)
    return render_template(
        "dns/health.html", domain=domain, check=check, keys=keys,
        key_records={key.id: dkim_record(domain, key).bind() for key in keys},
        ownership=ownership_record(domain) if domain.status is DomainStatus.PENDING else None,
        key_form=KeyForm(), check_labels=CHECK_LABELS, status_labels=STATUS_LABELS,
        status_styles=STATUS_STYLES, key_states=KEY_STATE_LABELS, pending=DkimState.PENDING,
        active=DkimState.ACTIVE)


def _act(domain_id: int, action: Callable[[], T], done: Callable[[T], str],
         form: ConfirmForm | KeyForm | None = None) -> ResponseReturnValue:
    """Run a button's service call (CSRF-checked) and flash `done(result)` or the refusal on the DNS page."""
    if (form or ConfirmForm()).validate_on_submit():
        try:
            flash(done(action()), "success")
        except Invalid as exc:
            flash(str(exc.message), "danger")
    else:
        flash(_("The form expired; please try again."), "danger")
    return redirect(url_for(".health", domain_id=domain_id))


@bp.post("/<int:domain_id>/verify")
def verify(domain_id: int) -> ResponseReturnValue:
    domain = _visible_domain(domain_id)
    return _act(domain.id, lambda: ownership.verify_ownership(current_actor(), domain.id),
                lambda done: _("Ownership confirmed: %(name)s is active.", name=done.display_name))


@bp.post("/<int:domain_id>/check")
def check(domain_id: int) -> ResponseReturnValue:
    domain = _visible_domain(domain_id)
    return _act(domain.id, lambda: dns_health.check_domain(current_actor(), domain.id), lambda _check: _("DNS checked."))


@bp.get("/<int:domain_id>/zone.txt")
def zone(domain_id: int) -> ResponseReturnValue:
    domain = _visible_domain(domain_id)
    text = zone_snippet(domain, dkim_keys.domain_keys(domain.id))
    return Response(text, mimetype="text/plain", headers={
        "Content-Disposition": f'attachment; filename="{domain.name}.zone.txt"'})


@bp.post("/<int:domain_id>/dkim")
def create_key(domain_id: int) -> ResponseReturnValue:
    domain = _visible_domain(domain_id)
    form = KeyForm()
    return _act(domain.id, lambda: dkim_keys.create_key(current_actor(), domain.id, form.algorithm.data or ""),
                lambda key: _("New key %(selector)s created: publish its record, then switch signing to it.",
                              selector=key.selector), form)


@bp.post("/dkim/<int:dkim_key_id>/activate")
def activate_key(dkim_key_id: int) -> ResponseReturnValue:
    key = dkim_keys.visible_key(current_actor(), dkim_key_id)
    return _act(key.domain_id, lambda: dkim_keys.activate_key(current_actor(), key.id),
                lambda active: _("Mail is now signed with key %(selector)s.", selector=active.selector))


@bp.post("/dkim/<int:dkim_key_id>/delete")
def delete_key(dkim_key_id: int) -> ResponseReturnValue:
    key = dkim_keys.visible_key(current_actor(), dkim_key_id)
    selector = key.selector
    return _act(key.domain_id, lambda: dkim_keys.delete_key(current_actor(), key.id),
                lambda _none: _("Key %(selector)s deleted.", selector=selector))
