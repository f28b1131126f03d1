"""Markdown: front matter as metadata, the first '# ' heading as title."""

from __future__ import annotations

import re

from attache.index.documents.base import Meta
from attache.index.documents.clean import NEWLINES, clean_plain_text, first_line, strip
from attache.index.documents.metadata import find_date


def extract(raw: str) -> tuple[str, Meta]:
    """Markdown: front matter as metadata, the first '# ' heading as title."""
    body, meta = _front_matter(raw)
    text = clean_plain_text(body)
    if not meta.title:
        meta.title = _md_heading(text) or _plain_md(first_line(text))
    return text, meta


_FRONT_KEYS = {
    "title": "title",
    "author": "author",
    "authors": "author",
    "by": "author",
    "date": "date",
    "published": "date",
    "pubdate": "date",
    "outlet": "outlet",
    "source": "outlet",
    "publication": "outlet",
    "publisher": "outlet",
    "sitename": "outlet",
    "site": "outlet",
    "url": "url",
}


def _front_matter(raw: str) -> tuple[str, Meta]:
    """Split a YAML-style front matter block off a markdown text."""
    meta = Meta()
    lines = NEWLINES.sub("\n", raw).split("\n")
    if not lines or strip(lines[0]) != "---":
        return raw, meta
    closing = next(
        (i for i, line in enumerate(lines[1:60], 1) if strip(line) in {"---", "..."}), None
    )
    if closing is None:
        return raw, meta
    for line in lines[1:closing]:
        key, sep, value = line.partition(":")
        target = _FRONT_KEYS.get(key.strip().lower())
        value = _front_value(value)
        if not sep or not target or not value:
            continue
        if target == "url" and not value.lower().startswith(("http://", "https://")):
            continue
        if target == "date":
            found = find_date(value)
            value = found[2] if found else ""
        if value and not getattr(meta, target):
            setattr(meta, target, value)
    return "\n".join(lines[closing + 1 :]), meta


def _front_value(value: str) -> str:
    """A front matter value: a JSON/YAML double-quoted string decoded, else unquoted."""
    value = value.strip()
    if len(value) > 1 and value[0] == value[-1] == '"':
        import json

        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):
            return " ".join(decoded.split())
    return value.strip("\"'").strip()


_MD_HEADING = re.compile(r"^#\s+(.+?)(?:\s+#+)?$")


def _md_heading(text: str) -> str | None:
    """Text of the first level-one ATX heading."""
    for line in text.split("\n"):
        match = _MD_HEADING.match(line)
        if match:
            return _plain_md(match.group(1))
    return None


def _plain_md(line: str | None) -> str | None:
    """A markdown line without heading marks or surrounding emphasis."""
    if not line:
        return line
    line = re.sub(r"^#+\s*", "", line)
    line = re.sub(r"^(\*\*|__|\*|_)(.+)\1$", r"\2", line)
    return strip(line) or None
