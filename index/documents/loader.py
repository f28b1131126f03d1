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
from attache.index.documents.metadata import finish_title, text_metadata

_EXTRACTORS = {
    "txt": text_format.extract,
    "md": markdown_format.extract,
    "html": html_format.extract,
}


def load(file: SourceFile, data: bytes) -> Document | Skipped:
    """Turn the bytes of a file into a Document, or say why not. Never raises."""
    try:
        return _load(file, bytes(data))
    except Skip as skip:
        return Skipped(file.source, skip.reason)
    except Exception as exc:  # any input must give a result
        return Skipped(file.source, f"could not extract text: {short_error(exc)}")


def _load(file: SourceFile, data: bytes) -> Document:
    """Body of :func:`load`; raises Skip for the expected failures."""
    source = file.source or file.path.name
    suffix = PurePosixPath(source).suffix.lower()
    kind = KINDS.get(suffix)
    if kind is None:
        raise Skip(f"unsupported type '{suffix}'" if suffix else "unsupported type (no extension)")
    if not data.strip(b" \t\r\n\x0b\x0c"):
        raise Skip("empty file")
    if kind == "pdf":
        text, meta = pdf_format.extract(data)
    else:
        raw = decode(data, html=kind == "html")
        if not strip(raw):
            raise Skip("empty file")
        text, meta = _EXTRACTORS[kind](raw)
        if not text:
            raise Skip("no text after cleaning")
    finish_title(meta)
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
        url=meta.url,
    )
