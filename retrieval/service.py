"""The service object every front end calls: rebuild, status, and (later) answers."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.build import ProgressCallback, RebuildReport
    from index.embedding import Embedder
    from index.settings import Settings
    from index.store import ChromaStore


class Attache:
    """One instance per process: owns the store and the embedding model."""

    def __init__(
        self,
        settings: Settings,
        store: ChromaStore | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        from index.store import ChromaStore

        self.settings = settings
        self.store = store or ChromaStore(settings.data_dir, settings.chroma_url)
        self._embedder = embedder
        self._embedder_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        with self._embedder_lock:
            if self._embedder is None:
                from index.embedding import load_embedder

                self._embedder = load_embedder(self.settings)
            return self._embedder

    def rebuild(self, progress: ProgressCallback | None = None) -> RebuildReport:
        """Bring the index up to date with the documents folder."""
        from index.build import Indexer

        return Indexer(self.settings, self.store, lambda: self.embedder, progress).rebuild()

    def status(self) -> dict[str, Any]:
        """The indexed documents and how the index was built."""
        from index.catalog import Catalog

        pointer = self.store.pointer()
        if pointer is None:
            return {
                "documents": [],
                "chunks": 0,
                "embedding_model": None,
                "built_at": None,
                "version": None,
                "store": self.store.location,
            }
        manifest = Catalog(self.settings.data_dir).manifest(self.store, pointer)
        documents = [
            {
                "source": entry.source,
                "title": entry.title,
                "chunks": entry.chunks,
                "kind": entry.kind,
                "outlet": entry.outlet,
                "author": entry.author,
                "date": entry.date,
                "sha256": entry.sha256,
            }
            for entry in manifest.values()
        ]
        return {
            "documents": documents,
            "chunks": sum(d["chunks"] for d in documents),
            "embedding_model": pointer.embedding_model,
            "built_at": pointer.built_at,
            "version": pointer.version,
            "chunk_size": pointer.chunk_size,
            "chunk_overlap": pointer.chunk_overlap,
            "store": self.store.location,
        }
