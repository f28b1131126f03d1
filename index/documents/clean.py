"""Cleaning: unified newlines, no control characters, no web boilerplate lines."""

from __future__ import annotations

import re
from functools import lru_cache

NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Linear: a trailing run is tried once, from its start (no retry inside a long run).
_EDGE_SPACE = re.compile(
    r"^[\s\u200b-\u200d\u2060\ufeff]++"
    r"|(?<![\s\u200b-\u200d\u2060\ufeff])[\s\u200b-\u200d\u2060\ufeff]++$"
)
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
_COPYRIGHT = re.compile(r"^(?:©|copyright\s*+(?:(?:©|\(c\))\s*+)?\d{4})", re.IGNORECASE)
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


def is_boilerplate(line: str) -> bool:
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
        if not line or not (is_boilerplate(line) or _is_alt_text(line, after))
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


LIST_MARKER = re.compile(r"^(?:[-*•–▪◦]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s")
_WRAPPED_MIN_WIDTH = 40  # lines narrower than this were not wrapped by a tool
_WRAPPED_MAX_WIDTH = 100  # nor were lines wider than this
_FIELD = re.compile(r"^[A-Z][\w ]{0,24}:\s")  # "Date: 2023-03-27", a line of its own
_SHORT_LINE = 0.6  # a line shorter than this share of the paragraph's width ends on purpose
_NUMBER_WORDS = frozenset(
    "twenty thirty forty fifty sixty seventy eighty ninety".split()
)
_HYPHENATED = re.compile(r"(\w+)-$")
_HYPHEN_TAIL = 200  # the end of a line a hyphenated word is looked for in
# Hyphenated forms of a text, e.g. "co-operation": runs tried once, from their start.
_COMPOUND = re.compile(r"(?<![\w-])\w++(?:-\w++)+")


def reflow(text: str) -> str:
    """Join hard-wrapped lines within each paragraph (a blank line ends a paragraph).

    A line is kept on its own when it is a list item or a "Field: value" line, when it
    is clearly shorter than the paragraph's other lines (a title, the end of a
    deliberate line), or longer than any wrapping tool makes them.
    """
    return "\n\n".join(
        "\n".join(join_wrapped(paragraph.split("\n"), text)) for paragraph in text.split("\n\n")
    )


def join_wrapped(lines: list[str], context: str = "") -> list[str]:
    """The lines of one paragraph with wrapped lines joined (see `reflow`)."""
    lines = [line for line in lines if line]
    wrapped = [len(line) for line in lines if len(line) <= _WRAPPED_MAX_WIDTH]
    if len(lines) < 2 or not wrapped:
        return lines
    width = max(wrapped)
    if width < _WRAPPED_MIN_WIDTH:
        return lines
    # Each output line is kept as its pieces: joining never copies the whole line so far.
    out = [[lines[0]]]
    for previous, line in zip(lines, lines[1:]):
        if (
            LIST_MARKER.match(line)
            or _FIELD.match(line)
            or not _SHORT_LINE * width <= len(previous) <= _WRAPPED_MAX_WIDTH
        ):
            out.append([line])
        else:
            pieces = out[-1]
            joined = join_lines(pieces[-1], line, context)
            pieces[-1] = joined[: len(joined) - len(line)]
            pieces.append(line)
    return ["".join(pieces) for pieces in out]


def join_lines(before: str, after: str, context: str = "") -> str:
    """Join two wrapped lines: a space between them, or a line-end hyphen undone
    ("coopera-" + "tion"). A hyphen stays when the word is a compound: a number
    word ("twenty-" + "four"), a capitalised part ("Euro-" + "Atlantic"), or a form
    hyphenated elsewhere in `context`."""
    # Only the end of `before` is looked at: a long paragraph is joined in linear time.
    match = _HYPHENATED.search(before[-_HYPHEN_TAIL:]) if before.endswith("-") else None
    if match and after[:1].isupper():
        return before + after  # "Euro-" "Atlantic"
    if match and after[:1].islower():
        head = match.group(1)
        tail = re.match(r"\w+", after)
        word = tail.group(0) if tail else ""
        if head.lower() in _NUMBER_WORDS or (word and f"{head}-{word}" in _compounds(context)):
            return before + after
        return before[:-1] + after
    return f"{before} {after}"


@lru_cache(maxsize=4)
def _compounds(context: str) -> frozenset[str]:
    """Every pair of words joined by a hyphen in ``context`` ("a-b-c": "a-b", "b-c"),
    found once per text rather than searched for at every line end."""
    pairs: set[str] = set()
    for match in _COMPOUND.finditer(context):
        words = match.group(0).split("-")
        pairs.update(f"{a}-{b}" for a, b in zip(words, words[1:]))
    return frozenset(pairs)


def normalise(text: str) -> str:
    """Unified newlines, no stray control characters."""
    return _STRAY_CONTROL.sub("", NEWLINES.sub("\n", text))
