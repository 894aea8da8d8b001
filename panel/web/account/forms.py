"""Forms of the mailbox user's own pages; the services validate again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from panel.services.passwords import MAX_LENGTH
from panel.services.selfservice import MAX_BODY, MAX_INTERVAL_DAYS, MAX_SUBJECT
from panel.web.mailboxes.forms import new_password_fields


class OwnPasswordForm(FlaskForm):
    old_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                                 render_kw={"autocomplete": "current-password"})
    password, confirm = new_password_fields()
    submit = SubmitField(_l("Change password"))


class ForwardingForm(FlaskForm):
    forward_to = TextAreaField(_l("Forward to"), validators=[Length(max=4000)],
                               description=_l("One address per line; leave empty to turn forwarding off."))
    keep_copy = BooleanField(_l("Keep a copy in this mailbox"), default=True)
    submit = SubmitField(_l("Save"))

    def addresses(self) -> list[str]:
        return (self.forward_to.data or "").replace(",", "\n").splitlines()


class VacationForm(FlaskForm):
    enabled = BooleanField(_l("Send an automatic reply"))
    subject = StringField(_l("Subject"), validators=[Length(max=MAX_SUBJECT)])
    body = TextAreaField(_l("Message"), validators=[Length(max=MAX_BODY)], render_kw={"rows": 6})
    start = DateField(_l("First day"), validators=[Optional()])
    end = DateField(_l("Last day"), validators=[Optional()])
    interval_days = IntegerField(_l("Reply to the same sender at most once every (days)"), default=7,
                                 validators=[DataRequired(), NumberRange(min=1, max=MAX_INTERVAL_DAYS)])
    submit = SubmitField(_l("Save"))


class AppPasswordForm(FlaskForm):
    name = StringField(_l("Name of the device or program"), validators=[DataRequired(), Length(max=100)],
                       render_kw={"placeholder": _l("e.g. iPhone, Thunderbird at home")})
    submit = SubmitField(_l("Create app password"))
