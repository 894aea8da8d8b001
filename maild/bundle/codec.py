"""JSON objects <-> the frozen `maild.config` dataclasses, driven by their type hints.

A field added to a config dataclass with a default needs no change here: bundles written
before it load with the default, and fields this reader does not know are ignored (the
compatibility rule of docs/bundle.md).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from maild.config import Alias, Domain, Mailbox, Server

T = TypeVar("T")
Decoder = Callable[[Any], Any]
_MISSING = object()


class Mismatch(ValueError):
    """A value of the wrong shape; `path` grows as the error travels out of nested records."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def within(self, part: str) -> Mismatch:
        return Mismatch(self.message, f"{part}.{self.path}" if self.path else part)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _exact(kind: type) -> Decoder:
    def decode(value: Any) -> Any:
        if type(value) is not kind:  # bool is not an int here, and an int is not a str
            raise Mismatch(f"expected {kind.__name__}, got {type(value).__name__}")
        return value
    return decode


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise Mismatch(f"expected a number, got {type(value).__name__}")
    return float(value)


def _optional(inner: Decoder) -> Decoder:
    return lambda value: None if value is None else inner(value)


def _sequence(inner: Decoder) -> Decoder:
    def decode(value: Any) -> tuple[Any, ...]:
        if type(value) is not list:
            raise Mismatch(f"expected a list, got {type(value).__name__}")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(inner(item))
            except Mismatch as exc:
                raise exc.within(f"[{index}]") from None
        return tuple(items)
    return decode


def _decoder(hint: Any) -> Decoder:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _optional(_decoder(inner))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _sequence(_decoder(args[0]))
    if dataclasses.is_dataclass(hint):
        return RecordCodec(hint).decode
    if hint is float:
        return _number
    if hint in (int, str, bool):
        return _exact(hint)
    raise TypeError(f"no bundle encoding for {hint!r}")


def _encoder(hint: Any) -> Callable[[Any], Any] | None:
    """How to turn a field's value into JSON, or None when it already is JSON."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        encode = _encoder(inner)
        return None if encode is None else (lambda value: None if value is None else encode(value))
    if origin is tuple:
        item = _encoder(args[0])
        return list if item is None else (lambda value: [item(v) for v in value])
    if dataclasses.is_dataclass(hint):
        return RecordCodec(hint).encode
    return None


class RecordCodec(Generic[T]):
    """Encodes one dataclass type to a JSON object and decodes (validating) it back."""

    def __init__(self, cls: type[T]) -> None:
        self.cls = cls
        hints = typing.get_type_hints(cls)
        fields = [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
        self._decoders = [
            (f.name, _decoder(hints[f.name]),
             f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
            for f in fields
        ]
        encoders = [(f.name, _encoder(hints[f.name])) for f in fields]
        self._plain = [name for name, encode in encoders if encode is None]
        self._nested = [(name, encode) for name, encode in encoders if encode is not None]

    def encode(self, record: T) -> dict[str, Any]:
        data = {name: getattr(record, name) for name in self._plain}
        for name, encode in self._nested:
            data[name] = encode(getattr(record, name))
        return data

    def decode(self, data: Any) -> T:
        if type(data) is not dict:
            raise Mismatch(f"expected an object, got {type(data).__name__}")
        values = {}
        for name, decode, required in self._decoders:
            value = data.get(name, _MISSING)
            if value is _MISSING:
                if required:
                    raise Mismatch(f"missing field {name!r}")
                continue
            try:
                values[name] = decode(value)
            except Mismatch as exc:
                raise exc.within(name) from None
        try:
            return self.cls(**values)
        except (TypeError, ValueError) as exc:
            raise Mismatch(str(exc)) from None


SERVER_CODEC = RecordCodec(Server)
DOMAIN_CODEC = RecordCodec(Domain)
MAILBOX_CODEC = RecordCodec(Mailbox)
ALIAS_CODEC = RecordCodec(Alias)
