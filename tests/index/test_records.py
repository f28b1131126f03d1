"""The metadata each chunk carries: heading path, sections, pages, list items, links."""

from __future__ import annotations

import json
from pathlib import Path

from three_formats import CHARTER_MD, make_pdf

from attache.index import chunk_meta as cm
from attache.index.build import _records
from attache.index.chunking import chunk_context, parse_spans
from attache.index.documents import Document, SourceFile, load
from attache.index.documents.structure import located


def loaded(name: str, data: bytes | str) -> Document:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    doc = load(SourceFile(Path(name), name, len(raw)), raw)
    assert isinstance(doc, Document), doc
    return doc


def test_chunks_know_their_heading_path_and_headings_are_no_sentences() -> None:
    doc = loaded("charter.md", CHARTER_MD)
    records = _records(doc, "sha", size=60, overlap=10)
    assert len(records) > 1
    headings = {h.text for h in doc.headings}
    for record in records:
        meta = record.metadata
        sentences = [record.text[a:b] for a, b in parse_spans(meta)]
        assert not headings & set(sentences), sentences
        assert meta[cm.HEADING].startswith("Harbor cyber council charter")
    priorities = next(r for r in records if "Secure the undersea cables" in r.text)
    at = priorities.text.index("Secure the undersea cables")
    assert located(priorities.metadata, at) == ("Harbor cyber council charter › Priorities", None)
    assert chunk_context(priorities.metadata).startswith("Harbor cyber council charter")
    items = json.loads(priorities.metadata[cm.ITEMS])
    fifth = next(i for i in items if i[2] == 5)
    assert priorities.text[fifth[0] : fifth[1]] == "Secure the undersea cables that link the harbors."
    assert "Priorities" in fifth[3] and "five priorities" in fifth[3]
    with_link = next(r for r in records if cm.LINKS in r.metadata)
    (start, end, url), = json.loads(with_link.metadata[cm.LINKS])
    assert with_link.text[start:end] == "Admiral Ines Varga" and url.startswith("https://")


def test_pdf_chunks_know_the_page_of_every_offset() -> None:
    doc = loaded("strategy.pdf", make_pdf())
    records = _records(doc, "sha", size=40, overlap=0)
    seen = {}
    for record in records:
        for a, b in parse_spans(record.metadata):
            _, page = located(record.metadata, a)
            seen[record.text[a:b][:30]] = page
    assert seen["The strategy commits the depar"] == 1
    assert seen["Funding for the protocol comes"] == 2
    assert seen["The department reviews the str"] == 3
