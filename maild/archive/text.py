"""The searchable text of a message: its subject and the text of its text/plain and text/html parts.

Hostile MIME (bad charsets, broken encodings, absurd nesting) yields less text, never an error:
capture must not refuse a message the mailboxes accept.
"""
from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser

MAX_TEXT = 1_000_000  # characters indexed per message; the rest of a huge body is not searchable
MAX_PARTS = 500


@dataclass(frozen=True)
class MessageText:
    subject: str
    body: str


class _HtmlText(HTMLParser):
    """Visible text of an HTML document: tags dropped, script and style contents skipped."""

    SKIPPED = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.chunks).split())


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[return-value]


def header(message: EmailMessage, name: str) -> str:
    """A decoded header value, "" when absent or undecodable."""
    try:
        return str(message.get(name, "") or "")
    except (ValueError, TypeError, LookupError):
        return str(message.get_all(name, [""])[0])


def part_text(part: EmailMessage) -> str:
    """The decoded text of one text/* part ("" for a charset or encoding Python cannot read)."""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError, UnicodeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def extract(raw: bytes) -> MessageText:
    message = parse(raw)
    chunks: list[str] = []
    for count, part in enumerate(message.walk()):
        if count >= MAX_PARTS:
            break
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            chunks.append(part_text(part))  # type: ignore[arg-type]
        elif kind == "text/html":
            chunks.append(html_to_text(part_text(part)))  # type: ignore[arg-type]
    return MessageText(subject=header(message, "subject"), body="\n".join(chunks)[:MAX_TEXT])


def _wide(character: str) -> bool:
    """Kana, CJK ideographs and full-width forms: scripts written without spaces between words."""
    return character >= "\u3040" and character.isalnum()


def pairs(text: str) -> str:
    """Every two-character sequence of the text's runs of Japanese (and other CJK) characters,
    space separated: a word index over these finds two-character terms, which trigrams cannot."""
    found: list[str] = []
    run: list[str] = []
    for character in text[:MAX_TEXT] + " ":
        if _wide(character):
            run.append(character)
            continue
        found.extend(run[i] + run[i + 1] for i in range(len(run) - 1))
        run = []
    return " ".join(found)
