"""The frame every operator command runs in: who acts, which language, errors, output.

Service errors become click errors here and nowhere else: exit code 1 and the service's
message on stderr. Usage mistakes stay click's own (exit code 2).
"""
from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from panel.cli.output import emit
from panel.extensions import db
from panel.models import User
from panel.services.actor import Actor
from panel.services.errors import LimitExceeded, NotFound, ServiceError

Command = Callable[..., Any]


def cli_locale() -> str:
    """The terminal's language (LC_ALL, LC_MESSAGES, LANG) if the panel speaks it.

    The C/POSIX locale means untranslated, so English; anything unknown gets the default.
    """
    languages: list[str] = current_app.config["LANGUAGES"]
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            language = value.split(".")[0].split("_")[0].lower()
            if language in ("c", "posix"):
                language = "en"
            return language if language in languages else current_app.config["BABEL_DEFAULT_LOCALE"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def resolve_actor(email: str | None) -> Actor:
    """The system operator, or with `--as` the active staff login with this e-mail address."""
    if email is None:
        return Actor.system("cli")
    user = db.session.scalar(select(User).where(User.email == email.strip().lower(),
                                                User.is_active.is_(True)))
    if user is None:
        raise NotFound(_("No active staff login %(email)s.", email=email))
    return Actor.for_user(user)


def error_message(error: ServiceError) -> str:
    """The service's message, naming the option it concerns when that helps."""
    field = getattr(error, "field", None)
    if field and not isinstance(error, LimitExceeded):
        return f"{field}: {error}"
    return str(error)


def operator_command(func: Command) -> Command:
    """Give a command `--json` and `--as EMAIL`, call it with the Actor, print what it returns."""

    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table.")
    @click.option("--as", "as_email", metavar="EMAIL",
                  help="Act as this staff login, within its rights and allowance (default: the system operator).")
    @functools.wraps(func)
    def run(as_json: bool, as_email: str | None, **params: Any) -> None:
        with force_locale(cli_locale()):
            try:
                result = func(resolve_actor(as_email), **params)
            except ServiceError as error:
                raise click.ClickException(error_message(error)) from None
            emit(result, as_json)

    return run


def password_options(required: bool = True) -> Callable[[Command], Command]:
    """`--password-stdin` or `--password`, passed on as `password`.

    When neither is given, a terminal is asked (hidden, twice); a script is refused, or gets
    None when the password is optional.
    """

    def decorate(func: Command) -> Command:
        @click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
        @click.option("--password", "password_arg", metavar="PASSWORD",
                      help="The password itself (visible to other users in process listings; prefer --password-stdin).")
        @functools.wraps(func)
        def run(password_stdin: bool, password_arg: str | None, **params: Any) -> Any:
            return func(password=read_password(password_stdin, password_arg, required), **params)

        return run

    return decorate


password_option = password_options()


def read_password(from_stdin: bool, given: str | None, required: bool = True) -> str | None:
    if from_stdin and given is not None:
        raise click.UsageError("Use either --password-stdin or --password, not both.")
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    if given is not None or not required:
        return given
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    raise click.UsageError("Give the password with --password-stdin or --password.")


yes_option = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")


def confirm(yes: bool, question: str) -> None:
    """Ask (on stderr, keeping stdout clean for --json) before destroying something unless `--yes`;
    'no' aborts with exit code 1."""
    if not yes:
        click.confirm(question, abort=True, err=True)
