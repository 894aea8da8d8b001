"""An archived message made safe to show: headers and text escaped, HTML sanitised by nh3.

The HTML keeps its structure and links but loses scripts, event handlers, styles, forms, frames
and images (remote content would tell the sender the message was read); the page's CSP forbids
whatever might slip through.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import nh3
from markupsafe import Markup

from maild.archive.text import header, parse, part_text

SHOWN_TAGS = nh3.ALLOWED_TAGS - {"img", "picture", "source", "video", "audio", "map", "area"}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_PARTS = 500


def sanitize(html: str) -> Markup:
    cleaned = nh3.clean(html, tags=SHOWN_TAGS, clean_content_tags={"script", "style", "title"},
                        url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow")
    return Markup(cleaned)  # noqa: S704 (nh3's output is the sanitised HTML we mean to show)


@dataclass
class Shown:
    headers: list[tuple[str, str]]
    text: str | None = None
    html: Markup | None = None
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (file name, content type)


def render_message(raw: bytes) -> Shown:
    message = parse(raw)
    shown = Shown(headers=[(name, header(message, name)) for name in dict.fromkeys(message.keys())])
    for count, part in enumerate(message.walk()):
        if count >= MAX_PARTS:
            break
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if part.get_content_disposition() == "attachment" or not kind.startswith("text/"):
            shown.attachments.append((part.get_filename() or "", kind))
        elif kind == "text/plain" and shown.text is None:
            shown.text = part_text(part)  # type: ignore[arg-type]
        elif kind == "text/html" and shown.html is None:
            shown.html = sanitize(part_text(part))  # type: ignore[arg-type]
    return shown
