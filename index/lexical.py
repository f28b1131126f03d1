"""The BM25 index (bm25s) over the same chunks as a Chroma version.

It is a cache: it can always be rebuilt from the chunk texts Chroma holds, which is
how a reader with an empty data folder gets one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

IDS_FILE = "ids.json"
SPLITTER = r"(?u)\b\w+\b"


def _tokenizer() -> Any:
    import bm25s
    import Stemmer

    return bm25s.tokenization.Tokenizer(
        lower=True, splitter=SPLITTER, stopwords="en", stemmer=Stemmer.Stemmer("english")
    )


class LexicalIndex:
    """BM25 over chunk texts, answering with chunk ids."""

    def __init__(self, retriever: Any, tokenizer: Any, ids: list[str]) -> None:
        self._retriever = retriever
        self._tokenizer = tokenizer
        self.ids = ids

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> LexicalIndex:
        import bm25s

        tokenizer = _tokenizer()
        tokens = tokenizer.tokenize(list(texts), return_as="tuple", show_progress=False)
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index(tokens, show_progress=False)
        return cls(retriever, tokenizer, list(ids))

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

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Up to `k` (chunk id, BM25 score) pairs, best first; only positive scores."""
        if not self.ids:
            return []
        tokens = self._tokenizer.tokenize(
            [query], update_vocab=False, return_as="ids", show_progress=False
        )
        if not tokens or not tokens[0]:
            return []
        import numpy as np

        scores = self._retriever.get_scores(tokens[0])
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[int(d)], float(scores[d])) for d in top if scores[d] > 0]
