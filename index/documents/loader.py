"""Loading: the bytes of one file turned into a Document, or the reason it is skipped."""

from __future__ import annotations

from pathlib import PurePosixPath

from attache.index.documents.base import (
    KINDS,
    Document,
    Skip,
    Skipped,
    SourceFile,
    short_error,
)
from attache.index.documents.clean import strip
from attache.index.documents.decode import decode
from attache.index.documents.formats import html as html_format
from attache.index.documents.formats import markdown as markdown_format
from attache.index.documents.formats import pdf as pdf_format
from attache.index.documents.formats import text as text_format
from attache.index.documents.limits import MAX_TEXT_CHARS, check_text, text_cap
from attache.index.documents.metadata import finish, text_metadata

_EXTRACTORS = {
    "txt": text_format.extract,
    "md": markdown_format.extract,
    "html": html_format.extract,
}


def load(file: SourceFile, data: bytes, max_chars: int = MAX_TEXT_CHARS) -> Document | Skipped:
    """Turn the bytes of a file into a Document, or say why not. Never raises.

    The text is capped (see limits.text_cap): past the cap the file is skipped.
    """
    try:
        return _load(file, bytes(data), max_chars)
    except Skip as skip:
        return Skipped(file.source, skip.reason)
    except Exception as exc:  # any input must give a result
        return Skipped(file.source, f"could not extract text: {short_error(exc)}")


def _load(file: SourceFile, data: bytes, max_chars: int) -> Document:
    """Body of :func:`load`; raises Skip for the expected failures."""
    source = file.source or file.path.name
    suffix = PurePosixPath(source).suffix.lower()
    kind = KINDS.get(suffix)
    if kind is None:
        raise Skip(f"unsupported type '{suffix}'" if suffix else "unsupported type (no extension)")
    if not data.strip(b" \t\r\n\x0b\x0c"):
        raise Skip("empty file")
    cap = text_cap(kind, len(data), max_chars)
    if kind == "pdf":
        done, meta = pdf_format.extract(data, cap)
    else:
        raw = decode(data, html=kind == "html")
        if not strip(raw):
            raise Skip("empty file")
        done, meta = _EXTRACTORS[kind](raw)
    text = done.text
    if not text:
        raise Skip("no text after cleaning")
    check_text(len(text), cap)
    finish(meta)
    meta.fill(text_metadata(text))
    title = meta.title or PurePosixPath(source).stem
    return Document(
        source=source,
        title=title,
        text=text,
        kind=kind,
        outlet=meta.outlet,
        author=meta.author,
        date=meta.date,
        headings=done.headings,
        items=done.items,
        links=done.links,
        pages=done.pages,
        url=meta.url,
    )
