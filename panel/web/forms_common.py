"""Form pieces shared by several screens: fields for sizes, limits, money and tier, and the
submit and delete-confirmation flows that turn service refusals into what the user sees.

Services take sizes in bytes and limits as `int | None` (None is unlimited, 0 is zero); these
fields turn what a person types into exactly that, and back again when a form is filled from a row.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Context, Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from flask import flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, Field, IntegerField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, StopValidation
from wtforms.widgets import NumberInput

from panel.models import Tier
from panel.services import validation
from panel.services.errors import Forbidden, Invalid
from panel.services.passwords import check_policy
from panel.web.auth.forms import ConfirmForm
from panel.web.errors import form_error

T = TypeVar("T")

UNITS = {"MiB": 1024**2, "GiB": 1024**3}
# Sizes live in BigInteger columns (signed 64 bit).
MAX_BYTES = 2**63 - 1
# Integer limits live in Integer columns (signed 32 bit).
MAX_LIMIT = 2**31 - 1
_MAX_INPUT_LENGTH = 32
_EXACT = Context(prec=60)


def _number(text: str) -> Decimal:
    """`text` as a Decimal; NaN for anything that is not a number (or absurdly long)."""
    if len(text) > _MAX_INPUT_LENGTH:
        return Decimal("NaN")
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("NaN")


class SizeField(Field):
    """A size typed in `unit` (MiB or GiB, decimals allowed); `.data` is bytes, or None when empty.

    Add `InputRequired()` when the size may not be left empty; otherwise empty means unlimited.
    """

    widget = NumberInput(step="any", min=0)

    def __init__(self, label: Any = None, validators: Any = None, unit: str = "MiB", **kwargs: Any) -> None:
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {sorted(UNITS)}")
        super().__init__(label, validators, **kwargs)
        self.unit = unit
        self.multiplier = UNITS[unit]
        if not self.description:
            self.description = (_l("In %(unit)s; leave empty for unlimited.", unit=unit)
                                if not self.flags.required else _l("In %(unit)s.", unit=unit))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        # Exact (bytes / 2**20 or 2**30 ends within 30 decimals), so a re-saved form keeps its value;
        # normalised and fixed-point: 1.50 -> "1.5", 2E+1 -> "20".
        return format(_EXACT.divide(Decimal(self.data), Decimal(self.multiplier)).normalize(), "f")

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        if not text:
            self.data = None
            return
        self.data = None
        amount = _number(text)
        if not amount.is_finite():
            raise ValueError(_l("Enter a number of %(unit)s, such as 512 or 1.5.", unit=self.unit))
        if amount < 0:
            raise ValueError(_l("Must be zero or more (leave empty for unlimited)."))
        if amount > Decimal(MAX_BYTES) / self.multiplier:
            raise ValueError(_l("This size is too large."))
        self.data = int(amount * self.multiplier)


class LimitField(IntegerField):
    """A whole-number limit: `.data` is the number, or None (unlimited) when left empty."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        validators = [Optional(), NumberRange(min=0, max=MAX_LIMIT), *(validators or [])]
        kwargs.setdefault("description", _l("Leave empty for unlimited."))
        kwargs.setdefault("render_kw", {"min": 0})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and not str(valuelist[0]).strip():
            self.data = None
            return
        super().process_formdata(valuelist)

    def pre_validate(self, form: Any) -> None:
        # Text that is not a number already has its error; a range error on top would only confuse.
        if self.process_errors:
            raise StopValidation()


class MoneyField(DecimalField):
    """An amount of money, zero or more, kept to two decimals (the price columns' precision)."""

    MAX = Decimal("9999999999.99")

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("default", Decimal(0))
        kwargs.setdefault("render_kw", {"min": 0, "step": "any"})
        super().__init__(label, validators, places=None, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip().replace(",", "") if valuelist else ""
        if not text:
            self.data = Decimal(0)
            return
        self.data = None
        amount = _number(text)
        if not amount.is_finite():
            raise ValueError(_l("Enter an amount such as 500 or 4.50."))
        if not 0 <= amount <= self.MAX:
            raise ValueError(_l("Enter an amount between 0 and %(max)s.", max=self.MAX))
        self.data = amount.quantize(Decimal("0.01"))


def _enum_value(value: Any) -> str:
    """Select values as plain strings, whether they come from a form post or an Enum attribute."""
    return value.value if isinstance(value, Enum) else str(value)


class TierField(SelectField):
    """Shared or dedicated; `.data` is the Tier's string value."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        choices = [SelectChoice(Tier.SHARED.value, _l("Shared (pooled mail servers)")),
                   SelectChoice(Tier.DEDICATED.value, _l("Dedicated (a mail server of its own)"))]
        super().__init__(label, validators, choices=choices, coerce=_enum_value, **kwargs)


def optional_id(value: Any) -> int | None:
    """Coerce a select's value to an id, the empty choice to None ("none of them")."""
    return None if value in ("", None) else int(value)


def choices(rows: Iterable[Any]) -> list[SelectChoice]:
    """(value, label) rows from a query as select options."""
    return [SelectChoice(value, label) for value, label in rows]


def login_email_field() -> StringField:
    """The e-mail address a new staff login signs in with (form field `email`, as the service names it)."""
    return StringField(_l("Login e-mail address"), validators=[DataRequired(), Length(max=320)],
                       render_kw={"autocomplete": "off"})


def new_password_field() -> PasswordField:
    """A password chosen for a new login (form field `password`); the service's policy checks it."""
    return PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                         description=_l("At least 10 characters."), render_kw={"autocomplete": "new-password"})


def forbidden_as_invalid(call: Callable[[], T], field: str | None = None) -> T:
    """Run `call`, reporting a Forbidden refusal as a form error on `field` instead of a 403 page.

    For refusals that answer a choice made in the form (a plan of another seller, one's own
    login), where the page itself is allowed.
    """
    try:
        return call()
    except Forbidden as exc:
        raise Invalid(field, exc.message) from exc


def submit(form: FlaskForm, action: Callable[[], T]) -> T | None:
    """Run `action` (a service call) when `form` validates; a refusal lands on the form as None.

    NotFound and Forbidden are not caught: the app shows them as 404 and 403 pages.
    """
    if not form.validate_on_submit():
        return None
    try:
        return action()
    except Invalid as exc:
        form_error(form, exc)
        return None


def form_page(form: FlaskForm, action: Callable[[], T], template: str,
              done: Callable[[T], tuple[str, str]], **context: Any) -> ResponseReturnValue:
    """The create/edit screen flow: show `template` with `form` (and its errors) until `action`
    succeeds, then flash the message and go to the URL that `done` gives for the result."""
    result = submit(form, action)
    if result is None:
        return render_template(template, form=form, **context)
    message, url = done(result)
    flash(message, "success")
    return redirect(url)


def confirm_delete(what: str, delete: Callable[[], None], *, cancel_url: str, done_url: str,
                   consequences: Iterable[str] = ()) -> ResponseReturnValue:
    """GET asks (listing what goes with the object); a POST with a valid CSRF token deletes.

    A refusal from the service (e.g. a plan still in use) is shown on the object's page.
    """
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        try:
            delete()
        except Invalid as exc:
            flash(str(exc.message), "danger")
            return redirect(cancel_url)
        flash(_("Deleted %(what)s.", what=what), "success")
        return redirect(done_url)
    return render_template("confirm_delete.html", what=what, consequences=list(consequences),
                           cancel_url=cancel_url)


def with_first_login(form: FlaskForm, create: Callable[[], T], add_login: Callable[[T], object],
                     undo: Callable[[T], None]) -> Callable[[], T]:
    """An action creating an owner (reseller, customer) and its first staff login as one step.

    The login's address and password pass the service's checks before anything is written; if
    the login is still refused (say, the address was taken meanwhile), `undo` removes the owner,
    so a refusal never leaves an owner nobody can log in to.
    """
    def both() -> T:
        validation.email_address(form.email.data or "", "email")
        check_policy(form.password.data or "")
        owner = create()
        try:
            add_login(owner)
        except Invalid:
            undo(owner)
            raise
        return owner

    return both
