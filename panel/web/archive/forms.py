"""Archive screens: the search form (GET, no state change) and the one-button toggles (POST, CSRF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from maild.archive.reader import Query

TEXT = [Optional(), Length(max=200)]


class SearchForm(FlaskForm):
    """Read from the query string so a search can be bookmarked, paged and exported as it stands."""

    class Meta:
        csrf = False  # a GET that changes nothing (it is audited, but cannot be forged into harm)

    domain = SelectField(_l("Domain"), choices=[], validate_choice=False)
    sender = StringField(_l("Sender"), validators=TEXT)
    recipient = StringField(_l("Recipient"), validators=TEXT)
    subject = StringField(_l("Subject"), validators=TEXT)
    text = StringField(_l("Text"), validators=TEXT, description=_l("Anywhere: addresses, subject and body."))
    direction = SelectField(_l("Direction"), choices=[SelectChoice("", _l("In and out")),
                                                      SelectChoice("in", _l("Received")),
                                                      SelectChoice("out", _l("Sent"))], default="")
    since = DateField(_l("From date"), validators=[Optional()])
    until = DateField(_l("To date"), validators=[Optional()])

    def query(self) -> Query:
        return Query(sender=self.sender.data or "", recipient=self.recipient.data or "",
                     subject=self.subject.data or "", text=self.text.data or "",
                     direction=self.direction.data or "", since=self.since.data, until=self.until.data)

    def domain_id(self) -> int | None:
        value = self.domain.data or ""
        return int(value) if value.isdigit() else None


class ToggleForm(FlaskForm):
    """A CSRF-checked button that sets a flag on or off."""

    value = HiddenField(validators=[AnyOf(["on", "off"])])


class HoldForm(FlaskForm):
    """Place the current search's results under legal hold (the search comes in the query string)."""

    reason = StringField(_l("Reason for the hold"), validators=[DataRequired(), Length(max=500)],
                         description=_l("For example the case or request it answers."))
    submit = SubmitField(_l("Hold these results"))
