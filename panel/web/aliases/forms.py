"""Forms of the alias screens: destinations are typed one per line or comma-separated."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

_SEPARATORS = re.compile(r"[\s,;]+")


class DestinationsField(TextAreaField):
    """Addresses typed in a text area; `.data` stays the text, `.addresses` the list to save."""

    @property
    def addresses(self) -> list[str]:
        return [address for address in _SEPARATORS.split(self.data or "") if address]


def destinations_field() -> DestinationsField:
    return DestinationsField(_l("Forward to"), validators=[DataRequired(), Length(max=20000)],
                             description=_l("One address per line, or separated by commas."),
                             render_kw={"rows": 5})


class AliasForm(FlaskForm):
    domain_id = SelectField(_l("Domain"), coerce=int)
    local_part = StringField(_l("Address (part before @)"), validators=[Length(max=64)],
                             render_kw={"autocomplete": "off", "spellcheck": "false"})
    catch_all = BooleanField(_l("Catch-all: receive mail for every address of the domain "
                                "that has no mailbox or alias"))
    destinations = destinations_field()
    submit = SubmitField(_l("Create alias"))

    def validate_local_part(self, field: Field) -> None:
        """An empty local part means catch-all to the service, so ask for it to be ticked."""
        if not self.catch_all.data and not (field.data or "").strip():
            raise ValidationError(_l("Enter the address, or tick catch-all."))


class AliasDestinationsForm(FlaskForm):
    destinations = destinations_field()
    submit = SubmitField(_l("Save"))
