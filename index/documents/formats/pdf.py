"""PDF: the text of the pages as a reader reads it, /Title as title.

The typesetter's layout goes: wrapped lines are joined into paragraphs, also across
page breaks; a hyphen at a line end is undone ("coopera-" "tion"), unless the word is
a compound; running headers and footers (lines repeated at the top or bottom of most
pages) and page numbers are dropped. Each page's start in the clean text is kept.
"""

from __future__ import annotations

import io
import re
from typing import Any

from attache.index.documents.base import Meta, Skip, short_error
from attache.index.documents.clean import LIST_MARKER, first_line, join_lines, normalise, strip
from attache.index.documents.limits import check_text
from attache.index.documents.metadata import clean_field
from attache.index.documents.structure import Assembled, Block, assemble


def extract(data: bytes, cap: int | None = None) -> tuple[Assembled, Meta]:
    """PDF: paragraphs of the pages' text, /Title as title; more than ``cap`` characters
    of page text skip the file."""
    if b"%PDF-" not in data[:1024]:
        raise Skip("not a PDF file")
    reader = _open_pdf(data)
    pages, error = _pdf_pages(reader, cap)
    if not strip("\n".join(pages)):
        if error:
            raise Skip(f"corrupt PDF: {error}")
        raise Skip("no extractable text in PDF")
    done = assemble(paragraphs(pages))
    if not done.text:
        raise Skip("no text after cleaning")
    return done, Meta(title=_pdf_title(reader) or first_line(done.text))


_EDGE_LINES = 3  # lines at the top and the bottom of a page where furniture sits
_PAGE_NUMBER = re.compile(
    r"^(?:page\s++)?[-–—]?\s*+(?:\d{1,4}|(?-i:[ivx]{1,5}))\s*+[-–—]?(?:\s*+(?:of|/)\s*+\d{1,4})?$",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.!?…:][\"'”’»)\]]*$")
_FULL_LINE = 0.8  # a sentence ending on a line shorter than this share ends a paragraph


def paragraphs(pages: list[str]) -> list[Block]:
    """Blocks of the pages' text: furniture dropped, wrapped lines joined."""
    lines = _body_lines([_page_lines(p) for p in pages])
    if not lines:
        return []
    lengths = sorted(len(text) for text, _ in lines)
    width = lengths[round(0.9 * (len(lengths) - 1))]
    context = "\n".join(text for text, _ in lines)
    blocks: list[Block] = []
    current: Block | None = None
    previous = ""
    # A block's text is kept as pieces while it grows (joined once, in linear time).
    pieces: list[str] = []
    size = 0
    for text, page in lines:
        if current is not None and _continues(previous, text, width):
            joined = join_lines(pieces[-1], text, context)
            size += len(joined) - len(pieces[-1])
            pieces[-1] = joined[: len(joined) - len(text)]
            pieces.append(text)
            if page != current.pages[-1][1]:
                current.pages.append((size - len(text), page))
        else:
            if current is not None:
                current.text = "".join(pieces)
            current = Block("paragraph", text, pages=[(0, page)])
            blocks.append(current)
            pieces, size = [text], len(text)
        previous = text
    if current is not None:
        current.text = "".join(pieces)
    return blocks


def _page_lines(text: str) -> list[str]:
    return [line for line in (strip(x) for x in normalise(text).split("\n"))]


def _body_lines(pages: list[list[str]]) -> list[tuple[str, int]]:
    """The lines of every page but running headers, footers and page numbers,
    with their 1-based page; a blank line stays as an empty line."""
    counts: dict[str, int] = {}
    for lines in pages:
        for key in {_furniture_key(x) for x in _edges(lines)}:
            counts[key] = counts.get(key, 0) + 1
    repeated = {k for k, n in counts.items() if len(pages) >= 2 and n >= max(2, len(pages) / 2)}
    body: list[tuple[str, int]] = []
    for number, lines in enumerate(pages, 1):
        edges = set(_edge_indexes(lines))
        kept = [
            line
            for i, line in enumerate(lines)
            if not (i in edges and (_PAGE_NUMBER.match(line) or _furniture_key(line) in repeated))
        ]
        # a page break is no paragraph break: no blank lines at a page's edges
        while kept and not kept[-1]:
            kept.pop()
        first = next((i for i, line in enumerate(kept) if line), len(kept))
        body.extend((line, number) for line in kept[first:])
    return body


def _edge_indexes(lines: list[str]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line]
    return filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]


def _edges(lines: list[str]) -> list[str]:
    return [lines[i] for i in _edge_indexes(lines)]


def _furniture_key(line: str) -> str:
    """A line compared across pages: case, spacing and numbers ignored."""
    return _DIGITS.sub("#", " ".join(line.lower().split()))


def _continues(previous: str, line: str, width: int) -> bool:
    """Whether `line` continues the paragraph whose last line is `previous`."""
    if not previous or not line or LIST_MARKER.match(line):
        return False
    if len(previous) >= _FULL_LINE * width:
        return True
    # a shorter line ends its paragraph, unless a sentence runs on in lower case
    return line[:1].islower() and not _SENTENCE_END.search(previous)


def _open_pdf(data: bytes) -> Any:
    """Open a PDF with pypdf, decrypting it with an empty password if needed."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except Exception as exc:  # any parser failure means corrupt
        raise Skip(f"corrupt PDF: {short_error(exc)}") from None
    try:
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise Skip(f"corrupt PDF: {short_error(exc)}") from None
    if encrypted:
        try:
            opened = reader.decrypt("")
        except Exception:  # unsupported or wrong password
            raise Skip("encrypted PDF") from None
        if not opened:
            raise Skip("encrypted PDF")
    return reader


def _pdf_pages(reader: Any, cap: int | None = None) -> tuple[list[str], str | None]:
    """Text of each page, and the first error met (if any)."""
    try:
        pages = list(reader.pages)
    except Exception as exc:
        return [], short_error(exc)
    texts: list[str] = []
    error: str | None = None
    total = 0
    for page in pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception as exc:  # keep the readable pages
            error = error or short_error(exc)
            continue
        total += len(texts[-1])
        check_text(total, cap)
    if not pages and error is None:
        error = "no pages"
    return texts, error


_PLACEHOLDER_TITLE = re.compile(
    r"^(?:untitled.*|microsoft (?:word|powerpoint) - .*|.*\.(?:docx?|pdf|txt|rtf|odt|pptx?))$",
    re.IGNORECASE,
)


def _pdf_title(reader: Any) -> str | None:
    """The document info /Title, unless empty or a placeholder."""
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except Exception:  # info is optional
        return None
    title = clean_field(str(title)) if title is not None else None
    if not title or _PLACEHOLDER_TITLE.match(title):
        return None
    return title
