"""Called once by the extraction worker (see worker.py): the extraction libraries and the
tokenizer are loaded before the first file, not within its time budget."""

from __future__ import annotations

import contextlib


def warm() -> None:
    from attache.index.chunking import count_tokens
    from attache.index.documents.loader import load  # noqa: F401

    with contextlib.suppress(Exception):  # optional here: a missing library fails per file
        import lxml.html  # noqa: F401
        import pypdf  # noqa: F401
        import trafilatura  # noqa: F401
    with contextlib.suppress(Exception):
        count_tokens("warm")
