"""Reading: the bytes of a discovered file, or why they could not be read."""

from __future__ import annotations

from attache.index.documents.base import Skipped, SourceFile
from attache.index.documents.discover import os_reason


def read(file: SourceFile) -> bytes | Skipped:
    """The raw bytes of a file, or why they could not be read."""
    try:
        return file.path.read_bytes()
    except OSError as exc:
        return Skipped(file.source, f"unreadable: {os_reason(exc)}")
