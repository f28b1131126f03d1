"""PDF: page texts separated by blank lines, /Title as title."""

from __future__ import annotations

import io
import re
from typing import Any

from attache.index.documents.base import Meta, Skip, short_error
from attache.index.documents.clean import clean_plain_text, first_line, strip
from attache.index.documents.metadata import clean_field


def extract(data: bytes) -> tuple[str, Meta]:
    """PDF: page texts separated by blank lines, /Title as title."""
    if b"%PDF-" not in data[:1024]:
        raise Skip("not a PDF file")
    reader = _open_pdf(data)
    pages, error = _pdf_pages(reader)
    raw = "\n\n".join(pages)
    if not strip(raw):
        if error:
            raise Skip(f"corrupt PDF: {error}")
        raise Skip("no extractable text in PDF")
    text = clean_plain_text(raw)
    if not text:
        raise Skip("no text after cleaning")
    return text, Meta(title=_pdf_title(reader) or first_line(text))


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


def _pdf_pages(reader: Any) -> tuple[list[str], str | None]:
    """Text of each page, and the first error met (if any)."""
    try:
        pages = list(reader.pages)
    except Exception as exc:
        return [], short_error(exc)
    texts: list[str] = []
    error: str | None = None
    for page in pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception as exc:  # keep the readable pages
            error = error or short_error(exc)
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
