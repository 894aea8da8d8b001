"""Sender Rewriting Scheme: the envelope sender of mail this node forwards.

Forwarded with its original sender, a message fails the receiver's SPF check (that sender's
domain does not list this node) and is refused or filed as spam. So mail an alias or a
mailbox's forwarding sends on to another server leaves with a sender in the forwarding domain,
whose SPF record names this node:

    SRS0=HHHHHHHH=TT=orig-domain=orig-local@forwarding-domain

TT is the day (base32, modulo 1024) and HHHHHHHH a keyed hash of the rest, the forwarding domain
included, so only this node makes addresses it takes back, each in one domain only. The MX
accepts a bounce (null sender) to one whose hash is right and which is at most MAX_AGE_DAYS old,
and sends it on to the original sender. A sender that is already another forwarder's SRS0
address becomes SRS1, naming that forwarder instead of nesting
(`SRS1=HHHHHHHH=first-forwarder==hash=TT=domain=local@us`); its bounce goes back to the first
forwarder, which checks its own part. Senders that need no rewriting (null, hosted here) and
senders no plain address can carry (quoted local parts, address literals) are kept.

The key is 32 random bytes (hex) in `<data>/srs.key`, made on first start. Copy it to every
node (before they start) to let any of them take back addresses another made, e.g. after a
domain moves.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import time
from pathlib import Path

KEY_FILE_NAME = "srs.key"
MAX_AGE_DAYS = 21  # the customary limit: longer than the queue keeps any message
CLOCK_SKEW_DAYS = 1  # a stamp this far ahead is taken: nodes sharing a key may disagree on the day
HASH_LENGTH = 8  # base32 characters: 40 bits, so guessing an address to relay bounces through is hopeless
_DAY = 86400
_CYCLE = 1024  # days two base32 characters count
_STAMP_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# An RFC 5321 dot-atom local part: what can be carried inside another address's local part.
_ATOM_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class InvalidAddress(ValueError):
    """An SRS address this node did not make, altered, or made too long ago."""


def _stamp(day: int) -> str:
    day %= _CYCLE
    return _STAMP_ALPHABET[day >> 5] + _STAMP_ALPHABET[day & 31]


def _stamp_day(stamp: str) -> int:
    upper = stamp.upper()
    if len(upper) != 2 or any(char not in _STAMP_ALPHABET for char in upper):
        raise InvalidAddress("bad timestamp")
    return (_STAMP_ALPHABET.index(upper[0]) << 5) | _STAMP_ALPHABET.index(upper[1])


def _today(now: float | None) -> int:
    return int((time.time() if now is None else now) // _DAY)


def is_srs(address: str) -> bool:
    """Whether the local part of `address` has the form of an SRS address (made here or not)."""
    return address[:5].upper() in ("SRS0=", "SRS1=")


def rewritable(sender: str) -> bool:
    """Whether `sender` (local@domain) fits inside an SRS local part as plain text."""
    local, _, domain = sender.rpartition("@")
    return bool(_ATOM_LOCAL.fullmatch(local)) and domain.isascii() and not domain.startswith("[")


class Srs:
    """Rewrites senders for forwarding and reverses bounce addresses, with this node's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def load(cls, data_dir: Path) -> Srs:
        """The key in `<data_dir>/srs.key`, made there (mode 0600) if there is none yet.

        A new key is written in full to a temporary file and linked into place, so a crash or a
        second process never sees an empty or partial key file."""
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = data_dir / KEY_FILE_NAME
        if not path.exists():
            temporary = data_dir / f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
            with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                handle.write(secrets.token_hex(32).encode("ascii") + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                with contextlib.suppress(FileExistsError):  # another process's key got there first: use it
                    os.link(temporary, path)
            finally:
                temporary.unlink()
            directory = os.open(data_dir, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise ValueError(f"{path} holds no usable SRS key (expected 64 hex digits)")
        return cls(key)

    def _hash(self, *parts: str) -> str:
        digest = hmac.new(self._key, "=".join(parts).lower().encode("utf-8"), hashlib.sha256).digest()
        return base64.b32encode(digest).decode("ascii")[:HASH_LENGTH]

    def _check(self, given: str, *parts: str) -> None:
        if not hmac.compare_digest(given.upper().encode("ascii", "replace"), self._hash(*parts).encode("ascii")):
            raise InvalidAddress("bad hash")

    def forward(self, sender: str, domain: str, now: float | None = None) -> str:
        """The address to forward mail from `sender` with, in `domain` (hosted here)."""
        local, _, sender_domain = sender.rpartition("@")
        tag = local[:5].upper()
        if tag == "SRS0=" and local[5:]:
            return self._srs1(sender_domain, local[5:], domain)
        parts = _srs1_parts(local) if tag == "SRS1=" else None
        if parts is not None:  # a malformed one is wrapped like any other sender
            return self._srs1(parts[1], parts[2], domain)
        stamp = _stamp(_today(now))
        return f"SRS0={self._hash(stamp, sender_domain, local, domain)}={stamp}={sender_domain}={local}@{domain}"

    def _srs1(self, first: str, rest: str, domain: str) -> str:
        return f"SRS1={self._hash(first, rest, domain)}={first}=={rest}@{domain}"

    def reverse(self, address: str, now: float | None = None) -> str:
        """Where a bounce to `address` (an SRS address made here) goes; InvalidAddress if not ours.

        `now` is when the bounce arrived (default: now)."""
        local, _, domain = address.rpartition("@")
        tag = local[:5].upper()
        if tag == "SRS1=":
            parts = _srs1_parts(local)
            if parts is None:
                raise InvalidAddress("malformed SRS1 address")
            given, first, rest = parts
            self._check(given, first, rest, domain)
            return f"SRS0={rest}@{first}"
        if tag != "SRS0=":
            raise InvalidAddress("not an SRS address")
        fields = local[5:].split("=", 3)
        if len(fields) != 4 or not all(fields):
            raise InvalidAddress("malformed SRS0 address")
        given, stamp, original_domain, original_local = fields
        age = (_today(now) - _stamp_day(stamp)) % _CYCLE
        if MAX_AGE_DAYS < age < _CYCLE - CLOCK_SKEW_DAYS:
            raise InvalidAddress("expired")
        self._check(given, stamp, original_domain, original_local, domain)
        return f"{original_local}@{original_domain}"


def _srs1_parts(local: str) -> tuple[str, str, str] | None:
    """(hash, first forwarder, its SRS0 part without the tag) of an SRS1 local part, if well formed."""
    given, _, tail = local[5:].partition("=")
    first, separator, rest = tail.partition("==")
    if not given or not first or not separator or not rest:
        return None
    return given, first, rest
