"""List pages: scoped, searched and paginated in SQL (fast at 100k rows)."""
from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, or_

from panel.extensions import db
from panel.services.access import scope
from panel.web.principal import current_actor


def search_term() -> str:
    return request.args.get("q", "").strip()[:100]


def search_forms(term: str) -> set[str]:
    """The term as typed and, for Unicode domain parts, their stored punycode form."""
    forms = {term}
    if not term.isascii():
        local, at, domain = term.lower().rpartition("@")
        try:
            labels = [label if label.isascii() else label.encode("idna").decode("ascii")
                      for label in domain.split(".")]
        except UnicodeError:
            return forms
        forms.add(local + at + ".".join(labels))
    return forms


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def paginated(stmt: Select[Any], *search_columns: Any, model: type | None = None) -> Pagination:
    """`stmt` narrowed to the current actor, filtered by `?q=` on `search_columns`, one page of it.

    The search is a case-insensitive substring match; `?page=` picks the page.
    """
    stmt = scope(current_actor(), stmt, model)
    term = search_term()
    if term and search_columns:
        stmt = stmt.where(or_(*(column.ilike(_like(form), escape="\\")
                                for column in search_columns for form in search_forms(term))))
    return db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], max_per_page=200, error_out=False)
