"""Imported once by the extraction fork server (see worker.py), so that every worker
forked from it starts with the extraction libraries and the tokenizer loaded."""

from __future__ import annotations

import contextlib

from attache.index.chunking import count_tokens
from attache.index.documents import worker  # noqa: F401
from attache.index.documents.loader import load  # noqa: F401

with contextlib.suppress(Exception):  # optional: a missing library fails per file instead
    import lxml.html  # noqa: F401
    import pypdf  # noqa: F401
    import trafilatura  # noqa: F401
with contextlib.suppress(Exception):
    count_tokens("warm")
