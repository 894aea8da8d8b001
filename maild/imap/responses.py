"""Formatting IMAP response data: flag lists, strings, dates, mailbox names."""
from __future__ import annotations

import time
from collections.abc import Iterable

from maild.store.mime import nstring
from maild.store.names import encode_mutf7

SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

__all__ = ["SYSTEM_FLAGS", "flag_list", "internal_date", "mailbox_name", "nstring"]


def flag_list(flags: Iterable[str], recent: bool = False) -> bytes:
    items = sorted(flags)
    if recent:
        items.append("\\Recent")
    return ("(" + " ".join(items) + ")").encode("utf-8", "surrogateescape")


def mailbox_name(name: str) -> bytes:
    """A mailbox name on the wire: modified UTF-7, quoted."""
    return nstring(encode_mutf7(name))


def internal_date(timestamp: float) -> bytes:
    """`"17-Jul-1996 02:44:25 -0700"` in the server's local zone."""
    local = time.localtime(timestamp)
    offset = local.tm_gmtoff // 60
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    return (f'"{local.tm_mday:2d}-{_MONTHS[local.tm_mon - 1]}-{local.tm_year} '
            f'{local.tm_hour:02d}:{local.tm_min:02d}:{local.tm_sec:02d} {sign}{offset // 60:02d}{offset % 60:02d}"').encode()
