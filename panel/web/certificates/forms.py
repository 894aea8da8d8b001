from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

HOSTNAMES_HELP = _l("One host name per line, e.g. mail.example.jp (a wildcard *.example.jp is allowed).")
MAX_PEM = 64 * 1024


class OwnedForm(FlaskForm):
    """Host names, and for admins the owner (the provider or one of the customers)."""

    hostnames = TextAreaField(_l("Host names"), validators=[DataRequired(), Length(max=4000)],
                              description=HOSTNAMES_HELP, render_kw={"rows": 2})
    owner = SelectField(_l("Belongs to"), choices=[], validate_choice=False)

    def hostname_list(self) -> list[str]:
        return (self.hostnames.data or "").replace(",", "\n").split()

    def owner_id(self) -> int | None:
        return int(self.owner.data) if self.owner.data else None


class UploadForm(OwnedForm):
    cert_pem = TextAreaField(_l("Certificate chain (PEM)"), validators=[DataRequired(), Length(max=MAX_PEM)],
                             description=_l("Your certificate first, then the intermediate certificates."),
                             render_kw={"rows": 6})
    key_pem = TextAreaField(_l("Private key (PEM, unencrypted)"), validators=[DataRequired(), Length(max=MAX_PEM)],
                            description=_l("Stored encrypted and never shown again."), render_kw={"rows": 6})
    submit = SubmitField(_l("Upload"))


class SelfSignedForm(OwnedForm):
    submit = SubmitField(_l("Create self-signed certificate"))


class CsrForm(OwnedForm):
    submit = SubmitField(_l("Create key and signing request"))


class AcmeForm(OwnedForm):
    submit = SubmitField(_l("Request from the ACME CA"))


class CompleteForm(FlaskForm):
    cert_pem = TextAreaField(_l("Certificate chain from the CA (PEM)"),
                             validators=[DataRequired(), Length(max=MAX_PEM)], render_kw={"rows": 6})
    submit = SubmitField(_l("Add the certificate"))
