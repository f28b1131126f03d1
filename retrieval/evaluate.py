"""`attache eval`: run a question file through the service and measure the answers.

Question files are JSON lines with `question` (and optionally `id`), plus either
SQuAD-style gold answers (`answers`, `doc`), the seeds format (`expect_any` with
`expect_source`), a comparison (`expect_sources`, every one cited, and `expect_any_each`,
one list of strings per side, any of which must be in the answer), or a refusal check
(`"impossible": true` as in SQuAD 2.0, or `"expect_refusal": true`).

Scored the SQuAD 2.0 way: answerable questions answered right, unanswerable ones
refused, overall accuracy, and the expected calibration error of `confidence`.
"""

from __future__ import annotations

import json
import re
import statistics
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attache.errors import MAX_QUESTION_CHARS
from attache.models import AskResult, EvalRow, EvalSummary, PassageRef

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, articles or extra spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    normalized = normalize(text)
    return any(gold and gold in normalized for gold in map(normalize, answers))


def read_questions(path: Path) -> list[dict[str, Any]]:
    questions = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc})") from None
            if not isinstance(item, dict) or not str(item.get("question", "")).strip():
                raise ValueError(f"{path}:{number}: no question")
            if len(str(item["question"])) > MAX_QUESTION_CHARS:
                raise ValueError(f"{path}:{number}: the question is longer than "
                                 f"{MAX_QUESTION_CHARS:,} characters")
            item.setdefault("id", str(number))
            questions.append(item)
    return questions


@dataclass
class Scores:
    total: int = 0
    refused: int = 0
    lengths: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    gold: int = 0  # questions with SQuAD-style gold answers
    hit1: int = 0
    hit5: int = 0
    answer_hit: int = 0
    checked: int = 0  # questions with seeds-style expectations
    passed: int = 0
    failures: list[str] = field(default_factory=list)
    answerable: int = 0
    answerable_right: int = 0
    unanswerable: int = 0
    unanswerable_refused: int = 0
    comparisons: int = 0
    comparisons_passed: int = 0
    # (confidence, right) of every answer given whose rightness is known
    calibration: list[tuple[float, bool]] = field(default_factory=list)

    def summary(self) -> EvalSummary:
        def share(n: int, d: int) -> float | None:
            return round(n / d, 4) if d else None

        from attache.retrieval.questionlog import percentile as nearest_rank

        def percentile(q: float) -> float | None:
            found = nearest_rank(self.latencies, q)
            return None if found is None else round(found * 1000, 1)

        data: dict[str, Any] = {
            "questions": self.total,
            "refused": self.refused,
            "refusal_rate": share(self.refused, self.total),
            "median_answer_chars": statistics.median(self.lengths) if self.lengths else None,
            "latency_ms_p50": percentile(0.50),
            "latency_ms_p95": percentile(0.95),
            "latency_ms_mean": (round(statistics.fmean(self.latencies) * 1000, 1)
                                if self.latencies else None),
        }
        if self.gold:
            data.update(
                hit_at_1=share(self.hit1, self.gold),
                hit_at_5=share(self.hit5, self.gold),
                answer_hit=share(self.answer_hit, self.gold),
            )
        if self.checked:
            data.update(passed=self.passed, checked=self.checked,
                        pass_rate=share(self.passed, self.checked))
        if self.answerable:
            data.update(answerable=self.answerable,
                        answerable_right=share(self.answerable_right, self.answerable))
        if self.unanswerable:
            data.update(unanswerable=self.unanswerable,
                        unanswerable_refused=share(self.unanswerable_refused, self.unanswerable))
        if self.comparisons:
            data.update(comparisons=self.comparisons, comparisons_passed=self.comparisons_passed)
        judged = self.answerable + self.unanswerable + self.comparisons
        if judged:
            right = self.answerable_right + self.unanswerable_refused + self.comparisons_passed
            data["overall_accuracy"] = share(right, judged)
        if self.calibration:
            data["ece"] = round(expected_calibration_error(self.calibration), 4)
        return EvalSummary(**data)


def expected_calibration_error(pairs: list[tuple[float, bool]], bins: int = 10) -> float:
    """Σ over equal-width confidence bins of (share of answers in the bin) × |accuracy in
    the bin − mean confidence in the bin|."""
    if not pairs:
        return 0.0
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(p, r) for p, r in pairs if low <= p < high or (b == bins - 1 and p == 1.0)]
        if inside:
            accuracy = sum(r for _, r in inside) / len(inside)
            mean = sum(p for p, _ in inside) / len(inside)
            total += len(inside) * abs(accuracy - mean)
    return total / len(pairs)


def judge(item: dict[str, Any], result: AskResult, scores: Scores) -> dict[str, bool]:
    """Score one result against its question's expectations; returns the verdicts."""
    verdict: dict[str, bool] = {}
    answer = result.answer if result.answered else ""
    scores.total += 1
    scores.latencies.append(result.seconds)
    if result.answered:
        scores.lengths.append(len(result.answer))
    else:
        scores.refused += 1
    if item.get("answers"):
        answers = item["answers"]
        doc = item.get("doc")

        def hit(passage: PassageRef) -> bool:
            return (doc is None or passage.source == doc) and contains_answer(
                passage.text, answers
            )

        scores.gold += 1
        verdict["hit_at_1"] = any(hit(p) for p in result.passages[:1])
        verdict["hit_at_5"] = any(hit(p) for p in result.passages[:5])
        verdict["answer_hit"] = bool(answer) and contains_answer(answer, answers)
        scores.hit1 += verdict["hit_at_1"]
        scores.hit5 += verdict["hit_at_5"]
        scores.answer_hit += verdict["answer_hit"]
    if item.get("recheck"):
        verdict["answered"] = result.answered
    impossible = bool(item.get("impossible") or item.get("expect_refusal"))
    right: bool | None = None
    if item.get("answers") and not impossible:
        right = verdict["answer_hit"]
    if "expect_sources" in item:
        cited = {c.source for c in result.citations}
        each = item.get("expect_any_each") or []
        ok = (
            result.answered
            and all(source in cited for source in item["expect_sources"])
            and all(any(w.lower() in answer.lower() for w in side) for side in each)
        )
        verdict["passed"] = ok
        if "expect_any_each" in item:  # a comparison (else: answered from these sources)
            scores.comparisons += 1
            scores.comparisons_passed += ok
        scores.checked += 1
        scores.passed += ok
        right = ok
        if not ok:
            scores.failures.append(f"{item['id']}: {item['question']}")
    elif "expect_any" in item or impossible:
        if impossible:
            ok = not result.answered
        elif "expect_any" not in item:
            cited = {c.source for c in result.citations}
            ok = result.answered and set(item["expect_sources"]) <= cited
        else:
            wanted = [w.lower() for w in item.get("expect_any", [])]
            source = item.get("expect_source")
            ok = (
                result.answered
                and any(w in answer.lower() for w in wanted)
                and (source is None or any(c.source == source for c in result.citations))
            )
            right = ok if right is None else right and ok
        if "expect_any" in item or item.get("expect_refusal"):
            verdict["passed"] = ok
            scores.checked += 1
            scores.passed += ok
            if not ok:
                scores.failures.append(f"{item['id']}: {item['question']}")
    if impossible:
        scores.unanswerable += 1
        scores.unanswerable_refused += not result.answered
        verdict["refused"] = not result.answered
        right = False
    elif right is not None and "expect_any_each" not in item:
        scores.answerable += 1
        scores.answerable_right += right
    if result.answered and right is not None and result.confidence is not None:
        scores.calibration.append((result.confidence, bool(right)))
    return verdict


def run(
    questions: list[dict[str, Any]],
    ask: Callable[[str], AskResult],
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[EvalRow, Scores]]:
    """Ask every question; yield each result (the `ask` schema plus `id`) with the
    running scores."""
    scores = Scores()
    for number, item in enumerate(questions, 1):
        result = ask(item["question"])
        verdicts = judge(item, result, scores)
        row = EvalRow(**result.model_dump(), verdict=verdicts or None)
        yield row.model_copy(update={"id": str(item["id"])}), scores
        if progress:
            progress(number, len(questions))
