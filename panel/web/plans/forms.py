"""The plan form: every PlanSpec field, sizes in MiB/GiB; field names match the service's."""
from __future__ import annotations

from dataclasses import fields

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from panel.services.plans import PlanSpec
from panel.web.forms_common import LimitField, MoneyField, SizeField, TierField


class PlanForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    tier = TierField(_l("Tier"))
    max_domains = LimitField(_l("Domains"))
    max_mailboxes = LimitField(_l("Mailboxes"))
    max_aliases = LimitField(_l("Aliases"))
    storage_bytes = SizeField(_l("Total storage"), unit="GiB")
    max_quota_bytes = SizeField(_l("Largest quota per mailbox"), unit="MiB")
    default_quota_bytes = SizeField(_l("Default quota per mailbox"), [InputRequired()], unit="MiB")
    max_message_bytes = SizeField(_l("Largest message"), [InputRequired()], unit="MiB")
    sends_per_hour = LimitField(_l("Outgoing messages per hour per mailbox"))
    archiving = BooleanField(_l("Archive all mail in and out"))
    archive_retention_days = IntegerField(
        _l("Archive retention (days)"), validators=[Optional(), NumberRange(min=0, max=36500)],
        description=_l("Needed when archiving is on."))
    allow_apop = BooleanField(_l("Allow APOP logins"))
    price_per_mailbox = MoneyField(_l("Monthly price per mailbox"))
    setup_fee = MoneyField(_l("Setup fee"))
    currency = StringField(_l("Currency"), default="JPY", validators=[DataRequired(), Length(min=3, max=3)],
                           description=_l("Three-letter code, such as JPY or USD."))
    submit = SubmitField(_l("Save"))

    def spec(self) -> PlanSpec:
        """The validated input as the service's PlanSpec."""
        values = {field.name: self[field.name].data for field in fields(PlanSpec)}
        values["archive_retention_days"] = values["archive_retention_days"] or 0
        return PlanSpec(**values)
