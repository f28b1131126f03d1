"""Answers as data: the answer text, its citations and the passages, until rendering.

`compose` reranks the retrieved passages by their best sentence, picks the answer
sentences, and decides whether the documents answer at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from attache.models import AskResult, Citation, PassageRef
from attache.retrieval.extractive import (
    AnalysisCache,
    Candidate,
    Idf,
    QuestionProfile,
    candidates,
    has_new_name,
    profile,
    score,
)

if TYPE_CHECKING:
    from attache.retrieval.search import Passage

NO_ANSWER = "The documents don't answer this question."
PASSAGES = 5
RERANK_WEIGHT = 1.0
MAX_ANSWER_CHARS = 350  # a second sentence joins only while the answer stays this short
MAX_COMPLEMENT_CHARS = 600
COMPLEMENT_SHARE = 0.25
SECOND_SOURCE_RATIO = 0.8
# Answer only when the evidence reaches this (see `evidence`): set so that on the SQuAD
# corpus, where every question is answerable, about 1% are refused.
ANSWER_THRESHOLD = 1.35
# Taken from the evidence when the best sentence lacks the kind of answer asked for.
TYPE_PENALTY = 1.0


def provenance(metadata: dict[str, Any]) -> dict[str, str | None]:
    """A citation's url, outlet and date, from its chunk's metadata."""
    return {key: (str(metadata[key]) if metadata.get(key) else None)
            for key in ("url", "outlet", "date")}


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    answer: str
    citations: list[Citation]
    passages: list[Passage]
    seconds: float = 0.0
    resolved_question: str = ""
    note: str = ""
    evidence: float = 0.0
    log_id: int | None = None  # the question's row in the question log, when logged

    def to_result(self, question_id: str | None = None) -> AskResult:
        """The `ask --json` contract."""
        return AskResult(
            question=self.question,
            answered=self.answered,
            answer=self.answer,
            citations=self.citations,
            passages=[
                PassageRef(
                    source=p.source, title=p.title, text=p.text,
                    score=round(p.score, 4), start=p.start, end=p.end,
                )
                for p in self.passages
            ],
            seconds=round(self.seconds, 4),
            resolved_question=(
                self.resolved_question
                if self.resolved_question and self.resolved_question != self.question else None
            ),
            note=self.note or None,
            id=question_id,
        )


@dataclass(frozen=True)
class Selection:
    """The outcome of extractive selection, before rendering."""

    passages: list[Passage]
    sentences: list[Candidate]  # the answer's, best first
    best: Candidate | None
    evidence: float
    ranked: list[Candidate]  # every sentence of the passages, best first

    @property
    def answered(self) -> bool:
        return self.best is not None and self.evidence >= ANSWER_THRESHOLD


def evidence(best: Candidate, prof: QuestionProfile) -> float:
    """How strongly the best sentence answers: the question's terms it holds (those only
    its passage holds count for less), how close it is in meaning, less the weight of
    question terms no document contains, and less when the sentence lacks the kind of
    answer asked for (a date for "when", a number for "how many", the definition for an
    acronym, the speaker for "what did X say")."""
    typed = ("when", "number", "acronym", "reaction")
    missing_type = TYPE_PENALTY * (1.0 - best.type_match) if prof.kind in typed else 0.0
    return (
        0.5 * best.coverage
        + best.own
        + 3.0 * max(best.semantic, 0.0)
        - prof.unknown
        - missing_type
    )


def _fits(best: Candidate, other: Candidate, prof: QuestionProfile) -> bool:
    """Whether a runner-up sentence joins the best one: while the two stay short, or,
    up to a longer limit, when it holds a question term the best one lacks (the best
    names the subject, the other says what was asked about it)."""
    length = len(best.text) + len(other.text)
    if length <= MAX_ANSWER_CHARS:
        return True
    adds = sum(w for s, w in prof.weights.items() if s in other.terms and s not in best.terms)
    return length <= MAX_COMPLEMENT_CHARS and adds >= COMPLEMENT_SHARE * prof.total


_PRONOUN = re.compile(r"\b(he|she|they|his|her|their|him|them)\b", re.IGNORECASE)


def _antecedent(prof: QuestionProfile, best: Candidate, ranked: list[Candidate]) -> Candidate | None:
    """For a "who" question answered by "he said …", the sentence before it that names
    the person, from the same passage."""
    if prof.kind != "who" or not _PRONOUN.search(best.text):
        return None
    before = [c for c in ranked if c.passage.id == best.passage.id and c.end <= best.start]
    if not before:
        return None
    previous = max(before, key=lambda c: c.end)
    return previous if has_new_name(previous.text, prof.text) else None


def select(
    question: str,
    passages: list[Passage],
    idf: Idf,
    k: int = PASSAGES,
    context: str = "",
    query_vector: Any = None,
    cache: AnalysisCache | None = None,
) -> Selection:
    """Rerank passages by their best sentence and choose the answer sentences."""
    if not passages:
        return Selection([], [], None, 0.0, [])
    prof = profile(question, idf, context)
    ranked = score(prof, candidates(passages, query_vector, cache))
    best_of: dict[str, float] = {}
    for item in ranked:
        best_of.setdefault(item.passage.id, item.score)
    reranked = [
        replace(p, score=p.score + RERANK_WEIGHT * best_of.get(p.id, 0.0)) for p in passages
    ]
    kept = sorted(reranked, key=lambda p: -p.score)[:k]
    kept_ids = {p.id for p in kept}
    ranked = [c for c in ranked if c.passage.id in kept_ids]
    if not ranked:
        return Selection(kept, [], None, 0.0, [])
    best = ranked[0]
    chosen = [best]
    antecedent = _antecedent(prof, best, ranked)
    if antecedent is not None:
        chosen.insert(0, antecedent)
    other_source = next(
        (
            c for c in ranked[1:]
            if c.passage.source != best.passage.source
            and c.score >= SECOND_SOURCE_RATIO * best.score
        ),
        None,
    )
    if other_source is not None:
        chosen.append(_antecedent(prof, other_source, ranked) or other_source)
    elif antecedent is None:
        runner_up = next(
            (c for c in ranked[1:3] if _fits(best, c, prof)), None
        )
        if runner_up is not None:
            chosen.append(runner_up)
    return Selection(kept, chosen, best, evidence(best, prof), ranked)


def cite(sentences: list[Candidate]) -> tuple[str, list[Citation]]:
    """The answer text with [n] markers, and its citations (one per sentence)."""
    citations: list[Citation] = []
    parts = []
    for item in sentences:
        n = len(citations) + 1
        heading, page = place(item.passage, item.start)
        citations.append(
            Citation(
                n=n, source=item.passage.source, title=item.passage.title,
                quote=item.text, start=item.start, end=item.end,
                heading=heading or None, page=page,
                **provenance(item.passage.metadata),
            )
        )
        parts.append(f"{item.text} [{n}]")
    return " ".join(parts), citations


def place(passage: Passage, start: int) -> tuple[str, int | None]:
    """The heading path and the page (PDF) at document offset `start` in a passage."""
    from attache.index.documents.structure import located

    return located(passage.metadata, start - passage.start)
