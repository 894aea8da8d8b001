"""Certificate screens: list by expiry, upload, self-signed, CSR, ACME, renew, delete."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from wtforms import SelectChoice

from panel.extensions import db
from panel.models import Certificate, CertificateSource, Customer, Role
from panel.services import acme, certificates
from panel.services.access import get_visible, require_role, scope
from panel.services.errors import ServiceError
from panel.web.auth.forms import ConfirmForm
from panel.web.certificates.forms import AcmeForm, CompleteForm, CsrForm, OwnedForm, SelfSignedForm, UploadForm
from panel.web.forms_common import choices, confirm_delete, submit
from panel.web.listing import paginated
from panel.web.principal import current_actor

bp = Blueprint("certificates", __name__, url_prefix="/certificates")
WARN_DAYS = 14


@bp.before_request
@login_required
def staff_only() -> None:
    require_role(current_actor(), Role.ADMIN, Role.RESELLER, Role.CUSTOMER)


def _forms() -> dict[str, OwnedForm]:
    """The four ways to get a certificate, each its own form (prefixes keep their fields apart)."""
    forms: dict[str, OwnedForm] = {
        "upload": UploadForm(prefix="upload"), "self_signed": SelfSignedForm(prefix="self_signed"),
        "csr": CsrForm(prefix="csr"), "acme": AcmeForm(prefix="acme"),
    }
    actor = current_actor()
    owners: list[SelectChoice] = []
    if actor.role is not Role.CUSTOMER:
        visible = db.session.execute(scope(actor, select(Customer.id, Customer.name).order_by(Customer.name)))
        owners = ([SelectChoice("", _("The provider (node host names)"))] if actor.is_admin else []) + choices(visible)
    for form in forms.values():
        form.owner.choices = owners
    return forms


@bp.get("/")
def index() -> ResponseReturnValue:
    page = paginated(select(Certificate).order_by(Certificate.not_after.is_(None), Certificate.not_after, Certificate.id),
                     Certificate.issuer)
    now = dt.datetime.now(dt.timezone.utc)
    return render_template("certificates/index.html", page=page, now=now, warn_days=WARN_DAYS)


@bp.get("/new")
def new() -> ResponseReturnValue:
    return render_template("certificates/new.html", forms=_forms())


def _create(kind: str, action: Callable[[OwnedForm], Certificate]) -> ResponseReturnValue:
    forms = _forms()
    form = forms[kind]
    certificate = submit(form, lambda: action(form))
    if certificate is None:
        return render_template("certificates/new.html", forms=forms, active=kind)
    flash(_("Certificate for %(names)s saved.", names=", ".join(certificate.hostnames)), "success")
    return redirect(url_for(".detail", certificate_id=certificate.id))


@bp.post("/upload")
def upload() -> ResponseReturnValue:
    return _create("upload", lambda f: certificates.upload_certificate(
        current_actor(), f.cert_pem.data, f.key_pem.data, f.hostname_list(), f.owner_id()))


@bp.post("/self-signed")
def self_signed() -> ResponseReturnValue:
    return _create("self_signed", lambda f: certificates.create_self_signed(current_actor(), f.hostname_list(), f.owner_id()))


@bp.post("/csr")
def csr() -> ResponseReturnValue:
    return _create("csr", lambda f: certificates.create_csr(current_actor(), f.hostname_list(), f.owner_id()))


@bp.post("/acme")
def request_acme() -> ResponseReturnValue:
    return _create("acme", lambda f: acme.issue_certificate(current_actor(), f.hostname_list(), f.owner_id()))


@bp.route("/<int:certificate_id>", methods=["GET", "POST"])
def detail(certificate_id: int) -> ResponseReturnValue:
    certificate = get_visible(current_actor(), Certificate, certificate_id)
    form = CompleteForm()
    if certificate.cert_pem is None and submit(form, lambda: certificates.complete_csr(
            current_actor(), certificate.id, form.cert_pem.data)) is not None:
        flash(_("Certificate added."), "success")
        return redirect(url_for(".detail", certificate_id=certificate.id))
    return render_template("certificates/detail.html", certificate=certificate, form=form,
                           renew_form=ConfirmForm(), now=dt.datetime.now(dt.timezone.utc), warn_days=WARN_DAYS,
                           acme_source=CertificateSource.ACME)


@bp.post("/<int:certificate_id>/renew")
def renew(certificate_id: int) -> ResponseReturnValue:
    certificate = get_visible(current_actor(), Certificate, certificate_id)
    if ConfirmForm().validate_on_submit():
        try:
            acme.renew(current_actor(), certificate.id)
            flash(_("Certificate renewed."), "success")
        except ServiceError as exc:
            flash(str(exc.message), "danger")
    return redirect(url_for(".detail", certificate_id=certificate.id))


@bp.route("/<int:certificate_id>/delete", methods=["GET", "POST"])
def delete(certificate_id: int) -> ResponseReturnValue:
    certificate = get_visible(current_actor(), Certificate, certificate_id)
    return confirm_delete(_("the certificate for %(names)s", names=", ".join(certificate.hostnames)),
                          lambda: certificates.delete_certificate(current_actor(), certificate.id),
                          cancel_url=url_for(".detail", certificate_id=certificate.id), done_url=url_for(".index"))
