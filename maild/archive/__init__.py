"""The compliance archive: a tamper-evident, searchable journal of all mail in and out (docs/archive.md)."""
from maild.archive.capture import capture
from maild.archive.journal import Envelope

__all__ = ["Envelope", "capture"]
