"""Discover the files of a documents folder and turn them into clean text.

discover (walk, links, size) → read (safe open) → load: decode, extract by format
(formats/: text, markdown, html, pdf), clean boilerplate, gather metadata.
"""

from attache.index.documents.base import (
    SUPPORTED_SUFFIXES,
    Document,
    Skipped,
    SourceFile,
)
from attache.index.documents.clean import clean_plain_text
from attache.index.documents.discover import discover
from attache.index.documents.loader import load
from attache.index.documents.read import read

from attache.errors import DocumentsFolderError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Document",
    "DocumentsFolderError",
    "Skipped",
    "SourceFile",
    "clean_plain_text",
    "discover",
    "load",
    "read",
]
