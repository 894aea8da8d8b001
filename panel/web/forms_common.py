"""Form fields shared by several screens: sizes typed in MiB/GiB and limits where empty is unlimited.

Services take sizes in bytes and limits as `int | None` (None is unlimited, 0 is zero); these
fields turn what a person types into exactly that, and back again when a form is filled from a row.
"""
from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, IntegerField
from wtforms.validators import NumberRange, Optional, StopValidation
from wtforms.widgets import NumberInput

UNITS = {"MiB": 1024**2, "GiB": 1024**3}
# Sizes live in BigInteger columns (signed 64 bit).
MAX_BYTES = 2**63 - 1
# Integer limits live in Integer columns (signed 32 bit).
MAX_LIMIT = 2**31 - 1
_MAX_INPUT_LENGTH = 32
_EXACT = Context(prec=60)


def _unlimited_hint(field: Field) -> bool:
    """True when the field may be left empty, so its help text should say empty means unlimited."""
    return not field.flags.required


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
                                if _unlimited_hint(self) else _l("In %(unit)s.", unit=unit))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        # Exact: bytes / 2**20 or 2**30 always ends within 30 decimals, so a re-saved form keeps its value.
        return _plain(_EXACT.divide(Decimal(self.data), Decimal(self.multiplier)))

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        if not text:
            self.data = None
            return
        self.data = None
        try:
            amount = Decimal(text) if len(text) <= _MAX_INPUT_LENGTH else Decimal("NaN")
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            raise ValueError(_l("Enter a number of %(unit)s, such as 512 or 1.5.", unit=self.unit))
        if amount < 0:
            raise ValueError(_l("Must be zero or more (leave empty for unlimited)."))
        if amount > Decimal(MAX_BYTES) / self.multiplier:
            raise ValueError(_l("This size is too large."))
        self.data = int(amount * self.multiplier)


def _plain(amount: Decimal) -> str:
    """`amount` without exponent or trailing zeros: 1.50 -> "1.5", 2E+1 -> "20"."""
    return format(amount.normalize(), "f")


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
