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


def paginated(stmt: Select[Any], *search_columns: Any, model: type | None = None) -> Pagination:
    """`stmt` narrowed to the current actor, filtered by `?q=` on `search_columns`, one page of it.

    The search is a case-insensitive substring match; `?page=` picks the page.
    """
    stmt = scope(current_actor(), stmt, model)
    term = search_term()
    if term and search_columns:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(or_(*(column.ilike(f"%{escaped}%", escape="\\") for column in search_columns)))
    return db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], max_per_page=200, error_out=False)
