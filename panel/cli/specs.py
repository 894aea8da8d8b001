"""Options that fill a service spec (PlanSpec, AllowanceSpec, NodeSpec).

`create` takes the spec's own defaults for what is not given; `update` starts from the
object as stored and changes only the options actually given on the command line, so
`--max-mailboxes unlimited` (None) is told apart from "not given".
"""
from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from panel.cli.params import Size
from panel.services.limits import format_bytes

S = TypeVar("S")
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass(frozen=True)
class SpecOption:
    field: str
    flags: str
    help: str
    type: Any = None


def _shown(default: Any, kind: Any) -> str:
    if default is None:
        return "unlimited"
    if isinstance(default, enum.Enum):
        return str(default.value)
    if isinstance(kind, Size):
        return format_bytes(default)
    return str(default)


def spec_options(spec: type, options: Sequence[SpecOption], *, defaults: bool) -> Decorator:
    """One click option per spec field; with `defaults` (create) a field without one is required."""
    declared = {field.name: field for field in dataclasses.fields(spec)}

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            default = declared[option.field].default
            settings: dict[str, Any] = {"type": option.type, "help": option.help}
            if defaults and default is dataclasses.MISSING:
                settings["required"] = True
            elif defaults:
                settings["default"] = default.value if isinstance(default, enum.Enum) else default
                settings["show_default"] = True if isinstance(default, bool) else _shown(default, option.type)
            func = click.option(option.flags, option.field, **settings)(func)
        return func

    return decorate


def given(values: dict[str, Any]) -> dict[str, Any]:
    """The subset of `values` the operator typed (not click's defaults)."""
    ctx = click.get_current_context()
    return {name: value for name, value in values.items()
            if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)}


def updated(spec: type[S], current: object, values: dict[str, Any]) -> S:
    """`spec` filled from `current` (a model object), with the options given applied on top."""
    stored = {field.name: getattr(current, field.name) for field in dataclasses.fields(spec)}  # type: ignore[arg-type]
    return spec(**(stored | given(values)))
