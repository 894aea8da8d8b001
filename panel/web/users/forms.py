"""The new staff login form; which roles and owners it offers depends on who is asking."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length

from panel.web.forms_common import login_email_field, new_password_field, optional_id


class UserForm(FlaskForm):
    email = login_email_field()
    name = StringField(_l("Name"), validators=[Length(max=200)])
    password = new_password_field()
    role = SelectField(_l("Works for"))
    reseller_id = SelectField(_l("Reseller"), coerce=optional_id,
                              description=_l("For reseller staff."))
    customer_id = SelectField(_l("Customer"), coerce=optional_id,
                              description=_l("For customer staff."))
    submit = SubmitField(_l("Create login"))
