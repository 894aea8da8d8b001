"""Command-line value types: sizes with units, limits that may be `unlimited`, prices."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import click

UNLIMITED = "unlimited"
# Column ranges: sizes are signed 64-bit (BigInteger), counts signed 32-bit (Integer).
MAX_BYTES = 2**63 - 1
MAX_COUNT = 2**31 - 1
# Prices are Numeric(12, 2).
MAX_AMOUNT = Decimal("9999999999.99")
# Binary multiples whatever the spelling, as Dovecot reads quotas: 1G, 1GB and 1GiB are 2**30.
_MULTIPLIERS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:([kmgtp])(?:i?b)?|b)?$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from `500M`, `2G`, `1.5GiB`, `4096` (fractions of a byte are dropped)."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise ValueError(text)
    number, unit = match.groups()
    return int(Decimal(number) * _MULTIPLIERS[(unit or "").lower()])


class Size(click.ParamType):
    """A size in bytes; with `unlimited=True` the word `unlimited` gives None."""

    def __init__(self, unlimited: bool = False) -> None:
        self.unlimited = unlimited
        self.name = "size|unlimited" if unlimited else "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if self.unlimited and text.lower() == UNLIMITED:
            return None
        try:
            size = parse_size(text)
        except ValueError:
            self.fail(f"{value!r} is not a size such as 500M, 2G, 1.5GiB or a number of bytes"
                      + (", or 'unlimited'." if self.unlimited else "."), param, ctx)
        if size > MAX_BYTES:
            self.fail(f"{value!r} is too large.", param, ctx)
        return size


class WholeOrWord(click.ParamType):
    """A whole number from `minimum` to the column's maximum, or `word` meaning None."""

    def __init__(self, word: str, minimum: int, what: str) -> None:
        self.word = word
        self.minimum = minimum
        self.name = f"{what}|{word}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.lower() == self.word:
            return None
        if not (text.isascii() and text.isdigit()) or not self.minimum <= int(text) <= MAX_COUNT:
            self.fail(f"{value!r} is not a whole number from {self.minimum} to {MAX_COUNT}, "
                      f"or '{self.word}'.", param, ctx)
        return int(text)


class Money(click.ParamType):
    """An amount such as 300 or 1.50, kept exact as a Decimal."""

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            self.fail(f"{value!r} is not an amount such as 300 or 1.50.", param, ctx)
        if abs(amount) > MAX_AMOUNT:
            self.fail(f"{value!r} is too large.", param, ctx)
        return amount


SIZE = Size()
SIZE_OR_UNLIMITED = Size(unlimited=True)
LIMIT = WholeOrWord(UNLIMITED, 0, "number")
COUNT = click.IntRange(0, MAX_COUNT)
OPTIONAL_ID = WholeOrWord("none", 1, "id")
MONEY = Money()
