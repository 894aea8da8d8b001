"""Input checks shared by several services (addresses, names, numbers)."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from panel.models.base import to_idna
from panel.services.errors import Invalid

_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def local_part(value: str, field: str = "local_part") -> str:
    """Normalise an address's local part (lower case); RFC 5321 dot-atom only."""
    value = value.strip().lower()
    if not value or len(value) > 64 or not _LOCAL_PART.match(value):
        raise Invalid(field, _l("Enter a valid local part (letters, digits, dots and - _ +)."))
    return value


def domain_name(value: str, field: str = "name") -> str:
    """The IDNA (punycode) form of a domain name given in Unicode or ASCII."""
    try:
        name = to_idna(value)
    except ValueError:
        raise Invalid(field, _l("Enter a valid domain name such as example.jp.")) from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels) \
            or labels[-1].isdigit():
        raise Invalid(field, _l("Enter a valid domain name such as example.jp."))
    return name


def email_address(value: str, field: str) -> str:
    """A full address `local@domain`, domain normalised to IDNA."""
    local, sep, domain = value.strip().rpartition("@")
    if not sep:
        raise Invalid(field, _l("Enter a full e-mail address such as user@example.jp."))
    return f"{local_part(local, field)}@{domain_name(domain, field)}"


def name(value: str, field: str = "name", max_length: int = 100) -> str:
    value = value.strip()
    if not value:
        raise Invalid(field, _l("This field is required."))
    if len(value) > max_length:
        raise Invalid(field, _l("At most %(n)d characters.", n=max_length))
    return value


def non_negative(value: int | None, field: str) -> int | None:
    """A limit: None for unlimited, otherwise a whole number >= 0."""
    if value is not None and value < 0:
        raise Invalid(field, _l("Must be zero or more (leave empty for unlimited)."))
    return value


def positive(value: int | None, field: str) -> int:
    if value is None or value <= 0:
        raise Invalid(field, _l("Must be greater than zero."))
    return value
