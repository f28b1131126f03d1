"""Metadata: title, byline, outlet and date from a document's own text."""

from __future__ import annotations

import datetime as dt
import re

from attache.index.documents.base import Meta
from attache.index.documents.clean import strip

_TITLE_BYLINE = re.compile(
    r"^(?P<title>.*?\S)\s*\(\s*(?P<author>[^()/]{2,60}?)\s*/\s*(?P<outlet>[^()/]{2,60}?)\s*\)$"
)
# A 'By' line: the name runs to the first separator, the rest follows it. Matched in
# two linear steps (see _byline): one pattern with a lazy name before optional spaces
# and an optional tail backtracked quadratically on long runs of spaces.
_BYLINE_START = re.compile(r"(?:By|BY)[:\s]\s*+")
_BYLINE_SEPARATOR = re.compile(r"[,|•·–—(]")
_NAME_LINKS = {"and", "de", "van", "von", "der", "den", "da", "di", "du", "del", "la", "le", "bin", "al", "&"}
_DATE_LABEL = re.compile(
    r"^(?:published|posted|date|dated|updated|last updated|first published|publication date)"
    r"(?:\s+on)?\s*[:\-–—]?\s*(?P<rest>.+)$",
    re.IGNORECASE,
)
_AGENCY = r"(AFP|Agence France-Presse|Reuters|Associated Press|AP)"
_AGENCY_MENTION = re.compile(
    rf"\(\s*{_AGENCY}\s*\)"
    rf"|\b(?:obtained|seen|reviewed|confirmed) by (?:the )?{_AGENCY}\b"
    rf"|\btold (?:the )?{_AGENCY}\b"
    rf"|\b{_AGENCY} news agency\b"
)
_AGENCY_NAMES = {
    "afp": "AFP",
    "agence france-presse": "AFP",
    "reuters": "Reuters",
    "ap": "AP",
    "associated press": "Associated Press",
}
_TOP_LINES = 15
_AGENCY_SPAN = 3000
_TITLE_LIMIT = 200


def text_metadata(text: str) -> Meta:
    """Metadata the text itself gives: 'By' line, dates, news agency."""
    meta = Meta()
    lines = [line for line in text.split("\n") if line][:_TOP_LINES]
    for line in lines:
        _read_byline(line, meta)
        if not meta.date:
            meta.date = _labelled_date(line) or _dateline_date(line)
    meta.outlet = meta.outlet or _agency(text[:_AGENCY_SPAN])
    return meta


# The keys of a metadata block (Markdown front matter, or "Key: value" lines atop a text
# file), lower-cased with "_" and "-" read as spaces, and the field each fills.
FIELD_KEYS = {
    "title": "title",
    "headline": "title",
    "author": "author",
    "authors": "author",
    "by": "author",
    "byline": "author",
    "date": "date",
    "published": "date",
    "pubdate": "date",
    "published time": "date",
    "published at": "date",
    "publication date": "date",
    "date published": "date",
    "outlet": "outlet",
    "source": "outlet",
    "publication": "outlet",
    "publisher": "outlet",
    "sitename": "outlet",
    "site": "outlet",
    "site name": "outlet",
    "url": "url",
    "link": "url",
    "source url": "url",
    "canonical url": "url",
    "original url": "url",
}
_WEB_ADDRESS = re.compile(r"https?://\S+\Z", re.IGNORECASE)
_TRAILING_ASIDE = re.compile(r"\s*\([^()]*\)\Z")
_FIELD_LIMIT = 300
_HEADER_FIELD = re.compile(r"(?P<key>[A-Za-z][A-Za-z _-]{0,23}?)[ \t]*:[ \t]+(?P<value>\S.*)")
_HEADER_LINES = 12


def field_block(lines: list[str]) -> list[re.Match[str]] | None:
    """The fields of lines that make a metadata block, each matched (groups `key` and
    `value`): every line a "Key: value" field, two of them known (see `FIELD_KEYS`).
    None for any other lines."""
    fields = [found for line in lines if (found := _HEADER_FIELD.fullmatch(line))]
    if len(fields) < len(lines) or sum(field_key(f["key"]) in FIELD_KEYS for f in fields) < 2:
        return None
    return fields


def field_key(key: str) -> str:
    """A metadata key as `FIELD_KEYS` spells it."""
    return " ".join(key.lower().replace("_", " ").replace("-", " ").split())


def set_field(meta: Meta, key: str, value: object) -> None:
    """Fill the field a metadata key names, if it is still empty. A web address given as
    the source or publisher is the document's URL (and a URL field only takes one); a
    date becomes ISO; an outlet loses a trailing aside in parentheses."""
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    target = FIELD_KEYS.get(field_key(key))
    text = clean_field(value)
    if target is None or text is None:
        return
    if _WEB_ADDRESS.match(text):
        target = "url" if target in ("url", "outlet") else target
    elif target == "url":
        return
    if target == "date":
        found = find_date(text)
        text = found[2] if found else None
    elif target == "outlet":
        text = _TRAILING_ASIDE.sub("", text) or text
    if text and not getattr(meta, target):
        setattr(meta, target, text[:_FIELD_LIMIT])


def header_block(text: str) -> tuple[str, Meta]:
    """Split a metadata header off the top of a plain text: lines of "Title: …",
    "Date: …", "Source: …" before the first blank line, as converted articles and saved
    pages carry. Every line of the block must be such a field and two of them must be
    known (see `FIELD_KEYS`); otherwise, or when nothing follows the block, the text is
    returned whole with empty metadata."""
    lead = len(text) - len(text.lstrip("\n"))
    end = text.find("\n\n", lead)
    if end < 0 or not text[end:].strip():
        return text, Meta()
    lines = text[lead:end].split("\n", _HEADER_LINES)
    if not 2 <= len(lines) <= _HEADER_LINES:
        return text, Meta()
    fields = field_block(lines)
    if fields is None:
        return text, Meta()
    meta = Meta()
    for found in fields:
        set_field(meta, found["key"], found["value"])
    return text[end:].lstrip("\n"), meta


_PLACEHOLDER_AUTHORS = frozenset({"author", "authors", "admin", "administrator", "anonymous", "unknown"})


def finish(meta: Meta) -> None:
    """Split a '(Name / Outlet)' byline off the title and bound its length; drop an
    author that is only a page's placeholder ("Author", "admin")."""
    if meta.author and meta.author.strip(" .:").lower() in _PLACEHOLDER_AUTHORS:
        meta.author = None
    if not meta.title:
        return
    title = strip(" ".join(meta.title.split()))
    match = _TITLE_BYLINE.match(title)
    if match and _looks_like_name(match.group("author")) and len(match.group("outlet").split()) <= 6:
        title = strip(match.group("title"))
        meta.author = meta.author or strip(match.group("author"))
        meta.outlet = meta.outlet or strip(match.group("outlet"))
    if len(title) > _TITLE_LIMIT:
        title = title[:_TITLE_LIMIT].rsplit(" ", 1)[0].rstrip(" ,;:-–—") + "…"
    meta.title = title or None


def _read_byline(line: str, meta: Meta) -> None:
    """Take author (and date or agency) from a 'By Jane Doe' line."""
    if meta.author:
        return
    parts = _byline(line)
    if parts is None:
        return
    name, rest = parts
    agency = _AGENCY_NAMES.get(name.lower())
    if agency:
        meta.outlet = meta.outlet or agency
        return
    if not _looks_like_name(name):
        return
    meta.author = name
    found = find_date(rest)
    if found and not meta.date:
        meta.date = found[2]
    agency = _AGENCY_NAMES.get(rest.strip(" .)").lower())
    if agency and not meta.outlet:
        meta.outlet = agency


def _byline(line: str) -> tuple[str, str] | None:
    """The name and the rest of a 'By Jane Doe, March 3, 2021' line, else None."""
    start = _BYLINE_START.match(line)
    if not start:
        return None
    body = line[start.end() :]
    separator = _BYLINE_SEPARATOR.search(body)
    if separator is None:
        name, rest = body.rstrip(), ""
    else:
        name, rest = body[: separator.start()].rstrip(), body[separator.end() :].lstrip()
    return (name, rest) if name else None


def _looks_like_name(name: str) -> bool:
    """Two to eight capitalised words, as in a person's name."""
    words = name.split()
    if not 2 <= len(words) <= 8 or any(ch.isdigit() for ch in name):
        return False
    capitalised = [w for w in words if w[0].isupper()]
    return bool(capitalised) and all(w[0].isupper() or w.lower() in _NAME_LINKS for w in words)


def _labelled_date(line: str) -> str | None:
    """Date of a 'Published: March 3, 2021' style line."""
    match = _DATE_LABEL.match(line)
    if not match:
        return None
    found = find_date(match.group("rest"))
    return found[2] if found and found[0] <= 20 else None


_DATELINE_PREFIX = re.compile(r"^[\s(]*(?:[A-Z][\w.'’-]*(?:[ ,]+[A-Z][\w.'’-]*)*)?[\s),:–—-]*$")
_DATELINE_AFTER = re.compile(r"^\s*(?:$|[-–—:|(/]|\d{1,2}:\d{2})")


def _dateline_date(line: str) -> str | None:
    """Date at the start of a dateline, e.g. 'WASHINGTON, March 3, 2021 —'."""
    found = find_date(line)
    if not found:
        return None
    start, end, iso = found
    if start > 40 or not _DATELINE_PREFIX.match(line[:start]):
        return None
    return iso if _DATELINE_AFTER.match(line[end:]) else None


def _agency(text: str) -> str | None:
    """News agency a text credits, e.g. '(AFP)' or 'obtained by AFP'."""
    match = _AGENCY_MENTION.search(text)
    if not match:
        return None
    name = next(group for group in match.groups() if group)
    return _AGENCY_NAMES[name.lower()]


_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
_MONTHS = [name[:3].lower() for name in MONTH_NAMES]
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<year>\d{4})[-/.](?P<mon>\d{1,2})[-/.](?P<day>\d{1,2})(?!\d)"),
    re.compile(
        rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})(?!\d)",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?<!\d)(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?P<year>\d{{4}})(?!\d)",
        re.IGNORECASE,
    ),
)


def find_date(text: str) -> tuple[int, int, str] | None:
    """The first valid calendar date in ``text``: (start, end, ISO date)."""
    best: tuple[int, int, str] | None = None
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            iso = _iso_date(match)
            if iso:
                if best is None or match.start() < best[0]:
                    best = (match.start(), match.end(), iso)
                break
    return best


def _iso_date(match: re.Match[str]) -> str | None:
    """ISO form of a date match, None when it is not a real date."""
    groups = match.groupdict()
    month = int(groups["mon"]) if groups.get("mon") else _MONTHS.index(groups["month"][:3].lower()) + 1
    try:
        day = dt.date(int(groups["year"]), month, int(groups["day"]))
    except ValueError:
        return None
    return day.isoformat() if 1900 <= day.year <= 2100 else None


def clean_field(value: object) -> str | None:
    """A stripped single-line string, or None."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None
