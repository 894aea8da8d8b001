"""Reseller forms: name and allowance; creating one also sets up its first staff login."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from panel.web.forms_common import login_email_field, new_password_field


class ResellerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    allowance_id = SelectField(_l("Reseller plan"), coerce=int, validate_choice=True)
    submit = SubmitField(_l("Save"))


class NewResellerForm(ResellerForm):
    email = login_email_field()
    password = new_password_field()
    submit = SubmitField(_l("Create reseller"))
