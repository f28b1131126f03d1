"""Plain text: clean it, join hard-wrapped lines. A header of "Title: …", "Date: …" lines
gives the metadata; otherwise the first line is the title."""

from __future__ import annotations

from attache.index.documents.base import Meta
from attache.index.documents.clean import clean_plain_text, first_line, reflow
from attache.index.documents.metadata import header_block
from attache.index.documents.structure import Assembled, Block, assemble


def extract(raw: str) -> tuple[Assembled, Meta]:
    """Paragraphs are separated by blank lines; lines within one are joined."""
    body, meta = header_block(clean_plain_text(raw))
    text = reflow(body)
    blocks = [Block("paragraph", p) for p in text.split("\n\n") if p]
    done = assemble(blocks)
    meta.title = meta.title or first_line(done.text)
    return done, meta
