"""Patterns the answerer runs on document sentences take linear time (n vs 4n)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from linear import assert_linear

from attache.retrieval import conversation, extractive, names, scoring


CASES: dict[str, tuple[Callable[[str], object], Callable[[int], str]]] = {
    "name-initials": (extractive._NAME.findall, lambda n: "A." * (n // 2)),
    "name-long-word": (extractive._NAME.findall, lambda n: "A" + "a" * n + "."),
    "conversation-names": (conversation._NAME.findall, lambda n: "A." * (n // 2)),
    "conversation-words": (conversation._NAME.findall, lambda n: "Ab of " * (n // 6)),
    "reference": (scoring.is_reference, lambda n: ")" + " " * n + "x"),
    "unnamed": (scoring._UNNAMED.findall, lambda n: "unnamed " * (n // 8)),
    "person-runs": (names.names_person, lambda n: "Ab " * (n // 3)),
    "nations": (names.nations_in, lambda n: "South " * (n // 6)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_answer_patterns_take_linear_time(name: str) -> None:
    function, make = CASES[name]
    assert_linear(function, make)


def test_names_are_still_found() -> None:
    assert extractive._NAME.findall("Mr. Smith met McDonald's O'Neil in U.S.Army") == [
        "Mr", "Smith", "McDonald's", "O'Neil", "U.S.Army"
    ]
