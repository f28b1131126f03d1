"""The records of the documents package: files found, files skipped, documents loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from attache.index.documents.structure import Heading, Link, ListItem, PageMark


@dataclass(frozen=True)
class SourceFile:
    """A candidate file found in the documents folder.

    ``source`` is the safe, printable name it is indexed and shown under; ``root`` and
    ``parts`` (the folder and the raw path components, as the OS gave them) are what
    reading opens, checking again what discovery saw.
    """

    path: Path
    source: str
    size: int
    root: Path | None = None
    parts: tuple[str, ...] = ()
    mtime_ns: int = -1  # its modification time when discovered (-1: unknown)


@dataclass(frozen=True)
class Skipped:
    """A file left out of the index, with a short human reason."""

    path: str
    reason: str


@dataclass(frozen=True)
class Document:
    """The clean text of one file and what is known about it."""

    source: str
    title: str
    text: str
    kind: str
    outlet: str | None = None
    author: str | None = None
    date: str | None = None
    # Structure, as offsets into `text` (see index.documents.structure)
    headings: tuple[Heading, ...] = ()
    items: tuple[ListItem, ...] = ()
    links: tuple[Link, ...] = ()
    pages: tuple[PageMark, ...] = ()  # PDF: where each page's text starts
    url: str | None = None  # where the article can be read (front matter `url`)


SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}

KINDS = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


@dataclass
class Meta:
    """Metadata gathered while loading a document."""

    title: str | None = None
    author: str | None = None
    outlet: str | None = None
    date: str | None = None
    url: str | None = None

    def fill(self, other: Meta) -> None:
        """Take the fields of ``other`` that are still missing here."""
        self.title = self.title or other.title
        self.author = self.author or other.author
        self.outlet = self.outlet or other.outlet
        self.date = self.date or other.date


class Skip(Exception):
    """Internal signal: the file is skipped for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def short_error(exc: BaseException, limit: int = 120) -> str:
    """One-line, bounded description of an exception."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
