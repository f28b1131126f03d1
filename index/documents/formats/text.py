"""Plain text: clean it; the first line is the title."""

from __future__ import annotations

from attache.index.documents.base import Meta
from attache.index.documents.clean import clean_plain_text, first_line


def extract(raw: str) -> tuple[str, Meta]:
    """Plain text: clean it; the first line is the title."""
    text = clean_plain_text(raw)
    return text, Meta(title=first_line(text))
