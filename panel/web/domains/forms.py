"""Forms of the domain screens; services validate the values again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from panel.models import DomainStatus

STATUS_LABELS = {
    DomainStatus.PENDING: _l("Pending"),
    DomainStatus.ACTIVE: _l("Active"),
    DomainStatus.SUSPENDED: _l("Suspended"),
}


def status_choices(*statuses: DomainStatus) -> list[SelectChoice]:
    return [SelectChoice(status.value, STATUS_LABELS[status]) for status in statuses or tuple(DomainStatus)]


class DomainForm(FlaskForm):
    """Add a domain; the customer and status fields are removed for those who may not choose."""

    name = StringField(_l("Domain name"), validators=[DataRequired(), Length(max=253)],
                       description=_l("Japanese (IDN) names are accepted, e.g. 例え.jp."),
                       render_kw={"autocomplete": "off", "spellcheck": "false"})
    customer_id = SelectField(_l("Customer"), coerce=int, validate_choice=True)
    status = SelectField(_l("Status"), choices=status_choices(DomainStatus.PENDING, DomainStatus.ACTIVE),
                         default=DomainStatus.PENDING.value,
                         description=_l("Active skips the ownership check."))
    submit = SubmitField(_l("Add domain"))


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=status_choices())
    submit = SubmitField(_l("Change status"))
