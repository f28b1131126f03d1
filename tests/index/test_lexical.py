"""The BM25 index over chunk texts (index/lexical.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

from attache.index.lexical import LexicalIndex


def test_an_empty_index_builds_saves_and_loads_without_warnings(tmp_path: Path) -> None:
    # a segment whose every chunk was removed: numpy must not warn of a mean of nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = LexicalIndex.build([], [])
        empty.save(tmp_path / "empty")
    assert empty.ids == [] and LexicalIndex.load(tmp_path / "empty").ids == []


def test_a_chunk_is_found_by_its_own_words(tmp_path: Path) -> None:
    built = LexicalIndex.build(["a", "b"], ["The bureau opened in April.",
                                            "Dock workers returned to work in Antwerp."])
    built.save(tmp_path / "two")
    best, _ = LexicalIndex.load(tmp_path / "two").search("Antwerp dock workers", 1)[0]
    assert best == "b"
