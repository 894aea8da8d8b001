"""The reseller plan (allowance) form; field names match AllowanceSpec."""
from __future__ import annotations

from dataclasses import fields

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from panel.services.plans import AllowanceSpec
from panel.web.forms_common import LimitField, SizeField


class AllowanceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    max_customers = LimitField(_l("Customers"))
    max_domains = LimitField(_l("Domains, summed over its customers' plans"))
    max_mailboxes = LimitField(_l("Mailboxes, summed over its customers' plans"))
    max_aliases = LimitField(_l("Aliases, summed over its customers' plans"))
    storage_bytes = SizeField(_l("Storage, summed over its customers' plans"), unit="GiB")
    submit = SubmitField(_l("Save"))

    def spec(self) -> AllowanceSpec:
        return AllowanceSpec(**{field.name: self[field.name].data for field in fields(AllowanceSpec)})
