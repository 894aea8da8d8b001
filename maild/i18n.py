"""Translations for the mail maild writes itself (quota warnings, the human part of bounces).

Catalogues are the `maild` gettext domain beside the panel's (`translations/<lang>/LC_MESSAGES/
maild.mo`, built by `make translations`). A system mail is written in the node's language
(`Server.language` from the bundle) with the English text below it, since its reader may not
share the provider's language.
"""
from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "maild"

Text = Callable[[gettext.NullTranslations], str]


def N_(message: str) -> str:  # noqa: N802 (the gettext convention for "mark, translate later")
    return message


@lru_cache(maxsize=8)
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue for `language`; English (the source text) when there is none."""
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def bilingual(language: str, text: Text) -> str:
    """`text` rendered in `language`, then in English unless they are the same."""
    local = text(translations(language))
    english = text(gettext.NullTranslations())
    return local if local == english else f"{local}\n\n----\n\n{english}"
