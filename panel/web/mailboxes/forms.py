"""Forms of the mailbox screens; the plan's limits are checked by the service, not here."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length

from panel.services.passwords import MAX_LENGTH
from panel.web.forms_common import SizeField


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    """A new password typed twice; fresh fields, so they render where the form declares them.

    The service applies the password policy.
    """
    return (
        PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                      render_kw={"autocomplete": "new-password"}),
        PasswordField(_l("Repeat the password"),
                      validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))],
                      render_kw={"autocomplete": "new-password"}),
    )


def quota_field() -> SizeField:
    return SizeField(_l("Quota"), unit="MiB", validators=[InputRequired()])


class MailboxForm(FlaskForm):
    domain_id = SelectField(_l("Domain"), coerce=int)
    local_part = StringField(_l("Address (part before @)"), validators=[DataRequired(), Length(max=64)],
                             render_kw={"autocomplete": "off", "spellcheck": "false"})
    quota = quota_field()
    password, confirm = new_password_fields()
    submit = SubmitField(_l("Create mailbox"))


class MailboxEditForm(FlaskForm):
    quota = quota_field()
    enabled = BooleanField(_l("Enabled (can receive mail and log in)"))
    submit = SubmitField(_l("Save"))


class PasswordResetForm(FlaskForm):
    password, confirm = new_password_fields()
    submit = SubmitField(_l("Set password"))
