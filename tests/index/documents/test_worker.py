"""What the extraction worker sends back is the whole Document, every field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from attache.index.documents import Document, SourceFile
from attache.index.documents.structure import Heading, Link, ListItem, PageMark
from attache.index.documents.worker import _decode_result, _encode_result


def test_every_document_field_survives_the_worker_round_trip(tmp_path: Path) -> None:
    values = {}
    for field in dataclasses.fields(Document):
        values[field.name] = f"{field.name} value"
    values.update(
        text="Title\n\nBody text here.",
        headings=(Heading(*[0] * len(dataclasses.fields(Heading))),),
        items=(ListItem(*[0] * len(dataclasses.fields(ListItem))),),
        links=(Link(*[0] * len(dataclasses.fields(Link))),),
        pages=(PageMark(*[0] * len(dataclasses.fields(PageMark))),),
    )
    doc = Document(**values)
    message = json.loads(json.dumps(_encode_result((doc, []))))  # as it crosses the pipe
    file = SourceFile(tmp_path / "a.md", "a.md", 10, tmp_path, ("a.md",))
    decoded, chunks = _decode_result(file, message)
    assert decoded == doc and chunks == []
