"""The BM25 indexes (bm25s) over the same chunks as a Chroma version.

Each segment of a version has its own BM25 index, built once when the segment is
written (segments never change). A version's BM25 is its segments' indexes searched
together (`VersionLexical`): term weights (IDF) come from all of them at once, and the
chunks the version no longer holds score nothing. Each index is a cache: it can always
be rebuilt from the chunk texts Chroma holds, which is how a reader with an empty data
folder gets one.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

IDS_FILE = "ids.json"
SPLITTER = r"(?u)\b\w+\b"
BUILD_BATCH = 10_000  # texts tokenized at a time


def _tokenizer() -> Any:
    import bm25s
    import Stemmer

    return bm25s.tokenization.Tokenizer(
        lower=True, splitter=SPLITTER, stopwords="en", stemmer=Stemmer.Stemmer("english")
    )


class LexicalBuilder:
    """A BM25 index built from chunks given a batch at a time: only each chunk's token
    ids are kept (4 bytes a token), not its text, so a large index can be built from
    texts streamed out of Chroma or made on the fly."""

    def __init__(self) -> None:
        self._tokenizer = _tokenizer()
        self._tokens: list[array[int]] = []
        self.ids: list[str] = []

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        tokens = self._tokenizer.tokenize(
            list(texts), update_vocab=True, return_as="ids", show_progress=False
        )
        self._tokens.extend(array("i", t) for t in tokens)
        self.ids.extend(ids)

    def build(self) -> LexicalIndex:
        import bm25s
        from bm25s.tokenization import Tokenized

        empty = not self._tokens
        if empty:  # the tokenizer's vocabulary of an empty index
            self.add([], [])
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        with warnings.catch_warnings():
            if empty:  # no documents, no mean length: numpy says so, and nothing is wrong
                warnings.simplefilter("ignore", RuntimeWarning)
            retriever.index(Tokenized(self._tokens, self._tokenizer.get_vocab_dict()),
                            show_progress=False)
        self._tokens = []
        return LexicalIndex(retriever, self._tokenizer, self.ids)


class LexicalIndex:
    """BM25 over chunk texts, answering with chunk ids."""

    def __init__(self, retriever: Any, tokenizer: Any, ids: list[str]) -> None:
        self._retriever = retriever
        self._tokenizer = tokenizer
        self.ids = ids

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> LexicalIndex:
        builder = LexicalBuilder()
        for start in range(0, len(texts), BUILD_BATCH):
            builder.add(ids[start : start + BUILD_BATCH], texts[start : start + BUILD_BATCH])
        return builder.build()

    def save(self, directory: Path) -> None:
        """Write to `directory` via a temporary sibling, then rename: all or nothing."""
        directory = Path(directory)
        tmp = directory.with_name(f".{directory.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self._retriever.save(str(tmp), show_progress=False)
        self._tokenizer.save_vocab(str(tmp))
        (tmp / IDS_FILE).write_text(json.dumps(self.ids), encoding="utf-8")
        if directory.exists():
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
            return
        try:
            tmp.rename(directory)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        import bm25s

        directory = Path(directory)
        ids = json.loads((directory / IDS_FILE).read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
        tokenizer = _tokenizer()
        tokenizer.load_vocab(str(directory))
        return cls(retriever, tokenizer, ids)

    def document_frequencies(self) -> dict[str, int]:
        """How many chunks hold each (stemmed) term."""
        import numpy as np

        counts = np.diff(self._retriever.scores["indptr"])
        return {
            term: int(counts[i])
            for term, i in self._retriever.vocab_dict.items()
            if term and i < len(counts)
        }

    @property
    def size(self) -> int:
        return len(self.ids)

    def _token_ids(self, query: str) -> list[int]:
        """The query's terms that this index knows, as token ids (none for an empty index)."""
        if not self.ids:
            return []
        tokens = self._tokenizer.tokenize(
            [query], update_vocab=False, return_as="ids", show_progress=False
        )
        return list(tokens[0]) if tokens and tokens[0] else []

    def stems(self, query: str) -> list[str]:
        """The query's terms that this index knows, as stems (repeats kept)."""
        ids = self._token_ids(query)
        if not ids:
            return []
        if not hasattr(self, "_names"):
            self._names = {i: t for t, i in self._retriever.vocab_dict.items()}
        return [self._names.get(int(t), "") for t in ids if self._names.get(int(t), "")]

    def frequency(self, stem: str) -> int:
        """How many chunks of this index hold `stem`."""
        column = self._retriever.vocab_dict.get(stem)
        if column is None:
            return 0
        indptr = self._retriever.scores["indptr"]
        return int(indptr[column + 1] - indptr[column]) if column + 1 < len(indptr) else 0

    def weighted_scores(self, weights: dict[str, float]) -> Any:
        """BM25 scores of every chunk, each stem's contribution times its weight (a weight
        of 1 for every query term gives bm25s's own scores)."""
        import numpy as np

        scores = self._retriever.scores
        data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
        total = np.zeros(len(self.ids), dtype=np.float32)
        for stem, weight in weights.items():
            column = self._retriever.vocab_dict.get(stem)
            if column is None or column + 1 >= len(indptr):
                continue
            start, end = indptr[column], indptr[column + 1]
            np.add.at(total, indices[start:end], weight * data[start:end])
        return total

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Up to `k` (chunk id, BM25 score) pairs, best first; only positive scores."""
        ids = self._token_ids(query)
        if not ids:
            return []
        import numpy as np

        scores = self._retriever.get_scores(ids)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[int(d)], float(scores[d])) for d in top if scores[d] > 0]


def _idf(df: int, n: int) -> float:
    """bm25s's default (Lucene) inverse document frequency."""
    import math

    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class VersionLexical:
    """A version's BM25: its segments' indexes searched as one, without the chunks the
    version no longer holds.

    Each stem's weight is its IDF over all the segments (chunks the version dropped still
    count until their segment is rewritten, as in Lucene), so a chunk scores what it
    would in one index built over the version, but for length normalisation, which each
    segment does against its own average chunk length. With one segment and no removed
    chunk this is exactly that segment's bm25s index.
    """

    def __init__(self, segments: list[tuple[str, LexicalIndex]], removed: dict[str, set[str]]):
        import numpy as np

        self.segments = segments
        self.removed = removed
        self._masks: list[Any] = []
        ids: list[str] = []
        for name, index in segments:
            gone = removed.get(name, set())
            mask = (np.fromiter((i in gone for i in index.ids), dtype=bool, count=index.size)
                    if gone else None)
            self._masks.append(mask if mask is not None and mask.any() else None)
            ids.extend([i for i in index.ids if i not in gone] if gone else index.ids)
        self.ids = ids
        self._total = sum(index.size for _, index in segments)

    def document_frequencies(self) -> dict[str, int]:
        """How many chunks hold each (stemmed) term, over all the segments."""
        if len(self.segments) == 1:
            return self.segments[0][1].document_frequencies()
        counts: dict[str, int] = {}
        for _, index in self.segments:
            for term, n in index.document_frequencies().items():
                counts[term] = counts.get(term, 0) + n
        return counts

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Up to `k` (chunk id, BM25 score) pairs, best first; only positive scores."""
        return [(chunk, score) for chunk, score, _ in self.hits(query, k)]

    def hits(self, query: str, k: int) -> list[tuple[str, float, str]]:
        """Up to `k` (chunk id, BM25 score, segment) triples, best first."""
        import numpy as np

        if not self.segments:
            return []
        if len(self.segments) == 1 and self._masks[0] is None:
            name, index = self.segments[0]
            return [(chunk, score, name) for chunk, score in index.search(query, k)]
        terms: dict[str, int] = {}
        per_segment = []
        for _, index in self.segments:
            stems = index.stems(query)
            per_segment.append(stems)
            for stem in stems:
                terms.setdefault(stem, 0)
        frequencies = {
            stem: sum(index.frequency(stem) for _, index in self.segments) for stem in terms
        }
        found: list[tuple[str, float, str]] = []
        for (name, index), mask, stems in zip(
            self.segments, self._masks, per_segment, strict=True
        ):
            if not stems:
                continue
            weights: dict[str, float] = {}
            for stem in stems:  # a repeated query term counts each time, as in bm25s
                weights[stem] = weights.get(stem, 0.0) + _idf(
                    frequencies[stem], self._total) / _idf(index.frequency(stem), index.size)
            scores = index.weighted_scores(weights)
            if mask is not None:
                scores[mask] = 0.0
            top = min(k, len(scores))
            best = np.argpartition(-scores, top - 1)[:top] if top < len(scores) else np.arange(
                len(scores))
            found.extend((index.ids[int(d)], float(scores[d]), name)
                         for d in best if scores[d] > 0)
        found.sort(key=lambda pair: -pair[1])
        return found[:k]
