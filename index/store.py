"""Chroma: the one module that talks to chromadb.

Layout in Chroma (embedded `PersistentClient` in `DATA_DIR/chroma`, or a server):
- `attache-vNNNNNN` (and `attache-vNNNNNN-K`): segments, collections of chunk
  records (id, vector, text, flat metadata) written by the rebuild that made version
  NNNNNN. A segment is filled completely before any version names it, and never
  changes afterwards. Records are written through llama-index's `ChromaVectorStore`, so
  llama-index can read the collections too.
- `attache-meta`: the record `current` (the pointer) names the version readers use
  and its segments; one `state-NNNNNN` record per version lists the chunks of its
  segments that the version no longer holds (its tombstones). A rebuild writes its
  segments and its state record, then replaces the pointer in one write: readers
  switch from one complete version to the next, never to a partial one.

Collections are created without an embedding function and every vector is given
explicitly, so Chroma's own default model (which would download) never runs.

An embedded store also keeps, beside Chroma's files, a copy of the pointer its writer
published last (`LOCAL_POINTER`), which the writer reads without opening Chroma (see
`ChromaStore.published`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from attache.errors import StoreError

if TYPE_CHECKING:
    import numpy as np

META_COLLECTION = "attache-meta"
POINTER_ID = "current"
VERSION_PREFIX = "attache-v"
MODEL_KEY = "attache_embedding_model"
LOCAL_POINTER = "attache-pointer.json"
CHROMA_DB = "chroma.sqlite3"  # embedded Chroma's database file, in its folder



@dataclass(frozen=True)
class Pointer:
    """Which collection holds the current index, and how it was built."""

    collection: str
    version: int
    embedding_model: str
    built_at: str
    chunk_size: int
    chunk_overlap: int
    documents: int
    chunks: int
    previous: str = ""
    segments: str = ""  # the version's segments, oldest first, comma-separated
    removed: int = 0  # how many chunks of those segments the version no longer holds
    pipeline: int = 1  # `build.PIPELINE` when it was built (1: before it was recorded)

    @property
    def segment_names(self) -> list[str]:
        return [n for n in self.segments.split(",") if n] or [self.collection]

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> Pointer:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in meta.items() if k in fields})


@dataclass(frozen=True)
class Record:
    """A chunk as stored: id, text and flat metadata (str, int, float or bool values)."""

    id: str
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    id: str
    text: str
    metadata: dict[str, Any]
    distance: float


def version_name(version: int, part: int = 0) -> str:
    return f"{VERSION_PREFIX}{version:06d}" + (f"-{part}" if part else "")


def version_of(name: str) -> int | None:
    """The version whose rebuild wrote segment `name` (None for other collections)."""
    if not name.startswith(VERSION_PREFIX):
        return None
    number, _, part = name[len(VERSION_PREFIX) :].partition("-")
    if number.isdigit() and (not part or part.isdigit()):
        return int(number)
    return None


def state_id(version: int) -> str:
    return f"state-{version:06d}"


def _chroma_settings():  # type: ignore[no-untyped-def]
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


class ChromaStore:
    """Versioned chunk collections in embedded Chroma or a Chroma server."""

    def __init__(self, data_dir: Path, url: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.url = url
        self._client: Any = None
        self._collections: dict[str, Any] = {}

    @property
    def location(self) -> str:
        return self.url or str(self.data_dir / "chroma")

    @property
    def client(self) -> Any:
        if self._client is None:
            os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
            import chromadb

            try:
                if self.url:
                    parsed = urlparse(self.url if "://" in self.url else f"http://{self.url}")
                    self._client = chromadb.HttpClient(
                        host=parsed.hostname or "127.0.0.1",
                        port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                        ssl=parsed.scheme == "https",
                        settings=_chroma_settings(),
                    )
                else:
                    path = self.data_dir / "chroma"
                    path.mkdir(parents=True, exist_ok=True)
                    self._client = chromadb.PersistentClient(
                        path=str(path), settings=_chroma_settings()
                    )
            except Exception as exc:  # chromadb raises many kinds here
                raise StoreError(f"cannot open Chroma at {self.location}: {exc}") from exc
        return self._client

    # --- collections -----------------------------------------------------

    def _collection(self, name: str) -> Any:
        if name not in self._collections:
            try:
                self._collections[name] = self.client.get_collection(
                    name, embedding_function=None
                )
            except Exception as exc:
                raise StoreError(f"collection {name} not found in {self.location}") from exc
        return self._collections[name]

    def version_collections(self) -> list[str]:
        names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        return sorted(n for n in names if version_of(n) is not None)

    def create(self, name: str, embedding_model: str) -> None:
        collection = self.client.get_or_create_collection(
            name,
            embedding_function=None,
            metadata={"hnsw:space": "cosine", MODEL_KEY: embedding_model},
        )
        self._collections[name] = collection

    def model_of(self, name: str) -> str | None:
        return (self._collection(name).metadata or {}).get(MODEL_KEY)

    def drop(self, name: str) -> None:
        self._collections.pop(name, None)
        try:
            self.client.delete_collection(name)
        except Exception:  # already gone
            pass

    def count(self, name: str) -> int:
        return int(self._collection(name).count())

    @property
    def max_batch(self) -> int:
        try:
            return max(1, int(self.client.get_max_batch_size()))
        except Exception:
            return 1000

    # --- the pointer -----------------------------------------------------

    def _meta(self) -> Any:
        return self.client.get_or_create_collection(
            META_COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )

    def pointer(self) -> Pointer | None:
        """The current version, or None before the first build."""
        try:
            got = self._meta().get(ids=[POINTER_ID], include=["metadatas"])
        except Exception as exc:
            raise StoreError(f"cannot read the index pointer from {self.location}: {exc}") from exc
        metas = got.get("metadatas") or []
        if not metas or not metas[0]:
            return None
        return Pointer.from_metadata(dict(metas[0]))

    def publish(self, pointer: Pointer) -> None:
        """Switch readers to `pointer`'s version in one atomic write."""
        self.forget_published()
        self._meta().upsert(ids=[POINTER_ID], embeddings=[[1.0]], metadatas=[asdict(pointer)])
        self.record_published(pointer)

    # --- the writer's copy of the pointer ----------------------------------

    def _local_pointer(self) -> Path | None:
        return None if self.url else self.data_dir / "chroma" / LOCAL_POINTER

    def _database_id(self) -> list[int] | None:
        try:
            info = os.stat(self.data_dir / "chroma" / CHROMA_DB)
        except OSError:
            return None
        return [info.st_dev, info.st_ino]

    def published(self) -> Pointer | None:
        """The pointer this store's writer published last, read from its copy beside
        Chroma's files without opening Chroma: None with a Chroma server (another machine
        may publish there), without a copy, or when the database file is not the one the
        copy was written beside. The writer drops the copy before it switches the pointer
        and writes it after, so a copy that exists is the pointer Chroma holds; a Chroma
        folder deleted or replaced takes its copy with it."""
        path = self._local_pointer()
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["database"] != self._database_id():
                return None
            return Pointer.from_metadata(data["pointer"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def forget_published(self) -> None:
        path = self._local_pointer()
        if path is not None:
            path.unlink(missing_ok=True)

    def record_published(self, pointer: Pointer) -> None:
        """Keep a copy of `pointer`, the one Chroma holds now (the writer holds the lock)."""
        path, database = self._local_pointer(), self._database_id()
        if path is not None and database is not None:
            write_json_atomic(path, {"pointer": asdict(pointer), "database": database})

    def write_state(self, version: int, state: dict[str, Any]) -> None:
        """Store what a version holds beyond its pointer (written before it is published)."""
        self._meta().upsert(
            ids=[state_id(version)], embeddings=[[1.0]], documents=[json.dumps(state)],
            metadatas=[{"version": version}],
        )

    def state(self, version: int) -> dict[str, Any] | None:
        try:
            got = self._meta().get(ids=[state_id(version)], include=["documents"])
        except Exception as exc:
            raise StoreError(f"cannot read version {version} from {self.location}: {exc}") from exc
        documents = got.get("documents") or []
        return json.loads(documents[0]) if documents and documents[0] else None

    def drop_states(self, keep: set[int]) -> None:
        """Remove the state records of versions other than `keep`."""
        meta = self._meta()
        got = meta.get(where={"version": {"$gte": 0}}, include=["metadatas"])
        stale = [i for i, m in zip(got["ids"], got["metadatas"], strict=True)
                 if int((m or {}).get("version", -1)) not in keep]
        if stale:
            meta.delete(ids=stale)

    # --- records ---------------------------------------------------------

    def add(self, name: str, records: Sequence[Record], vectors: np.ndarray) -> None:
        """Write records with their vectors, in batches Chroma accepts."""
        from llama_index.core.schema import TextNode
        from llama_index.vector_stores.chroma import ChromaVectorStore

        store = ChromaVectorStore(chroma_collection=self._collection(name))
        step = self.max_batch
        for start in range(0, len(records), step):
            nodes = [
                TextNode(
                    id_=r.id,
                    text=r.text,
                    metadata=r.metadata,
                    embedding=vectors[start + i].tolist(),
                )
                for i, r in enumerate(records[start : start + step])
            ]
            store.add(nodes)

    def copy(self, source: str, target: str, ids: Sequence[str]) -> None:
        """Copy records (vectors included) between collections without re-embedding."""
        src, dst = self._collection(source), self._collection(target)
        step = self.max_batch
        for start in range(0, len(ids), step):
            got = src.get(
                ids=list(ids[start : start + step]),
                include=["embeddings", "documents", "metadatas"],
            )
            if got["ids"]:
                dst.add(
                    ids=got["ids"],
                    embeddings=got["embeddings"],
                    documents=got["documents"],
                    metadatas=got["metadatas"],
                )

    def copy_live(self, source: str, target: str, skip: set[str]) -> Iterator[Record]:
        """Copy every record of `source` whose id is not in `skip` into `target`, page by
        page (vectors included), yielding each copied record."""
        dst = self._collection(target)
        for batch in self._pages(source, include=["embeddings", "documents", "metadatas"]):
            keep = [i for i, rid in enumerate(batch["ids"]) if rid not in skip]
            if not keep:
                continue
            ids = [batch["ids"][i] for i in keep]
            texts = [batch["documents"][i] for i in keep]
            metas = [batch["metadatas"][i] for i in keep]
            dst.upsert(ids=ids, embeddings=[batch["embeddings"][i] for i in keep],
                       documents=texts, metadatas=metas)
            for rid, text, meta in zip(ids, texts, metas, strict=True):
                yield Record(rid, text or "", dict(meta or {}))

    def delete(self, name: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        collection = self._collection(name)
        for start in range(0, len(ids), self.max_batch):
            collection.delete(ids=ids[start : start + self.max_batch])

    def ids(self, name: str) -> set[str]:
        return {rid for batch in self._pages(name, include=[]) for rid in batch["ids"]}

    def records(self, name: str) -> Iterator[Record]:
        """Every record of a collection (text and metadata, no vectors), page by page."""
        for batch in self._pages(name, include=["documents", "metadatas"]):
            for rid, text, meta in zip(
                batch["ids"], batch["documents"], batch["metadatas"], strict=True
            ):
                yield Record(rid, text or "", dict(meta or {}))

    def get(self, name: str, ids: Sequence[str]) -> list[Record]:
        """Records by id, in the order asked (missing ids are left out)."""
        got = self._collection(name).get(ids=list(ids), include=["documents", "metadatas"])
        found = {
            rid: Record(rid, text or "", dict(meta or {}))
            for rid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [found[i] for i in ids if i in found]

    def vectors_for(
        self, names: Iterable[str], key: str, values: Iterable[str], *fields: str
    ) -> dict[str, tuple[Any, dict[str, Any]]]:
        """Vectors already stored for records whose metadata `key` is in `values`, with
        those records' metadata `fields`."""
        wanted = list(dict.fromkeys(values))
        found: dict[str, tuple[Any, dict[str, Any]]] = {}
        for name in names:
            collection = self._collection(name)
            missing = [v for v in wanted if v not in found]
            for start in range(0, len(missing), 500):
                part = missing[start : start + 500]
                got = collection.get(where={key: {"$in": part}}, include=["embeddings", "metadatas"])
                for vector, meta in zip(got["embeddings"], got["metadatas"], strict=True):
                    extra = {f: meta[f] for f in fields if f in meta}
                    found.setdefault(meta[key], (vector, extra))
        return found

    def _pages(self, name: str, include: list[str]) -> Iterator[dict[str, Any]]:
        collection = self._collection(name)
        total = collection.count()
        step = self.max_batch
        for offset in range(0, total, step):
            yield collection.get(limit=step, offset=offset, include=include)

    def query(
        self, name: str, vector: Sequence[float], k: int, with_records: bool = True
    ) -> list[Hit]:
        """The `k` nearest records to `vector` (ids and distances only unless
        `with_records`)."""
        import numpy as np

        include = ["documents", "metadatas", "distances"] if with_records else ["distances"]
        got = self._collection(name).query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=k,
            include=include,
        )
        ids, distances = got["ids"][0], got["distances"][0]
        texts = got["documents"][0] if with_records else [""] * len(ids)
        metas = got["metadatas"][0] if with_records else [{}] * len(ids)
        return [
            Hit(rid, text or "", dict(meta or {}), float(dist))
            for rid, text, meta, dist in zip(ids, texts, metas, distances, strict=True)
        ]


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, ensure_ascii=False))  # in one pass of the C encoder
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
