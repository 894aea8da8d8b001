"""Language choice: the user's setting, then the session's switch, then Accept-Language."""
from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user

LOCALE_KEY = "locale"


def select_locale() -> str | None:
    languages: list[str] = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands, jobs and threads
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get(LOCALE_KEY)
    if chosen in languages:
        return chosen
    account = getattr(current_user, "account", None)
    if getattr(account, "locale", None) in languages:
        return account.locale  # type: ignore[union-attr]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
