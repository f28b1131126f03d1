"""`attache gaps`: what readers asked that the documents could not answer, grouped by
meaning.

Refused questions and answers voted 👎 are embedded with the index's own model and
grouped greedily: questions are taken most frequent first, and each joins the group
whose centroid it is closest to when the cosine similarity reaches `GROUP_THRESHOLD`
and the group asks for the same kind of answer (a date, a number, a name, a reaction;
a question of no particular kind goes with any), or starts a group of its own. Refused and 👎 questions are grouped apart (they call for
different work: adding a fact, or correcting one). A group's representative is its most
central question (the highest mean similarity to the group's other questions, counting
repeats).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from attache.retrieval.questionlog import LoggedQuestion

# Cosine similarity to a group's centroid (all-MiniLM-L6-v2, normalised vectors) from
# which a question joins it. Measured on tests/data/rephrasings.jsonl (12 questions in 3
# or 4 phrasings each, four of them different questions about the same bureau): pairwise
# precision/recall of the grouping is 0.62/0.90 at 0.55 (unrelated cyber questions
# merge), 0.80/0.72 from 0.60 to 0.65, 0.81/0.67 at 0.70 and 1.0/0.59 at 0.75; without
# the answer-kind rule no threshold passes 0.5 precision below 0.75.
GROUP_THRESHOLD = 0.62
MAX_EXAMPLES = 5
MAX_COMMENTS = 5

Kind = Literal["refused", "downvoted"]
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass
class Group:
    kind: Kind
    texts: list[str] = field(default_factory=list)  # distinct phrasings, most asked first
    counts: list[int] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    last_asked: str = ""
    comments: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.counts)

    def centroid(self) -> np.ndarray:
        weighted = np.sum([v * c for v, c in zip(self.vectors, self.counts)], axis=0)
        norm = float(np.linalg.norm(weighted))
        return weighted / norm if norm else weighted

    def representative(self) -> str:
        if len(self.texts) == 1:
            return self.texts[0]
        matrix = np.stack(self.vectors)
        counts = np.asarray(self.counts, dtype=float)
        similarity = matrix @ matrix.T
        # Mean similarity to every other asking of the group (a phrasing's own repeats
        # count as perfectly similar); ties go to the most asked, then the first asked.
        centrality = (similarity @ counts - 1.0) / max(1.0, counts.sum() - 1.0)
        best = max(range(len(self.texts)), key=lambda i: (round(float(centrality[i]), 6),
                                                          self.counts[i], -i))
        return self.texts[best]


def _key(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip("?.! ")


ANY_KIND = "other"


def cluster(vectors: np.ndarray, weights: Sequence[int], kinds: Sequence[str] | None = None,
            threshold: float = GROUP_THRESHOLD) -> list[list[int]]:
    """Greedy grouping of unit vectors, in the given order: each joins the most similar
    group centroid at or above `threshold` whose kind of answer is compatible, or starts
    a group."""
    kinds = list(kinds) if kinds is not None else [ANY_KIND] * len(vectors)
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []
    group_kinds: list[str] = []
    for i, vector in enumerate(vectors):
        best, best_similarity = -1, threshold
        for g, total in enumerate(sums):
            if ANY_KIND not in (kinds[i], group_kinds[g]) and kinds[i] != group_kinds[g]:
                continue
            norm = float(np.linalg.norm(total))
            similarity = float(vector @ total) / norm if norm else 0.0
            if similarity >= best_similarity:
                best, best_similarity = g, similarity
        if best < 0:
            groups.append([i])
            sums.append(vector * weights[i])
            group_kinds.append(kinds[i])
        else:
            groups[best].append(i)
            sums[best] = sums[best] + vector * weights[i]
            if group_kinds[best] == ANY_KIND:
                group_kinds[best] = kinds[i]
    return groups


def question_kind(text: str) -> str:
    from attache.retrieval.extractive import question_kind as kind_of

    return str(kind_of(text))


def find_gaps(rows: Sequence[LoggedQuestion], embed: Embed,
              threshold: float = GROUP_THRESHOLD) -> list[Group]:
    """The refused and 👎 questions of `rows`, grouped by meaning, most frequent first."""
    groups: list[Group] = []
    for kind in ("refused", "downvoted"):
        chosen = [r for r in rows if (not r.answered if kind == "refused"
                                      else r.answered and r.votes_down > 0)]
        if not chosen:
            continue
        # Identical questions (case and spacing aside) are one phrasing with a count.
        phrasings: dict[str, dict[str, object]] = {}
        for row in chosen:
            entry = phrasings.setdefault(_key(row.question), {
                "text": row.question, "count": 0, "last": "", "comments": []})
            entry["count"] = int(entry["count"]) + 1  # type: ignore[call-overload]
            entry["last"] = max(str(entry["last"]), row.asked_at)
            entry["comments"].extend(row.comments)  # type: ignore[attr-defined]
        ordered = sorted(phrasings.values(), key=lambda e: (-int(e["count"]),  # type: ignore[call-overload]
                                                             str(e["last"])))
        texts = [str(e["text"]) for e in ordered]
        vectors = np.asarray(embed(texts), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1, norms)
        counts = [int(e["count"]) for e in ordered]  # type: ignore[call-overload]
        kinds = [question_kind(text) for text in texts]
        for members in cluster(vectors, counts, kinds, threshold):
            group = Group(kind=kind)  # type: ignore[arg-type]
            for i in members:
                group.texts.append(texts[i])
                group.counts.append(counts[i])
                group.vectors.append(vectors[i])
                group.last_asked = max(group.last_asked, str(ordered[i]["last"]))
                group.comments.extend(ordered[i]["comments"])  # type: ignore[arg-type]
            groups.append(group)
    groups.sort(key=lambda g: (-g.count, _reverse(g.last_asked)))
    return groups


def _reverse(text: str) -> tuple[int, ...]:
    """A sort key putting later timestamps first."""
    return tuple(-ord(ch) for ch in text)
