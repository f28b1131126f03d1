"""Hybrid retrieval: dense (Chroma) and BM25, fused.

Each list's top candidates are scaled to [0, 1] (min-max) and added with equal
weights. On the SQuAD corpus this beats reciprocal rank fusion (hit@5 0.956 against
0.933 with k=60, chunks of 200 tokens) because it keeps how far apart the scores are,
not only their order.

The retriever follows the index pointer: when a rebuild (here or on another machine
sharing the Chroma server) publishes a new version, the next search after at most
`refresh_seconds` uses it. A version is a few segments (Chroma collections): each is
asked for its nearest chunks, over-fetching by the share of its chunks the version has
removed, and the removed ones are left out before the lists are merged.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from attache.errors import NoIndex
from attache.index import chunk_meta as cm

if TYPE_CHECKING:
    import numpy as np

    from attache.index.catalog import VersionState
    from attache.index.embedding import Embedder
    from attache.index.lexical import VersionLexical
    from attache.index.store import ChromaStore, Pointer

DENSE_WEIGHT = 0.5
CANDIDATES = 30


def _min_max(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {k: (v - low) / span if span > 1e-9 else 1.0 for k, v in scores.items()}



@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: `text == document_text[start:end]`."""

    id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float
    dense: float  # cosine similarity to the question (0 when not in the dense candidates)
    lexical: float  # BM25 score (0 when not in the lexical candidates)
    metadata: dict[str, Any]


@dataclass
class _Version:
    pointer: Pointer
    state: VersionState
    lexical: VersionLexical


class Retriever:
    """Searches the current index version."""

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        data_dir: Any,
        refresh_seconds: float = 2.0,
        candidates: int = CANDIDATES,
        cache_size: int = 4096,
    ) -> None:
        from attache.index.catalog import Catalog

        self.store = store
        self.embedder = embedder
        self.catalog = Catalog(data_dir)
        self.refresh_seconds = refresh_seconds
        self.candidates = candidates
        self._version: _Version | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._records: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        self.cache_size = cache_size

    @property
    def pointer(self) -> Pointer:
        return self._current().pointer

    @property
    def version(self) -> int | None:
        """The index version the last search used (None before the first)."""
        current = self._version
        return current.pointer.version if current is not None else None

    def _current(self) -> _Version:
        now = time.monotonic()
        with self._lock:
            if self._version is None or now - self._checked >= self.refresh_seconds:
                pointer = self.store.pointer()
                self._checked = now
                if pointer is None:
                    raise NoIndex("nothing is indexed yet: run `attache index rebuild`")
                if self._version is None or self._version.pointer != pointer:
                    from attache.index.catalog import version_state

                    state = version_state(self.store, pointer)
                    self._version = _Version(
                        pointer, state, self.catalog.lexical(self.store, pointer))
                    self._records.clear()
            return self._version

    def _fetch(self, where: dict[str, str], ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Chunk texts and metadata, from the cache of recent ones or from the segments
        (`where`: chunk id to segment) in Chroma."""
        with self._lock:
            found = {i: self._records[i] for i in ids if i in self._records}
        missing: dict[str, list[str]] = {}
        for i in ids:
            if i not in found:
                missing.setdefault(where[i], []).append(i)
        if missing:
            fetched = {
                r.id: (r.text, r.metadata)
                for segment, chunks in missing.items()
                for r in self.store.get(segment, chunks)
            }
            found.update(fetched)
            with self._lock:
                self._records.update(fetched)
                while len(self._records) > self.cache_size:
                    self._records.popitem(last=False)
        return found

    def refresh(self) -> None:
        """Check the pointer on the next search, whatever `refresh_seconds` says."""
        with self._lock:
            self._checked = float("-inf")

    def _dense(self, version: _Version, vector: Any, pool: int) -> dict[str, tuple[float, str]]:
        """The `pool` nearest chunks of the version: chunk id to (cosine similarity,
        segment)."""
        state = version.state
        found: dict[str, tuple[float, str]] = {}
        for segment, count in state.segments:
            removed = state.removed_in(segment)
            live = count - len(removed)
            if live <= 0:
                continue
            # expect removed chunks among the nearest in proportion to their share
            want = min(count, pool + len(removed) if len(removed) <= 4 * pool
                       else int(pool * count / live * 1.5) + pool)
            while True:
                hits = self.store.query(segment, vector, want, with_records=False)
                kept = [h for h in hits if h.id not in removed]
                if len(kept) >= min(pool, live) or want >= count:
                    break
                want = min(count, want * 2)
            for hit in kept:
                similarity = 1.0 - hit.distance
                if hit.id not in found or found[hit.id][0] < similarity:
                    found[hit.id] = (similarity, segment)
        best = sorted(found, key=lambda i: -found[i][0])[:pool]
        return {i: found[i] for i in best}

    def warm_up(self, vector: Any) -> None:
        """Have Chroma load the vector index of each segment (a store of a million chunks
        takes seconds), so that the first question does not wait for it."""
        self._dense(self._current(), vector, 1)

    def lexical(self) -> VersionLexical:
        """The BM25 index of the version the last search used (so an answer's term weights
        come from the version its passages came from), loading one if none was."""
        version = self._version
        return version.lexical if version is not None else self._current().lexical

    def search(self, query: str, k: int = 5, vector: np.ndarray | None = None) -> list[Passage]:
        """The `k` best passages for `query`, best first."""
        version = self._current()
        if vector is None:
            vector = self.embedder.embed_query(query)
        pool = max(self.candidates, k)
        dense_hits = self._dense(version, vector, pool)
        lexical_hits = version.lexical.hits(query, pool)

        dense = {i: similarity for i, (similarity, _) in dense_hits.items()}
        lexical = {chunk: score for chunk, score, _ in lexical_hits}
        segments = {chunk: segment for chunk, _, segment in lexical_hits}
        segments.update({chunk: segment for chunk, (_, segment) in dense_hits.items()})
        fused: dict[str, float] = {}
        for weight, scores in ((DENSE_WEIGHT, dense), (1 - DENSE_WEIGHT, lexical)):
            for chunk, value in _min_max(scores).items():
                fused[chunk] = fused.get(chunk, 0.0) + weight * value
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        records = self._fetch(segments, best)
        passages = []
        for chunk in best:
            if chunk not in records:
                continue
            text, meta = records[chunk]
            passages.append(
                Passage(
                    id=chunk,
                    source=str(meta.get(cm.SOURCE, "")),
                    title=str(meta.get(cm.TITLE, "")),
                    text=text,
                    start=int(meta.get(cm.START, 0)),
                    end=int(meta.get(cm.END, 0)),
                    score=fused[chunk],
                    dense=dense.get(chunk, 0.0),
                    lexical=lexical.get(chunk, 0.0),
                    metadata=meta,
                )
            )
        return passages
