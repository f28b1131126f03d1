"""Cleaning: unified newlines, no control characters, no web boilerplate lines."""

from __future__ import annotations

import re

NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_EDGE_SPACE = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$")
_STRAY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")

_BOILERPLATE = re.compile(
    r"^[\W_]*(?:"
    r"connect with us|click to comment|leave a (?:reply|comment)(?: cancel reply)?|cancel reply"
    r"|your email(?: address)? will not be published(?:\W+required fields are (?:marked|indicated)(?: with)?)?"
    r"|required fields are (?:marked|indicated)(?: with)?"
    r"|save my name,? email,? and website in this browser for the next time i comment"
    r"|latest news|latest stories|related (?:posts?|articles?|stories|news|content)"
    r"|you may also like|recommended(?: for you)?|more stories|trending(?: now)?|most (?:read|popular)"
    r"|read more|read next|continue reading|share this(?: article| story| post| page)?"
    r"|share (?:on|via) (?:facebook|twitter|x|linkedin|whatsapp|email)|share|tweet|print"
    r"|subscribe(?: now| today| to (?:our|the) newsletter)?|sign up for (?:our|the) newsletter"
    r"|advertisement|advertise with us|sponsored(?: content)?|skip to (?:main )?content"
    r"|all rights reserved"
    r")[\W_]*$",
    re.IGNORECASE,
)
_COOKIE = re.compile(
    r"^[\W_]*(?:we(?: and our partners)? use cookies|this (?:web)?site uses cookies"
    r"|by (?:continuing to (?:use|browse)|using) (?:this|our) (?:web)?site"
    r"|(?:accept|reject|manage) (?:all )?cookies|cookie (?:settings|policy|preferences|consent))",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"^(?:©|copyright\s*(?:©|\(c\))?\s*\d{4})", re.IGNORECASE)
_CREDIT_PHRASE = re.compile(
    r"\b(?:image|photo|picture|photograph|illustration)s?\s+(?:credit|courtesy|source)s?\b",
    re.IGNORECASE,
)
_CREDIT_LINE = re.compile(
    r"^[(\[]?\s*(?:(?:image|photo|picture|photograph)s?(?:\s+by)?|credit)\s*[:|]",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")
_FOOTER_WORDS = 8


def clean_plain_text(text: str) -> str:
    """Normalise whitespace and drop web boilerplate lines from article text."""
    lines = _lines(text)
    lines = _drop_boilerplate(lines)
    lines = _drop_footer(lines)
    return _join(lines)


def _lines(text: str) -> list[str]:
    """Lines with unified newlines, no control characters, stripped edges."""
    text = _STRAY_CONTROL.sub("", NEWLINES.sub("\n", text))
    return [strip(line) for line in text.split("\n")]


def strip(text: str) -> str:
    """Strip whitespace, NBSP and zero-width characters at both ends."""
    return _EDGE_SPACE.sub("", text)


def _join(lines: list[str]) -> str:
    """Join lines, one blank line at most between paragraphs, none at the ends."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _is_boilerplate(line: str) -> bool:
    """Whether a whole line is web page furniture rather than article text."""
    flat = " ".join(line.split())
    words = len(flat.split())
    if _BOILERPLATE.match(flat):
        return True
    if words <= 80 and _COOKIE.match(flat):
        return True
    if words <= 20 and _COPYRIGHT.match(flat):
        return True
    return _is_credit(flat)


def _is_credit(line: str) -> bool:
    """An image or photo credit line."""
    words = len(line.split())
    if words <= 25 and _CREDIT_PHRASE.search(line):
        return True
    return words <= 12 and bool(_CREDIT_LINE.match(line))


def _drop_boilerplate(lines: list[str]) -> list[str]:
    """Remove boilerplate lines and image alt text repeated in a credit line."""
    following = _following_text_lines(lines)
    return [
        line
        for line, after in zip(lines, following)
        if not line or not (_is_boilerplate(line) or _is_alt_text(line, after))
    ]


def _following_text_lines(lines: list[str]) -> list[str]:
    """For each line, the next non-blank line after it ('' if none)."""
    following: list[str] = []
    after = ""
    for line in reversed(lines):
        following.append(after)
        if line:
            after = line
    following.reverse()
    return following


def _is_alt_text(line: str, following: str) -> bool:
    """Alt text: a line repeated by the next line with a credit appended."""
    return (
        len(following) > len(line)
        and following.startswith(line)
        and _is_credit(following)
        and not _is_credit(line)
    )


def _drop_footer(lines: list[str]) -> list[str]:
    """Drop short, unpunctuated lines after the last sentence of the text."""
    last = max((i for i, line in enumerate(lines) if _SENTENCE_END.search(line)), default=-1)
    if last < 0:
        return lines
    end = len(lines)
    while end - 1 > last and _is_footer_line(lines[end - 1]):
        end -= 1
    return lines[:end]


def _is_footer_line(line: str) -> bool:
    """Blank, or a short line that does not end a sentence (tables excepted)."""
    if not line:
        return True
    if line.startswith("|") and line.endswith("|"):
        return False
    return len(line.split()) < _FOOTER_WORDS and not _SENTENCE_END.search(line)


def first_line(text: str) -> str | None:
    """The first non-empty line of a text."""
    return next((line for line in text.split("\n") if line), None)
