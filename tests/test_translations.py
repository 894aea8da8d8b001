"""Every user-facing string in the code has a Japanese translation in the catalogue."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}
# gettext domain -> where its strings are: the panel's pages and the daemon's own mail.
DOMAINS = {
    "messages": [("panel/**.py", "python"), ("templates/**.html", "jinja2")],
    "maild": [("maild/**.py", "python")],
}


def strings_in_code(domain: str) -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), DOMAINS[domain], keywords=KEYWORDS, options_map={"templates/**.html": {}}):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def japanese(domain: str):  # type: ignore[no-untyped-def]
    with open(ROOT / f"translations/ja/LC_MESSAGES/{domain}.po", "rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_every_string_has_a_japanese_translation(domain):
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in japanese(domain)
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else (m.string,))
    }
    missing = sorted(strings_in_code(domain) - translated)
    assert not missing, f"{len(missing)} strings lack Japanese (run `make messages` and translate):\n" + "\n".join(missing[:50])


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_placeholders_survive_translation(domain):
    broken = [m.id for m in japanese(domain) if m.id and m.string and m.check()]
    assert not broken, broken[:20]
