"""What a reader needs beside Chroma's vectors, cached in the data folder.

- `DATA_DIR/cache/<segment>/`: the BM25 index of one segment and the documents it
  holds (a segment never changes, so neither does its cache).
- `DATA_DIR/cache/versions/<version>.json`: the manifest of a version (every
  document: hash, size, modification time, segment, chunk ids), written by the writer
  so that its next rebuild can tell unchanged files by their size and modification
  time alone.

The writer fills both; any other instance derives them from what Chroma holds (the
segments' records and the version's state record), so a machine with an empty data
folder can serve a shared Chroma server.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from attache.index import chunk_meta as cm
from attache.index.chunking import chunk_context, contextual_text
from attache.index.lexical import LexicalIndex, VersionLexical
from attache.index.store import ChromaStore, Pointer, Record, write_json_atomic

MANIFEST_FILE = "manifest.json"
LEXICAL_DIR = "lexical"
VERSIONS_DIR = "versions"
SKIPS_FILE = "skipped.json"


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
    segment: str = ""
    size: int = -1
    mtime_ns: int = -1

    @property
    def chunks(self) -> int:
        return len(self.ids)


Manifest = dict[str, DocumentEntry]


@dataclass
class VersionState:
    """A version's segments (name, chunks written), oldest first, and the chunks of
    each segment that the version no longer holds."""

    segments: list[tuple[str, int]]
    removed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.segments]

    def removed_in(self, segment: str) -> set[str]:
        return set(self.removed.get(segment, ()))

    def live(self, segment: str) -> int:
        count = dict(self.segments)[segment]
        return count - len(self.removed.get(segment, ()))

    @property
    def chunks(self) -> int:
        return sum(self.live(name) for name in self.names)

    @property
    def removed_count(self) -> int:
        return sum(len(v) for v in self.removed.values())

    def to_json(self) -> dict[str, Any]:
        return {"segments": [list(s) for s in self.segments],
                "removed": {k: sorted(v) for k, v in self.removed.items() if v}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VersionState:
        return cls([(str(n), int(c)) for n, c in data["segments"]],
                   {k: list(v) for k, v in data.get("removed", {}).items()})


def version_state(store: ChromaStore, pointer: Pointer) -> VersionState:
    """The state of the version `pointer` names (one segment, nothing removed, for an
    index written before segments existed)."""
    if pointer.segments:
        data = store.state(pointer.version)
        if data is not None:
            return VersionState.from_json(data)
    return VersionState([(pointer.collection, pointer.chunks)])


def version_records(store: ChromaStore, pointer: Pointer) -> Iterable[Record]:
    """Every chunk record the version holds, segment by segment, page by page."""
    state = version_state(store, pointer)
    for segment in state.names:
        removed = state.removed_in(segment)
        for record in store.records(segment):
            if record.id not in removed:
                yield record


def manifest_from_records(records: Iterable[Record], segment: str = "") -> Manifest:
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
            segment=segment,
        )
    return manifest


def _write_manifest(path: Path, manifest: Manifest) -> None:
    # fields by hand: asdict would deep-copy every entry's list of chunk ids
    names = [f.name for f in fields(DocumentEntry)]
    write_json_atomic(path, {s: {n: getattr(e, n) for n in names}
                             for s, e in sorted(manifest.items())})


def _read_manifest(path: Path) -> Manifest | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return {s: DocumentEntry(**e) for s, e in data.items()}
    except (OSError, ValueError, TypeError):
        return None


def lexical_texts(records: Iterable[Record]) -> tuple[list[str], list[str]]:
    """Ids and BM25 texts (title, then chunk) of records, in document reading order."""
    ordered = sorted(
        records,
        key=lambda r: (str(r.metadata.get(cm.SOURCE)), int(r.metadata.get(cm.POSITION, 0))),
    )
    return [r.id for r in ordered], [
        contextual_text(chunk_context(r.metadata), r.text) for r in ordered
    ]


class Catalog:
    """The local cache of segments' BM25 indexes and manifests, and versions' manifests."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "cache"

    def folder(self, segment: str) -> Path:
        return self.root / segment

    # --- segments ----------------------------------------------------------

    def write_segment(self, segment: str, records: list[Record]) -> LexicalIndex:
        """Build and cache a segment's BM25 index and manifest from all its records."""
        ids, texts = lexical_texts(records)
        lexical = LexicalIndex.build(ids, texts)
        folder = self.folder(segment)
        lexical.save(folder / LEXICAL_DIR)
        _write_manifest(folder / MANIFEST_FILE, manifest_from_records(records, segment))
        return lexical

    def segment_lexical(self, store: ChromaStore, segment: str) -> LexicalIndex:
        try:
            return LexicalIndex.load(self.folder(segment) / LEXICAL_DIR)
        except (OSError, ValueError, KeyError):
            return self.write_segment(segment, list(store.records(segment)))

    def segment_manifest(self, store: ChromaStore, segment: str) -> Manifest:
        cached = _read_manifest(self.folder(segment) / MANIFEST_FILE)
        if cached is not None:
            return cached
        self.write_segment(segment, list(store.records(segment)))
        return _read_manifest(self.folder(segment) / MANIFEST_FILE) or {}

    # --- versions ----------------------------------------------------------

    def _version_path(self, version: int) -> Path:
        return self.root / VERSIONS_DIR / f"{version:06d}.json"

    def write_manifest(self, version: int, manifest: Manifest) -> None:
        _write_manifest(self._version_path(version), manifest)

    def cached_manifest(self, version: int) -> Manifest | None:
        """The writer's copy of a version's manifest, None when there is none."""
        return _read_manifest(self._version_path(version))

    def manifest(self, store: ChromaStore, pointer: Pointer) -> Manifest:
        """Every document of the version: the writer's copy, else derived from Chroma."""
        cached = self.cached_manifest(pointer.version)
        if cached is not None:
            return cached
        state = version_state(store, pointer)
        manifest: Manifest = {}
        for segment in state.names:
            removed = state.removed_in(segment)
            for source, entry in self.segment_manifest(store, segment).items():
                if not removed.intersection(entry.ids):
                    manifest[source] = entry
        return dict(sorted(manifest.items()))

    # --- files extraction skipped ------------------------------------------

    def skips(self, extraction: str) -> dict[str, dict[str, Any]]:
        """The files extraction skipped, by source: size, modification time and reason;
        empty when they were skipped under other settings (`extraction`)."""
        try:
            data = json.loads((self.root / SKIPS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("extraction") != extraction:
            return {}
        files = data.get("files")
        return {s: e for s, e in files.items() if isinstance(e, dict)} \
            if isinstance(files, dict) else {}

    def write_skips(self, extraction: str, files: dict[str, dict[str, Any]]) -> None:
        write_json_atomic(self.root / SKIPS_FILE,
                          {"extraction": extraction, "files": dict(sorted(files.items()))})

    def lexical(self, store: ChromaStore, pointer: Pointer) -> VersionLexical:
        state = version_state(store, pointer)
        return VersionLexical(
            [(name, self.segment_lexical(store, name)) for name in state.names],
            {name: state.removed_in(name) for name in state.names},
        )

    def prune(self, segments: set[str], versions: set[int]) -> None:
        """Remove cached segments and version manifests other than these."""
        if not self.root.is_dir():
            return
        for child in self.root.iterdir():
            if child.name not in (VERSIONS_DIR, SKIPS_FILE) and child.name not in segments:
                shutil.rmtree(child, ignore_errors=True)
        folder = self.root / VERSIONS_DIR
        if folder.is_dir():
            for path in folder.glob("*.json"):
                if not path.stem.isdigit() or int(path.stem) not in versions:
                    path.unlink(missing_ok=True)
