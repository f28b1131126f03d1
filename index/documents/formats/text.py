"""Plain text: clean it, join hard-wrapped lines; the first line is the title."""

from __future__ import annotations

from attache.index.documents.base import Meta
from attache.index.documents.clean import clean_plain_text, first_line, reflow
from attache.index.documents.structure import Assembled, Block, assemble


def extract(raw: str) -> tuple[Assembled, Meta]:
    """Paragraphs are separated by blank lines; lines within one are joined."""
    text = reflow(clean_plain_text(raw))
    blocks = [Block("paragraph", p) for p in text.split("\n\n") if p]
    done = assemble(blocks)
    return done, Meta(title=first_line(done.text))
