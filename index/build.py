"""The incremental, crash-safe rebuild of the index from the documents folder.

A version of the index is a list of segments (Chroma collections written once and
never changed afterwards) and, for each, the chunks the version no longer holds. A
rebuild runs five steps, each a method:

- plan: which documents were added, changed or removed. A file whose size and
  modification time match the manifest is unchanged without being read; the others
  are hashed, and only a changed hash counts.
- stage: the segment that will hold this rebuild's new chunks (a dead rebuild's
  leftover when usable, so that its vectors are kept).
- write: the added and changed documents, streamed in groups: chunked, embedded (only
  chunk texts with no stored vector, each distinct text once) and written.
- verify: the segment holds exactly the chunks planned; its BM25 index is built.
  Small segments are merged and segments with many removed chunks rewritten here
  (see `merges`), into new segments as well.
- publish: the version's state record, then the pointer, in one write each: readers
  switch from one complete version to the next.

Removing or replacing a document only records its chunks as removed. Nothing a
reader can see is ever changed in place, so a rebuild killed at any point leaves the
published version whole, and the next rebuild reuses what the dead one had written.
Segments that neither the new version nor the previous one uses are dropped at the end.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from attache.errors import DataFolderError, NoUsableDocuments, RebuildBusy
from attache.models import RebuildReport, SkippedFile
from attache.index import chunk_meta as cm
from attache.index.catalog import Catalog, DocumentEntry, Manifest, VersionState, version_state
from attache.index.chunk_meta import SENTENCE_VECTORS
from attache.index.chunking import (
    chunk_context,
    chunk_text,
    contextual_text,
    parse_spans,
    split_sentences,
    text_sha,
)
from attache.index.documents import Document, Skipped, SourceFile, discover, read
from attache.index.documents.names import safe_text
from attache.index.documents.structure import structure_metadata
from attache.index.documents.worker import Extractor
from attache.index.embedding import Embedder, model_identity, pack_vectors
from attache.index.store import ChromaStore, Pointer, Record, version_name, version_of

if TYPE_CHECKING:
    from attache.index.settings import Settings

log = logging.getLogger("attache.index")

LOCK_FILE = "rebuild.lock"
# What the write path makes of a file: its clean text and metadata (index.documents),
# its chunks and the text embedded for each (index.chunking). Raised whenever any of
# these changes, so that the next rebuild reads every file again instead of keeping
# what an earlier version made of the unchanged ones.
PIPELINE = 3
EMBED_GROUP = 256  # chunks embedded and written per step: a resumed rebuild keeps them
TIER = 4  # segments of one size tier (a power of TIER) are merged TIER at a time
MAX_SEGMENTS = 10  # beyond this many, the newest (smallest) segments are merged
REWRITE_SHARE = 0.25  # a segment is rewritten once this share of its chunks is removed
RACY_NS = 2_000_000_000  # a file modified this recently is hashed again next time
STEPS = ("plan", "stage", "write", "verify", "publish")


# stage name, done, total
ProgressCallback = Callable[[str, int, int], None]


def chunk_id(source: str, position: int, sha: str) -> str:
    # Sources are safe names already (documents.names); never fail on one that is not.
    prefix = hashlib.sha1(source.encode("utf-8", "backslashreplace")).hexdigest()[:12]
    return f"{prefix}-{position:05d}-{sha}"


def _records(
    doc: Document, sha256: str, size: int, overlap: int, chunks: list[Any] | None = None
) -> list[Record]:
    records = []
    heads = {h.start for h in doc.headings}
    if chunks is None:
        chunks = chunk_text(doc.text, size, overlap, headings=heads)
    for chunk in chunks:
        # a heading is structure, never an answer: it is no sentence of the chunk
        sentences = [
            s for s in split_sentences(chunk.text) if chunk.start + s.start not in heads
        ]
        meta: dict[str, Any] = {
            cm.SENTENCE_SPANS: ";".join(f"{s.start}-{s.end}" for s in sentences),
            cm.SOURCE: doc.source,
            cm.TITLE: doc.title,
            cm.KIND: doc.kind,
            cm.POSITION: chunk.position,
            cm.START: chunk.start,
            cm.END: chunk.end,
            cm.DOC_SHA: sha256,
        }
        for key in cm.DOCUMENT_FIELDS:
            value = getattr(doc, key)
            if value:
                meta[key] = value
        meta.update(structure_metadata(doc, chunk.start, chunk.end))
        meta[cm.TEXT_SHA] = text_sha(contextual_text(chunk_context(meta), chunk.text))
        records.append(Record(chunk_id(doc.source, chunk.position, chunk.sha), chunk.text, meta))
    return records


@dataclass
class Change:
    """A file to (re)index: its hash, and the entry it replaces if any."""

    file: SourceFile
    sha256: str
    stat: tuple[int, int]
    previous: DocumentEntry | None


@dataclass
class Plan:
    pointer: Pointer | None
    state: VersionState | None  # the published version's, None when starting afresh
    model: str
    kept: Manifest  # unchanged documents
    changes: list[Change]
    gone: list[DocumentEntry]  # documents whose chunks the new version drops
    report: RebuildReport
    restat: bool = False  # sizes or times of unchanged documents to remember
    same_build: bool = False  # the version was built by this model and chunk settings
    remember: bool = False  # the manifest to write again, if nothing changed
    skipped: list[Skipped] = field(default_factory=list)
    # files extraction skipped, by source (size, modification time, reason): one whose
    # size and time have not changed is skipped again without being read
    skips: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return (self.pointer.version if self.pointer else 0) + 1


@dataclass
class Staged:
    """What the write step put in the new segment."""

    segment: str | None
    manifest: Manifest = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)


def merges(state: VersionState) -> list[list[str]]:
    """Groups of consecutive segments to merge into one (a group of one: rewritten
    without its removed chunks).

    Size-tiered, as in log-structured stores: TIER segments of the same size tier are
    merged, so each chunk is copied about log_TIER(total / added) times over its life and
    a rebuild copies more than its own chunks only when a tier fills up; past
    MAX_SEGMENTS the newest (smallest) are merged; a segment with more than REWRITE_SHARE
    of its chunks removed is rewritten without them."""
    units = [([name], state.live(name), len(state.removed.get(name, ())) / max(1, count))
             for name, count in state.segments]

    def tier(live: int) -> int:
        return int(math.log(max(live, 1), TIER))

    changed = True
    while changed:
        changed = False
        if len(units) >= TIER and len({tier(u[1]) for u in units[-TIER:]}) == 1:
            merged = units[-TIER:]
            units[-TIER:] = [([n for u in merged for n in u[0]], sum(u[1] for u in merged), 1.0)]
            changed = True
        elif len(units) > MAX_SEGMENTS:
            a, b = units[-2], units[-1]
            units[-2:] = [(a[0] + b[0], a[1] + b[1], 1.0)]
            changed = True
    groups = []
    for names, _, share in units:
        if len(names) > 1 or share > REWRITE_SHARE:
            groups.append(names)
    return groups


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
        self._skips: dict[str, dict[str, Any]] = {}  # what the last rebuild remembered
        self._progress = progress or (lambda stage, done, total: None)

    def rebuild(self) -> RebuildReport:
        from filelock import FileLock, Timeout

        lock_path = self.settings.data_dir / LOCK_FILE
        lock = FileLock(str(lock_path), timeout=0)
        try:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
            raise RebuildBusy(
                f"another rebuild is running on {self.settings.data_dir} (lock {lock_path}); "
                "try again when it has finished"
            ) from None
        except OSError as exc:  # read-only, not a folder, no permission
            raise DataFolderError(
                f"cannot write the data folder {self.settings.data_dir} "
                f"({exc.strerror or type(exc).__name__}): check ATTACHE_DATA_DIR"
            ) from None
        try:
            return self._rebuild()
        finally:
            lock.release()

    def _embed(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    @staticmethod
    def _skip(report: RebuildReport, skip: Skipped) -> None:
        """Report a skipped file: names are safe already; a reason may quote a library's
        error, so it is made safe too."""
        path, reason = safe_text(skip.path), safe_text(skip.reason)
        log.warning("skipped %s: %s", path, reason)
        report.skipped.append(SkippedFile(path=path, reason=reason))

    def _step(self, name: str, done: int = 0) -> None:
        self._progress(name, done, 1)

    def _rebuild(self) -> RebuildReport:
        started = time.perf_counter()
        self._step("plan")
        plan = self.plan()
        if plan.pointer and plan.same_build and not (plan.changes or plan.gone):
            return self._unchanged(plan, started)
        self._step("stage")
        segment = self.stage(plan)
        self._step("write")
        staged = self.write(plan, segment)
        if plan.pointer and plan.same_build and not (staged.manifest or plan.gone):
            # every file that looked new or changed was skipped: readers would see the
            # same documents, so the version they read stays
            if segment is not None:
                self.store.drop(segment)
            return self._unchanged(plan, started)
        self._step("verify")
        state = self.verify(plan, staged)
        self._step("publish")
        self.publish(plan, staged, state)
        self._collect(plan, state)
        self._remember_skips(plan)
        return self._finish(plan, started)

    def _unchanged(self, plan: Plan, started: float) -> RebuildReport:
        """Nothing to publish: the version readers have stays."""
        assert plan.pointer is not None
        self._remember_skips(plan)
        if plan.remember:  # sizes and times, so that next time needs no reading
            self.catalog.write_manifest(plan.pointer.version, plan.kept)
        if plan.state is not None:  # the store was asked: its pointer, for next time
            self.store.record_published(plan.pointer)
        plan.report.version = plan.pointer.version
        return self._finish(plan, started)

    def _finish(self, plan: Plan, started: float) -> RebuildReport:
        plan.report.seconds = time.perf_counter() - started
        return plan.report

    # --- plan --------------------------------------------------------------

    def plan(self) -> Plan:
        """Compare the documents folder with the published version.

        First with the pointer the writer recorded beside an embedded store (see
        `ChromaStore.published`) and that version's cached manifest, without opening the
        store: a rebuild that finds nothing to do neither imports Chroma nor loads the
        model. When something changed, that comparison stands if the store still holds
        that pointer; otherwise (or with a Chroma server) the comparison is made with the
        pointer the store holds."""
        settings = self.settings
        files, skipped = discover(settings.docs_dir, settings.max_file_bytes)
        self._skips = self.catalog.skips(self._extraction())
        model = model_identity(settings)
        recorded = self.store.published()
        old = self.catalog.cached_manifest(recorded.version) if recorded else None
        if (recorded and old is not None and self._same_build(recorded, model)
                and all(entry.segment for entry in old.values())):
            plan = self._compare(files, list(skipped), recorded, model, old, True)
            if not (plan.changes or plan.gone):
                return self._planned(plan)
            if self.store.pointer() == recorded:
                plan.state = version_state(self.store, recorded)
                return self._planned(plan)
        pointer = self.store.pointer()
        same_build = self._same_build(pointer, model)
        old = self.catalog.cached_manifest(pointer.version) if pointer else None
        cached = old is not None
        if old is None:
            old = self.catalog.manifest(self.store, pointer) if pointer else {}
        state = version_state(self.store, pointer) if pointer and same_build else None
        if state and len(state.names) == 1:  # a manifest from before segments
            for entry in old.values():
                entry.segment = entry.segment or state.names[0]
        plan = self._compare(files, skipped, pointer, model, old, same_build)
        plan.state, plan.remember = state, plan.restat or not cached
        return self._planned(plan)

    def _extraction(self) -> str:
        """What decides extraction's verdict on a file, besides its bytes."""
        s = self.settings
        return (f"{PIPELINE}/{s.extract_seconds:g}/{s.max_text_chars}/{s.max_file_bytes}/"
                f"{s.chunk_size}/{s.chunk_overlap}")

    def _remember_skips(self, plan: Plan) -> None:
        if plan.skips != self._skips:
            self.catalog.write_skips(self._extraction(), plan.skips)

    def _same_build(self, pointer: Pointer | None, model: str) -> bool:
        """Whether the version was built by this model with these chunk settings, and
        by this `PIPELINE`."""
        return bool(
            pointer
            and pointer.pipeline == PIPELINE
            and pointer.embedding_model == model
            and pointer.chunk_size == self.settings.chunk_size
            and pointer.chunk_overlap == self.settings.chunk_overlap
        )

    def _compare(self, files: list[SourceFile], skipped: list[Skipped], pointer: Pointer | None,
                 model: str, old: Manifest, same_build: bool) -> Plan:
        """Which files are unchanged, changed or gone against the manifest `old`: a file
        whose size and modification time match its entry is unchanged without being
        read; the others are hashed."""
        settled = time.time_ns() - RACY_NS
        restat = False
        kept: Manifest = {}
        skips: dict[str, dict[str, Any]] = {}
        changes: list[Change] = []
        for number, file in enumerate(files, 1):
            self._progress("reading", number, len(files))
            previous = old.get(file.source)
            size, mtime = file.size, file.mtime_ns
            if mtime < 0:  # not stated when discovered
                try:
                    info = os.stat(file.path)
                except OSError as exc:
                    skipped.append(Skipped(file.source, f"unreadable: {exc.strerror or exc}"))
                    continue
                size, mtime = info.st_size, info.st_mtime_ns
            stat = (size, mtime if mtime < settled else -1)
            if same_build and previous and (previous.size, previous.mtime_ns) == stat:
                kept[file.source] = previous
                continue
            known = self._skips.get(file.source)
            if known and stat[1] >= 0 and (known.get("size"), known.get("mtime_ns")) == stat:
                skipped.append(Skipped(file.source, str(known.get("reason"))))
                skips[file.source] = known
                continue
            data = read(file, self.settings.max_file_bytes)
            if isinstance(data, Skipped):
                skipped.append(data)
                continue
            sha = hashlib.sha256(data).hexdigest()
            if same_build and previous and previous.sha256 == sha:
                restat = restat or (previous.size, previous.mtime_ns) != stat
                previous.size, previous.mtime_ns = stat
                kept[file.source] = previous
                continue
            changes.append(Change(file, sha, stat, previous))
        seen = set(kept) | {c.file.source for c in changes}
        gone = [entry for source, entry in old.items() if source not in seen]
        report = RebuildReport(unchanged=len(kept), removed=len(gone), documents=len(kept),
                               chunks=sum(e.chunks for e in kept.values()))
        return Plan(pointer, None, model, kept, changes, gone, report, restat,
                    same_build=same_build, remember=restat, skipped=skipped, skips=skips)

    def _planned(self, plan: Plan) -> Plan:
        """Report the skipped files (once the comparison that stands is known)."""
        for skip in sorted(plan.skipped, key=lambda s: s.path):
            self._skip(plan.report, skip)
        if not plan.kept and not plan.changes:
            self._no_documents(len(plan.skipped))
        return plan

    def _no_documents(self, skipped: int) -> None:
        raise NoUsableDocuments(
            f"no usable documents in {self.settings.docs_dir}: "
            f"all {skipped} files were skipped"
        )

    # --- stage -------------------------------------------------------------

    def stage(self, plan: Plan) -> str | None:
        """The segment for this rebuild's new chunks (None when there are none): a dead
        rebuild's leftover when it was made for the same model, else a new one. Other
        leftovers of dead rebuilds are dropped."""
        name = version_name(plan.version) if plan.changes else None
        current = plan.pointer.version if plan.pointer else 0
        for other in self.store.version_collections():
            if (version_of(other) or 0) > current and (
                other != name or self.store.model_of(other) != plan.model
            ):
                self.store.drop(other)
        if name is not None:
            self.store.create(name, plan.model)
        return name

    # --- write -------------------------------------------------------------

    def write(self, plan: Plan, segment: str | None) -> Staged:
        """Chunk, embed and write the added and changed documents, a group at a time."""
        settings = self.settings
        staged = Staged(segment)
        if segment is None:
            return staged
        present = self.store.ids(segment)
        sources = [segment] + (plan.state.names if plan.state else [])
        group: list[Record] = []
        written = 0
        total = len(plan.changes)
        extractor = Extractor(
            settings.extract_seconds, settings.chunk_size, settings.chunk_overlap,
            settings.max_text_chars,
        )
        with extractor:
            for number, change in enumerate(plan.changes, 1):
                self._progress("reading", number, total)
                data = read(change.file, settings.max_file_bytes)
                # Loading and chunking run in a worker process, within a time budget.
                extracted = data if isinstance(data, Skipped) else extractor.extract(
                    change.file, data)
                if isinstance(extracted, Skipped):
                    self._skip(plan.report, extracted)
                    if not isinstance(data, Skipped) and change.stat[1] >= 0:
                        # extraction's verdict (settled: its time will tell a change)
                        plan.skips[change.file.source] = {
                            "size": change.stat[0], "mtime_ns": change.stat[1],
                            "reason": extracted.reason}
                    if change.previous:
                        plan.gone.append(change.previous)
                        plan.report.removed += 1
                    continue
                doc, chunks = extracted
                records = _records(doc, change.sha256, settings.chunk_size,
                                   settings.chunk_overlap, chunks)
                staged.manifest[doc.source] = DocumentEntry(
                    doc.source, change.sha256, doc.title, doc.kind, [r.id for r in records],
                    doc.outlet, doc.author, doc.date, url=doc.url, segment=segment,
                    size=change.stat[0], mtime_ns=change.stat[1],
                )
                if change.previous:
                    plan.gone.append(change.previous)
                    plan.report.updated += 1
                else:
                    plan.report.added += 1
                staged.ids.update(r.id for r in records)
                group.extend(r for r in records if r.id not in present)
                while len(group) >= EMBED_GROUP:
                    plan.report.embedded += self._write_group(
                        segment, sources, plan.model, group[:EMBED_GROUP], written)
                    written += EMBED_GROUP
                    group = group[EMBED_GROUP:]
        if group:
            plan.report.embedded += self._write_group(segment, sources, plan.model, group, written)
        leftover = present - staged.ids
        if leftover:
            self.store.delete(segment, leftover)
        return staged

    def _write_group(self, name: str, sources: list[str], model: str,
                     records: list[Record], written: int) -> int:
        """Add records to `name`, embedding only texts with no stored vector. Returns how
        many distinct texts were embedded."""
        import numpy as np

        known = self.store.vectors_for(
            sources, cm.TEXT_SHA, (r.metadata[cm.TEXT_SHA] for r in records), SENTENCE_VECTORS
        )
        todo: dict[str, Record] = {}
        for record in records:
            if record.metadata[cm.TEXT_SHA] not in known:
                todo.setdefault(record.metadata[cm.TEXT_SHA], record)
        total, done = written + len(records), [written]

        def tick(n: int) -> None:  # chunks of this rebuild embedded so far
            done[0] += n
            self._progress("embedding", min(done[0], total), total)

        if todo:
            known.update(self._embed_records(list(todo.values()), tick))
        matrix = np.asarray([known[r.metadata[cm.TEXT_SHA]][0] for r in records], dtype=np.float32)
        with_sentences = [
            Record(r.id, r.text, {**r.metadata, **known[r.metadata[cm.TEXT_SHA]][1]})
            for r in records
        ]
        self.store.add(name, with_sentences, matrix)
        self._progress("embedding", total, total)
        return len(todo)

    # --- verify ------------------------------------------------------------

    def verify(self, plan: Plan, staged: Staged) -> VersionState:
        """Check the new segment, cache its BM25 index, and work out the new version's
        segments, merging and rewriting segments as `merges` says."""
        report = plan.report
        manifest = {**plan.kept, **staged.manifest}
        if not manifest:
            self._no_documents(len(report.skipped))
        segments = list(plan.state.segments) if plan.state else []
        removed = {k: list(v) for k, v in (plan.state.removed if plan.state else {}).items()}
        for entry in plan.gone:
            if plan.state and entry.segment in plan.state.names:
                removed.setdefault(entry.segment, []).extend(entry.ids)
        if staged.segment is not None:
            count = self.store.count(staged.segment)
            if count != len(staged.ids):
                raise RuntimeError(
                    f"segment {staged.segment} holds {count} chunks, expected {len(staged.ids)}")
            if count:
                self._progress("lexical", 0, 1)
                records = list(self.store.records(staged.segment))
                if {r.id for r in records} != staged.ids:
                    raise RuntimeError(f"segment {staged.segment} does not hold the chunks planned")
                self.catalog.write_segment(staged.segment, records)
                segments.append((staged.segment, count))
                self._progress("lexical", 1, 1)
            else:
                self.store.drop(staged.segment)
        state = VersionState(segments, {k: v for k, v in removed.items() if v})
        state = self._merge(plan, state, manifest)
        report.documents = len(manifest)
        report.chunks = state.chunks
        if report.chunks != sum(e.chunks for e in manifest.values()):
            raise RuntimeError(
                f"version {plan.version} holds {report.chunks} chunks, expected "
                f"{sum(e.chunks for e in manifest.values())}")
        staged.manifest = manifest
        return state

    def _merge(self, plan: Plan, state: VersionState, manifest: Manifest) -> VersionState:
        groups = merges(state)
        if not groups:
            return state
        segments = list(state.segments)
        removed = dict(state.removed)
        for part, group in enumerate(groups, 1):
            name = version_name(plan.version, part)
            self._progress("merging", part - 1, len(groups))
            self.store.create(name, plan.model)
            skip: set[str] = set()
            for old in group:
                skip |= state.removed_in(old)
            records: list[Record] = []
            for old in group:
                records.extend(self.store.copy_live(old, name, skip))
            count = self.store.count(name)
            if count != len(records):
                raise RuntimeError(f"segment {name} holds {count} chunks, expected {len(records)}")
            self.catalog.write_segment(name, records)
            at = [n for n, _ in segments].index(group[0])
            segments[at : at + len(group)] = [(name, count)]
            for old in group:
                removed.pop(old, None)
            for entry in manifest.values():
                if entry.segment in group:
                    entry.segment = name
            self._progress("merging", part, len(groups))
        return VersionState(segments, removed)

    # --- publish -----------------------------------------------------------

    def publish(self, plan: Plan, staged: Staged, state: VersionState) -> None:
        """Record the version, then switch readers to it."""
        settings = self.settings
        self.catalog.write_manifest(plan.version, staged.manifest)
        self.store.write_state(plan.version, state.to_json())
        self._progress("publish", 1, 2)  # recorded, not yet published
        self.store.publish(
            Pointer(
                collection=state.names[-1],
                version=plan.version,
                embedding_model=plan.model,
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                chunk_size=settings.chunk_size,
                chunk_overlap=settings.chunk_overlap,
                documents=len(staged.manifest),
                chunks=state.chunks,
                previous=plan.pointer.collection if plan.pointer else "",
                segments=",".join(state.names),
                removed=state.removed_count,
                pipeline=PIPELINE,
            )
        )
        plan.report.version = plan.version
        plan.report.switched = True
        plan.report.segments = len(state.segments)

    def _collect(self, plan: Plan, state: VersionState) -> None:
        """Drop what neither the new version nor the previous one uses."""
        keep = set(state.names) | (set(plan.state.names) if plan.state else set())
        if plan.pointer and plan.state is None:
            keep |= set(plan.pointer.segment_names)
        versions = {plan.version} | ({plan.pointer.version} if plan.pointer else set())
        for other in self.store.version_collections():
            if other not in keep:
                self.store.drop(other)
        self.store.drop_states(versions)
        self.catalog.prune(keep, versions)

    def _embed_records(
        self, records: list[Record], tick: Callable[[int], None]
    ) -> dict[str, tuple[Any, dict[str, str]]]:
        """Vectors of the records' contextual texts and, where the model can give them
        from the same pass, of each of their sentences."""
        embedder = self._embed()
        texts, spans = [], []
        for record in records:
            texts.append(contextual_text(chunk_context(record.metadata), record.text))
            shift = len(texts[-1]) - len(record.text)
            spans.append([(a + shift, b + shift) for a, b in parse_spans(record.metadata)])
        shas = [r.metadata[cm.TEXT_SHA] for r in records]
        with_spans = getattr(embedder, "embed_with_spans", None)
        if with_spans is None:
            vectors = embedder.embed_documents(texts, progress=tick)
            return {sha: (vector, {}) for sha, vector in zip(shas, vectors, strict=True)}
        vectors, parts = with_spans(texts, spans, progress=tick)
        return {
            sha: (vector, {SENTENCE_VECTORS: pack_vectors(part)})
            for sha, vector, part in zip(shas, vectors, parts, strict=True)
        }
