"""Customer forms: name and plan; a new customer also gets its first staff login."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from panel.web.forms_common import login_email_field, new_password_field, optional_id


class CustomerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    plan_id = SelectField(_l("Plan"), coerce=int)
    submit = SubmitField(_l("Save"))


class NewCustomerForm(CustomerForm):
    reseller_id = SelectField(_l("Sold by"), coerce=optional_id,
                              description=_l("The plan must be one this seller sells."))
    email = login_email_field()
    password = new_password_field()
    submit = SubmitField(_l("Create customer"))
