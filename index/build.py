"""The incremental, crash-safe rebuild of the index from the documents folder.

A rebuild compares every document's SHA-256 with the manifest of the current
version. Unchanged documents keep their chunks (copied with their vectors into the
new version); added and changed ones are chunked, and only chunk texts with no
stored vector are embedded, each distinct text once. The new version is filled
completely, checked, given its BM25 index, and only then published. A rebuild that
dies leaves the current version serving; the next one reuses what the dead one
had already written.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from attache.errors import DataFolderError, NoUsableDocuments, RebuildBusy
from attache.models import RebuildReport, SkippedFile
from attache.index import chunk_meta as cm
from attache.index.catalog import Catalog, DocumentEntry, Manifest
from attache.index.chunk_meta import SENTENCE_VECTORS
from attache.index.chunking import (
    chunk_text,
    contextual_text,
    parse_spans,
    split_sentences,
    text_sha,
)
from attache.index.documents import Document, Skipped, discover, load, read
from attache.index.embedding import Embedder, model_identity, pack_vectors
from attache.index.lexical import LexicalIndex
from attache.index.store import ChromaStore, Pointer, Record, version_name, version_of

if TYPE_CHECKING:
    from attache.index.settings import Settings

log = logging.getLogger("attache.index")

LOCK_FILE = "rebuild.lock"
EMBED_GROUP = 256  # chunks embedded and written per step: a resumed rebuild keeps them


# stage name, done, total
ProgressCallback = Callable[[str, int, int], None]


def chunk_id(source: str, position: int, sha: str) -> str:
    prefix = hashlib.sha1(source.encode("utf-8")).hexdigest()[:12]
    return f"{prefix}-{position:05d}-{sha}"


def _records(doc: Document, sha256: str, size: int, overlap: int) -> list[Record]:
    records = []
    for chunk in chunk_text(doc.text, size, overlap):
        sentences = split_sentences(chunk.text)
        meta: dict[str, Any] = {
            cm.SENTENCE_SPANS: ";".join(f"{s.start}-{s.end}" for s in sentences),
            cm.SOURCE: doc.source,
            cm.TITLE: doc.title,
            cm.KIND: doc.kind,
            cm.POSITION: chunk.position,
            cm.START: chunk.start,
            cm.END: chunk.end,
            cm.DOC_SHA: sha256,
            cm.TEXT_SHA: text_sha(contextual_text(doc.title, chunk.text)),
        }
        for key in cm.DOCUMENT_FIELDS:
            value = getattr(doc, key)
            if value:
                meta[key] = value
        records.append(Record(chunk_id(doc.source, chunk.position, chunk.sha), chunk.text, meta))
    return records


class Indexer:
    """Rebuilds the index of `settings.docs_dir` into `store`."""

    def __init__(
        self,
        settings: Settings,
        store: ChromaStore,
        embedder: Callable[[], Embedder],
        progress: ProgressCallback | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalog = Catalog(settings.data_dir)
        self._embedder_factory = embedder
        self._embedder: Embedder | None = None
        self._progress = progress or (lambda stage, done, total: None)

    def rebuild(self) -> RebuildReport:
        from filelock import FileLock, Timeout

        lock_path = self.settings.data_dir / LOCK_FILE
        lock = FileLock(str(lock_path), timeout=0)
        try:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except OSError as exc:  # read-only, not a folder, no permission
            raise DataFolderError(
                f"cannot write the data folder {self.settings.data_dir} "
                f"({exc.strerror or type(exc).__name__}): check ATTACHE_DATA_DIR"
            ) from None
        except Timeout:
            raise RebuildBusy(
                f"another rebuild is running on {self.settings.data_dir} (lock {lock_path}); "
                "try again when it has finished"
            ) from None
        try:
            return self._rebuild()
        finally:
            lock.release()

    def _embed(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def _rebuild(self) -> RebuildReport:
        started = time.perf_counter()
        settings = self.settings
        report = RebuildReport()
        files, skipped = discover(settings.docs_dir, settings.max_file_bytes)
        pointer = self.store.pointer()
        model = model_identity(settings)
        old: Manifest = self.catalog.manifest(self.store, pointer) if pointer else {}
        same_build = bool(
            pointer
            and pointer.embedding_model == model
            and pointer.chunk_size == settings.chunk_size
            and pointer.chunk_overlap == settings.chunk_overlap
        )

        manifest: Manifest = {}
        copied: list[str] = []
        fresh: list[Record] = []
        for number, file in enumerate(files, 1):
            self._progress("reading", number, len(files))
            data = read(file)
            if isinstance(data, Skipped):
                skipped.append(data)
                continue
            sha = hashlib.sha256(data).hexdigest()
            previous = old.get(file.source)
            if same_build and previous and previous.sha256 == sha:
                manifest[file.source] = previous
                copied.extend(previous.ids)
                report.unchanged += 1
                continue
            doc = load(file, data)
            if isinstance(doc, Skipped):
                skipped.append(doc)
                continue
            records = _records(doc, sha, settings.chunk_size, settings.chunk_overlap)
            fresh.extend(records)
            manifest[file.source] = DocumentEntry(
                doc.source, sha, doc.title, doc.kind, [r.id for r in records],
                doc.outlet, doc.author, doc.date, url=doc.url,
            )
            if previous:
                report.updated += 1
            else:
                report.added += 1
        report.removed = len(set(old) - set(manifest))
        for skip in sorted(skipped, key=lambda s: s.path):
            log.warning("skipped %s: %s", skip.path, skip.reason)
            report.skipped.append(SkippedFile(path=skip.path, reason=skip.reason))
        report.documents = len(manifest)
        report.chunks = len(copied) + len(fresh)
        if not manifest:
            raise NoUsableDocuments(
                f"no usable documents in {settings.docs_dir}: "
                f"all {len(skipped)} files were skipped; the index was left as it was"
            )

        if pointer and same_build and not (report.added or report.updated or report.removed):
            report.version = pointer.version
            report.seconds = time.perf_counter() - started
            return report

        name = self._staging(pointer, model)
        wanted = set(copied) | {r.id for r in fresh}
        present = self.store.ids(name)
        if present - wanted:
            self.store.delete(name, present - wanted)
        if pointer:
            self.store.copy(pointer.collection, name, [i for i in copied if i not in present])
        report.embedded = self._write(name, pointer, model, [r for r in fresh if r.id not in present])

        count = self.store.count(name)
        if count != report.chunks:
            raise RuntimeError(f"version {name} holds {count} chunks, expected {report.chunks}")
        self._progress("lexical", 0, 1)
        records = {r.id: r for r in self.store.records(name)}
        ordered = [records[i] for entry in manifest.values() for i in entry.ids]
        lexical = LexicalIndex.build(
            [r.id for r in ordered],
            [contextual_text(str(r.metadata.get("title", "")), r.text) for r in ordered],
        )
        self.catalog.write(name, manifest, lexical)
        self._progress("lexical", 1, 1)

        version = version_of(name) or 0
        self.store.publish(
            Pointer(
                collection=name,
                version=version,
                embedding_model=model,
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                chunk_size=settings.chunk_size,
                chunk_overlap=settings.chunk_overlap,
                documents=report.documents,
                chunks=report.chunks,
                previous=pointer.collection if pointer else "",
            )
        )
        keep = {name} | ({pointer.collection} if pointer else set())
        for other in self.store.version_collections():
            if other not in keep:
                self.store.drop(other)
        self.catalog.prune(keep)
        report.version = version
        report.switched = True
        report.seconds = time.perf_counter() - started
        return report

    def _staging(self, pointer: Pointer | None, model: str) -> str:
        """The collection for the next version: a dead rebuild's leftover when usable."""
        current = pointer.version if pointer else 0
        newer = [
            n for n in self.store.version_collections() if (version_of(n) or 0) > current
        ]
        reusable = [n for n in newer if self.store.model_of(n) == model]
        name = reusable[-1] if reusable else version_name(
            max([current, *(version_of(n) or 0 for n in newer)]) + 1
        )
        for other in newer:
            if other != name:
                self.store.drop(other)
        self.store.create(name, model)
        return name

    def _write(self, name: str, pointer: Pointer | None, model: str, records: list[Record]) -> int:
        """Add records to `name`, embedding only texts with no stored vector. Returns how
        many distinct texts were embedded."""
        import numpy as np

        if not records:
            return 0
        sources = [name]
        if pointer and pointer.embedding_model == model:
            sources.insert(0, pointer.collection)
        known = self.store.vectors_for(
            sources, "text_sha", (r.metadata["text_sha"] for r in records), SENTENCE_VECTORS
        )
        embedded = 0
        total = len(records)
        done = 0
        ticks = [0]

        def tick(n: int) -> None:
            ticks[0] += n
            self._progress("embedding", min(done + ticks[0], total), total)

        for start in range(0, total, EMBED_GROUP):
            group = records[start : start + EMBED_GROUP]
            todo: dict[str, Record] = {}
            for record in group:
                if record.metadata["text_sha"] not in known:
                    todo.setdefault(record.metadata["text_sha"], record)
            if todo:
                known.update(self._embed_records(list(todo.values()), tick))
                embedded += len(todo)
            matrix = np.asarray([known[r.metadata["text_sha"]][0] for r in group], dtype=np.float32)
            with_sentences = [
                Record(r.id, r.text, {**r.metadata, **known[r.metadata["text_sha"]][1]})
                for r in group
            ]
            self.store.add(name, with_sentences, matrix)
            done += len(group)
            ticks[0] = 0
            self._progress("embedding", done, total)
        return embedded

    def _embed_records(
        self, records: list[Record], tick: Callable[[int], None]
    ) -> dict[str, tuple[Any, dict[str, str]]]:
        """Vectors of the records' contextual texts and, where the model can give them
        from the same pass, of each of their sentences."""
        embedder = self._embed()
        texts, spans = [], []
        for record in records:
            title = str(record.metadata["title"])
            texts.append(contextual_text(title, record.text))
            shift = len(texts[-1]) - len(record.text)
            spans.append([(a + shift, b + shift) for a, b in parse_spans(record.metadata)])
        shas = [r.metadata["text_sha"] for r in records]
        with_spans = getattr(embedder, "embed_with_spans", None)
        if with_spans is None:
            vectors = embedder.embed_documents(texts, progress=tick)
            return {sha: (vector, {}) for sha, vector in zip(shas, vectors, strict=True)}
        vectors, parts = with_spans(texts, spans, progress=tick)
        return {
            sha: (vector, {SENTENCE_VECTORS: pack_vectors(part)})
            for sha, vector, part in zip(shas, vectors, parts, strict=True)
        }
