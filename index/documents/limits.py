"""Limits on what one document may turn into: text caps, absolute and per byte of file.

A small file can expand enormously (a 7 KB PDF whose pages repeat one content stream
gave 12.6 million characters), so the text extracted from a file is capped at the
smaller of ``ATTACHE_MAX_TEXT_CHARS`` and a multiple of the file's size, and a file past
its cap is skipped with a reason. The time extraction may take is bounded separately,
per file, by running it in a worker process (:mod:`attache.index.documents.worker`).
"""

from __future__ import annotations

from attache.index.documents.base import Skip

# Default of ATTACHE_MAX_TEXT_CHARS: the most characters of clean text one file may give.
MAX_TEXT_CHARS = 5_000_000
# Characters of text allowed per byte of file. Text formats cannot legitimately exceed
# one character per byte; a PDF's compressed streams give a few; past these it is a bomb.
PDF_CHARS_PER_BYTE = 50
TEXT_CHARS_PER_BYTE = 4
# Small files are allowed at least this much text, whatever their size.
MIN_TEXT_CAP = 100_000


def text_cap(kind: str, size: int, max_chars: int = MAX_TEXT_CHARS) -> int:
    """The most characters of text a file of ``kind`` and ``size`` bytes may give."""
    per_byte = PDF_CHARS_PER_BYTE if kind == "pdf" else TEXT_CHARS_PER_BYTE
    return min(max_chars, max(MIN_TEXT_CAP, per_byte * size))


def check_text(length: int, cap: int | None) -> None:
    """Raise Skip when ``length`` characters of text are past ``cap``."""
    if cap is not None and length > cap:
        raise Skip(f"too much text: over {cap:,} characters extracted (the cap for this file)")
