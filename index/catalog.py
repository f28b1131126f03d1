"""What a reader needs beside Chroma's vectors, cached per index version.

`DATA_DIR/cache/<collection>/` holds the manifest (documents, their hashes and
chunk ids) and the BM25 index of that version. The writer fills it when it builds
a version; any other instance derives it from the records Chroma holds, so a
machine with an empty data folder can serve a shared Chroma server.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from attache.index import chunk_meta as cm
from attache.index.chunking import contextual_text
from attache.index.lexical import LexicalIndex
from attache.index.store import ChromaStore, Pointer, Record, write_json_atomic

MANIFEST_FILE = "manifest.json"
LEXICAL_DIR = "lexical"
DOC_FIELDS = (cm.TITLE, cm.KIND, cm.OUTLET, cm.AUTHOR, cm.DATE, cm.URL)


@dataclass
class DocumentEntry:
    source: str
    sha256: str
    title: str
    kind: str
    ids: list[str] = field(default_factory=list)
    outlet: str | None = None
    author: str | None = None
    date: str | None = None
    url: str | None = None

    @property
    def chunks(self) -> int:
        return len(self.ids)


Manifest = dict[str, DocumentEntry]


def manifest_from_records(records: list[Record]) -> Manifest:
    """Group chunk records by document, chunks in reading order."""
    grouped: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        grouped[str(record.metadata.get(cm.SOURCE, ""))].append(record)
    manifest: Manifest = {}
    for source, items in sorted(grouped.items()):
        items.sort(key=lambda r: int(r.metadata.get(cm.POSITION, 0)))
        meta = items[0].metadata
        manifest[source] = DocumentEntry(
            source=source,
            sha256=str(meta.get(cm.DOC_SHA, "")),
            title=str(meta.get(cm.TITLE, source)),
            kind=str(meta.get(cm.KIND, "")),
            ids=[r.id for r in items],
            outlet=meta.get(cm.OUTLET),
            author=meta.get(cm.AUTHOR),
            date=meta.get(cm.DATE),
            url=meta.get(cm.URL),
        )
    return manifest


class Catalog:
    """The local cache of manifests and BM25 indexes, one folder per version."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "cache"

    def folder(self, collection: str) -> Path:
        return self.root / collection

    def write(self, collection: str, manifest: Manifest, lexical: LexicalIndex) -> None:
        folder = self.folder(collection)
        lexical.save(folder / LEXICAL_DIR)
        write_json_atomic(
            folder / MANIFEST_FILE, {s: asdict(e) for s, e in sorted(manifest.items())}
        )

    def _read_manifest(self, collection: str) -> Manifest | None:
        path = self.folder(collection) / MANIFEST_FILE
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return {s: DocumentEntry(**e) for s, e in data.items()}
        except (OSError, ValueError, TypeError):
            return None

    def manifest(self, store: ChromaStore, pointer: Pointer) -> Manifest:
        cached = self._read_manifest(pointer.collection)
        if cached is not None:
            return cached
        self.derive(store, pointer)
        return self._read_manifest(pointer.collection) or {}

    def lexical(self, store: ChromaStore, pointer: Pointer) -> LexicalIndex:
        folder = self.folder(pointer.collection) / LEXICAL_DIR
        try:
            return LexicalIndex.load(folder)
        except (OSError, ValueError, KeyError):
            return self.derive(store, pointer)

    def derive(self, store: ChromaStore, pointer: Pointer) -> LexicalIndex:
        """Rebuild this version's cache from the records Chroma holds."""
        records = sorted(
            store.records(pointer.collection),
            key=lambda r: (str(r.metadata.get(cm.SOURCE)), int(r.metadata.get(cm.POSITION, 0))),
        )
        lexical = LexicalIndex.build(
            [r.id for r in records],
            [contextual_text(str(r.metadata.get(cm.TITLE, "")), r.text) for r in records],
        )
        self.write(pointer.collection, manifest_from_records(records), lexical)
        return lexical

    def prune(self, keep: set[str]) -> None:
        """Remove cached versions other than `keep`."""
        if not self.root.is_dir():
            return
        for child in self.root.iterdir():
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
