"""Forms and labels of the DNS screens; services validate the values again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from panel.models import DkimState

CHECK_LABELS = {
    "verify": _l("Ownership"),
    "mx": _l("MX (where mail for the domain goes)"),
    "spf": _l("SPF (servers allowed to send)"),
    "dkim": _l("DKIM key"),
    "dmarc": _l("DMARC policy"),
    "autoconfig": _l("Autoconfig (Thunderbird)"),
    "autodiscover": _l("Autodiscover (Outlook)"),
    "ptr": _l("Reverse DNS (PTR) of the mail server"),
}
STATUS_LABELS = {
    "ok": _l("OK"),
    "wrong": _l("Wrong"),
    "missing": _l("Missing"),
    "timeout": _l("DNS timed out"),
    "servfail": _l("DNS server failure (SERVFAIL)"),
}
STATUS_STYLES = {"ok": "success", "wrong": "danger", "missing": "danger", "timeout": "warning", "servfail": "warning"}
KEY_STATE_LABELS = {
    DkimState.PENDING.value: _l("New (publish, then switch)"),
    DkimState.ACTIVE.value: _l("Signing"),
    DkimState.RETIRED.value: _l("Retired (still published)"),
}


class KeyForm(FlaskForm):
    """Generate a new DKIM key, to be published before signing switches to it."""

    algorithm = SelectField(_l("Key type"), choices=[
        SelectChoice("rsa-sha256", _l("RSA 2048 (understood everywhere)")),
        SelectChoice("ed25519-sha256", _l("Ed25519 (short; not all receivers check it)")),
    ])
    submit = SubmitField(_l("Create new key"))
