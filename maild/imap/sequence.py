"""Sequence sets (`1:4,7,9:*`) resolved against a session's view in O(k + log n)."""
from __future__ import annotations

import bisect
import re

from maild.imap.parser import BadCommand

_NUMBER = r"(?:[1-9][0-9]{0,9}|\*)"
_SET = re.compile(rf"^{_NUMBER}(?::{_NUMBER})?(?:,{_NUMBER}(?::{_NUMBER})?)*$")
MAX_NUMBER = 4294967295


def ranges(text: str, star: int) -> list[tuple[int, int]]:
    """The (low, high) ranges of a set, `*` standing for `star`; BadCommand if malformed."""
    if not _SET.match(text):
        raise BadCommand("invalid sequence set")
    result = []
    for item in text.split(","):
        first, _, last = item.partition(":")
        low = star if first == "*" else int(first)
        high = low if not last else (star if last == "*" else int(last))
        if low > MAX_NUMBER or high > MAX_NUMBER:
            raise BadCommand("number out of range")
        result.append((min(low, high), max(low, high)))
    return result


def is_set(text: str) -> bool:
    return bool(_SET.match(text))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return merged


def sequence_numbers(text: str, count: int) -> list[int]:
    """Message sequence numbers named by `text` in a view of `count` messages, ascending."""
    spans = ranges(text, count)
    if any(high > count or low < 1 for low, high in spans):
        raise BadCommand("message sequence number out of range" if count else "the mailbox is empty")
    return [n for low, high in _merge(spans) for n in range(low, high + 1)]


def uids_in(text: str, uids: list[int]) -> list[int]:
    """Existing UIDs (from ascending `uids`) named by a UID set; unknown UIDs are ignored."""
    spans = ranges(text, uids[-1] if uids else 0)
    found: list[int] = []
    for low, high in _merge(spans):
        start = bisect.bisect_left(uids, low)
        stop = bisect.bisect_right(uids, high)
        found.extend(uids[start:stop])
    return found


def compress(numbers: list[int]) -> str:
    """A compact set for ascending numbers (for COPYUID and APPENDUID)."""
    parts: list[str] = []
    index = 0
    while index < len(numbers):
        start = index
        while index + 1 < len(numbers) and numbers[index + 1] == numbers[index] + 1:
            index += 1
        parts.append(str(numbers[start]) if start == index else f"{numbers[start]}:{numbers[index]}")
        index += 1
    return ",".join(parts)
