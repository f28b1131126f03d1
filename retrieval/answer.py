"""Answers as data: the answer text, its citations and the passages, until rendering.

`compose` reranks the retrieved passages by their best sentence, picks the answer
sentences, and decides whether the documents answer at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from attache.models import AskResult, Citation, PassageRef
from attache.retrieval.extractive import (
    AnalysisCache,
    Candidate,
    Idf,
    QuestionProfile,
    candidates,
    content_terms,
    profile,
    score,
)
from attache.retrieval.names import names_person
from attache.retrieval.question import (
    DETERMINERS,
    asked_noun,
    constraints,
    is_month,
    is_ordinal,
    name_phrases,
    side_constraints,
)
from attache.retrieval.scoring import (
    STRICT_TYPES,
    Calibration,
    counted_noun,
    Check,
    life_event,
    check,
    context_of,
    date_words,
    default_calibration,
    default_ranker,
    features,
    judge,
    offers,
    is_headline,
)

if TYPE_CHECKING:
    from attache.retrieval.search import Passage

NO_ANSWER = "The documents don't answer this question."
# Passages kept (and shown) after reranking.
PASSAGES = 5
# Weight of a passage's best sentence score added to its retrieval score when reranking.
RERANK_WEIGHT = 1.0
# A runner-up sentence joins only while the answer stays this short ...
MAX_ANSWER_CHARS = 350
# ... or this short when it holds at least COMPLEMENT_SHARE of the question's term weight
# that the best sentence lacks.
MAX_COMPLEMENT_CHARS = 600
COMPLEMENT_SHARE = 0.25
# The best sentence of another document joins when it scores at least this share of the best.
SECOND_SOURCE_RATIO = 0.8
# A further sentence joins only when it holds at least this share of the question-term
# weight the best sentence holds (it must address the question too).
MIN_ADDED_OWN = 0.25
# A comparison's side is looked for among this many of its best sentences ...
SIDE_CANDIDATES = 20
# Passages kept for each side of a comparison: more than for a question, since the side's
# own document may not be the one whose sentences score best.
SIDE_PASSAGES = 10
# ... and of those scoring at least this share of the best, the earliest in its document
# speaks for the side (an article's lead says what it is about).
SIDE_LEAD_RATIO = 0.6
# … and when the comparison names what is compared: the best sentence, unless an earlier
# one scores about as well
SIDE_TOPIC_RATIO = 0.95
# A comparison names what is compared when its topic holds this many content words.
SPECIFIC_TOPIC_TERMS = 2
# Another document's best sentence joins the answer only when its own confidence reaches
# this (or the operating point, if higher).
OTHER_SOURCE_CONFIDENCE = 0.2
OTHER_SOURCE_RATIO = 0.7
# A sentence holding the date or number asked for replaces a best one lacking it when
# it is among the next few and scores at least this share of the best one's score.
TYPED_CANDIDATES = 5
TYPED_RATIO = 0.75
# Evidence weights (see `evidence`): question-term coverage counting the passage, coverage
# by the sentence alone, and similarity in meaning.
EVIDENCE_COVERAGE_WEIGHT = 0.5
EVIDENCE_OWN_WEIGHT = 1.0
EVIDENCE_SEMANTIC_WEIGHT = 3.0
# Below this `support` (a question about something else: "What is the capital of France?"
# over articles on cyber diplomacy) no confidence answers; it refuses 79 of the 80
# off-topic questions on the seeds, and under 0.1% of answerable SQuAD questions.
MIN_SUPPORT = 0.55
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
    confidence: float = 0.0
    missing: str | None = None  # for a refusal: the line naming what is missing
    sides: list[str] | None = None  # a comparison's sides
    log_id: int | None = None  # the question's row in the question log, when logged

    def passage_for(self, citation: Citation) -> str:
        """The retrieved passage that holds the citation's quote, else the quote itself."""
        for passage in self.passages:
            if (passage.source == citation.source and passage.start <= citation.start
                    and citation.end <= passage.end):
                return passage.text
        return citation.quote

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
            confidence=round(self.confidence, 4),
            missing=self.missing,
            sides=self.sides,
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
    confidence: float = 0.0  # the estimated probability that the answer is right
    threshold: float = 0.0  # the operating point: the least confidence that answers
    answered: bool = False
    missing: str | None = None  # for a refusal: what no document supports, when known
    features: dict[str, float] = field(default_factory=dict)
    check: Check | None = None
    # the hard checks of another of the ranked sentences, and the calibrated confidence
    # that it answers the question
    check_of: Callable[[Candidate], Check] | None = field(default=None, repr=False,
                                                          compare=False)
    rate: Callable[[Candidate], float] | None = field(default=None, repr=False, compare=False)

    def confidence_of(self, candidate: Candidate) -> float:
        if candidate is self.best:
            return self.confidence
        return self.rate(candidate) if self.rate is not None else 0.0

    def fails(self, candidate: Candidate) -> bool:
        """A hard check refuses the candidate as the answer (see `scoring.Check`)."""
        if candidate is self.best:
            return bool(self.check and self.check.hard_fail)
        return self.check_of is not None and self.check_of(candidate).hard_fail


def support(best: Candidate, prof: QuestionProfile) -> float:
    """How much of the question the best sentence holds at all: the question's terms it
    holds (those only its passage holds count for less), how close it is in meaning, less
    the weight of question terms no document contains."""
    return (
        EVIDENCE_COVERAGE_WEIGHT * best.coverage
        + EVIDENCE_OWN_WEIGHT * best.own
        + EVIDENCE_SEMANTIC_WEIGHT * max(best.semantic, 0.0)
        - prof.unknown
    )


def evidence(best: Candidate, prof: QuestionProfile) -> float:
    """`support`, less when the sentence lacks the kind of answer asked for (a date for
    "when", a number for "how many", the definition for an acronym, the speaker for "what
    did X say")."""
    typed = ("when", "number", "acronym", "reaction")
    missing_type = TYPE_PENALTY * (1.0 - best.type_match) if prof.kind in typed else 0.0
    return support(best, prof) - missing_type


def _typed_first(
    prof: QuestionProfile, ranked: list[Candidate], idf: Idf, checks: dict[int, Check]
) -> tuple[list[Candidate], Check]:
    """When the best sentence lacks the date or number the question asks for, a sentence
    scoring nearly as well that holds it, and fails no other check, answers instead
    ("how many pillars": "… summarized in six policy pillars", not the strategy's
    headline sentence). The sentences, best first, and the best one's check; `checks`
    holds those already made, by candidate id."""
    best = ranked[0]
    verdict = checks.get(id(best)) or check(prof, best, ranked, idf)
    if not (verdict.type_missing and verdict.asked in STRICT_TYPES):
        return ranked, verdict
    missing = {c.text for c in verdict.missing}
    named = [c for c in constraints(prof.text) if c.kind == "name" and c.supported_by(best.text)]
    for other in ranked[1:TYPED_CANDIDATES]:
        if other.score < TYPED_RATIO * best.score:
            break
        # the same subject: the same passage, naming what the best sentence names or
        # going on about it ("It explains …"); or the same document, going on about
        # what the best sentence names ("It moved through the Senate …")
        goes_on = bool(_GOES_ON.match(other.text))
        same_passage = other.passage.id == best.passage.id
        if not (same_passage or (goes_on and other.passage.source == best.passage.source)):
            continue
        if same_passage and not (goes_on or all(c.supported_by(other.text) for c in named)):
            continue
        own = checks.get(id(other)) or check(prof, other, ranked, idf)
        allowed = missing if same_passage else missing | {c.text for c in named}
        if not own.hard_fail and {c.text for c in own.missing} <= allowed:
            return [other] + [c for c in ranked if c is not other], own
    return ranked, verdict


_GOES_ON = re.compile(r"(?:It|Its|They|Their|He|His|She|Her|This|These)\b")


def _complements(prof: QuestionProfile, best: Candidate, other: Candidate) -> bool:
    """Whether `other` holds question terms the best sentence lacks (the best says what
    was asked, the other names its subject: "… began in 2007 in that department")."""
    adds = sum(w for s, w in prof.weights.items() if s in other.terms and s not in best.terms)
    return adds >= COMPLEMENT_SHARE * prof.total


def _fits(best: Candidate, other: Candidate, prof: QuestionProfile) -> bool:
    """Whether a runner-up sentence joins the best one: while the two stay short, or,
    up to a longer limit, when it holds a question term the best one lacks (the best
    names the subject, the other says what was asked about it)."""
    length = len(best.text) + len(other.text)
    if length <= MAX_ANSWER_CHARS:
        return True
    return length <= MAX_COMPLEMENT_CHARS and _complements(prof, best, other)


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
    return previous if names_person(previous.text, prof.text) else None


def _addresses(prof: QuestionProfile, other: Candidate, best: Candidate, verdict: Check,
               ranked: list[Candidate], chosen: list[Candidate]) -> bool:
    """Whether a further sentence may join the answer: it quotes text not already cited,
    holds some of the question's terms itself, and names what the best one's context
    names (a sentence about another subject does not answer). `verdict` is the best
    sentence's check."""
    if any(c.text == other.text or (c.passage.source == other.passage.source
                                     and c.start < other.end and other.start < c.end)
           for c in chosen) or is_headline(other):
        return False
    if verdict.asked == "date" and not verdict.type_missing \
            and not offers("date", other.text, prof.text) and not _complements(prof, best, other):
        return False  # the date asked for is given; a sentence without one adds nothing
    if any(c is other for c in context_of(best, ranked)):
        return True  # the sentence beside the best one, in the same passage, goes on with it
    if other.own < MIN_ADDED_OWN * best.own:
        return False
    supported = {c.text.lower() for c in constraints(prof.text) if c.kind == "name"} - {
        c.text.lower() for c in verdict.missing
    }
    missing = {c.text.lower() for c in check(prof, other, ranked).missing}
    return not (supported & missing)


def scored(
    question: str,
    passages: list[Passage],
    idf: Idf,
    k: int = PASSAGES,
    context: str = "",
    query_vector: Any = None,
    cache: AnalysisCache | None = None,
) -> tuple[QuestionProfile, list[Passage], list[Candidate]]:
    """The question's profile, the `k` passages kept (reranked by their best sentence)
    and their sentences, best-scoring first."""
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
    return prof, kept, [c for c in ranked if c.passage.id in kept_ids]


def select(
    question: str,
    passages: list[Passage],
    idf: Idf,
    k: int = PASSAGES,
    context: str = "",
    query_vector: Any = None,
    cache: AnalysisCache | None = None,
    calibration: Calibration | None = None,
    min_confidence: float | None = None,
    ranker: Calibration | None = None,
    within: frozenset[str] = frozenset(),
) -> Selection:
    """Rerank passages by their best sentence, order the best-scoring sentences by the
    ranker's probability that they hold the answer, choose the answer sentences, and
    decide whether they answer: no hard check fails (see `scoring.Check`) and the
    calibrated confidence reaches `min_confidence` (default: the shipped operating
    point). With `within` (a follow-up's previous sources), a sentence joins the best
    one only from those documents."""
    if not passages:
        return Selection([], [], None, 0.0, [])
    prof, kept, ranked = scored(question, passages, idf, k, context, query_vector, cache)
    if not ranked:
        return Selection(kept, [], None, 0.0, [])
    ranker = ranker or default_ranker()
    judged = judge(prof, ranked, idf)
    top = sorted(judged, key=lambda j: -ranker.confidence(j.rank_values))
    ranked = [j.candidate for j in top] + ranked[len(judged):]
    checks = {id(j.candidate): j.check for j in judged}
    ranked, verdict = _typed_first(prof, ranked, idf, checks)
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
            and (not within or c.passage.source in within)
        ),
        None,
    )
    calibration = calibration or default_calibration()
    threshold = calibration.min_confidence if min_confidence is None else min_confidence

    values = features(prof, best, ranked, verdict)
    confidence = calibration.confidence(values)

    def stands(other: Candidate) -> bool:
        """Another document's sentence joins only when it would answer on its own, nearly
        as surely as the best one."""
        own = check(prof, other, ranked, idf)
        floor = max(threshold, OTHER_SOURCE_CONFIDENCE, OTHER_SOURCE_RATIO * confidence)
        return not own.hard_fail and calibration.confidence(
            features(prof, other, ranked, own)) >= floor

    if other_source is not None:
        if _addresses(prof, other_source, best, verdict, ranked, chosen) and stands(other_source):
            extra = _antecedent(prof, other_source, ranked)
            chosen.extend(c for c in (extra, other_source) if c is not None and (
                c is other_source or _addresses(prof, c, best, verdict, ranked, chosen)))
    elif antecedent is None:
        runner_up = next(
            (c for c in ranked[1:3]
             if _fits(best, c, prof) and _addresses(prof, c, best, verdict, ranked, chosen)
             and (not within or c.passage.source in within)),
            None,
        )
        if runner_up is not None:
            chosen.append(runner_up)
    answered = (confidence >= threshold and not verdict.hard_fail
                and support(best, prof) >= MIN_SUPPORT)

    def check_of(other: Candidate) -> Check:
        return checks.get(id(other)) or check(prof, other, ranked, idf)

    def rate(other: Candidate) -> float:
        return calibration.confidence(features(prof, other, ranked, check_of(other)))

    return Selection(
        kept, chosen, best, evidence(best, prof), ranked,
        confidence=confidence,
        threshold=threshold,
        answered=answered,
        missing=None if answered else missing_line(prof, verdict, best, ranked, idf),
        features=values,
        check=verdict,
        check_of=check_of,
        rate=rate,
    )


_NUMBER_NOUN = re.compile(
    r"\b(vote count|vote tally|budget|cost|price|salary|headcount|funding|fee|sum|figure|"
    r"tally|turnout|score|"
    r"population|total|share|percentage|margin|vote|fine|size|amount|rate)s?\b", re.I
)
_HOW_MANY = re.compile(r"\bhow (many|much) ((?:[\w-]+\s+){0,2}[\w-]+)", re.I)


def _counted(words: str) -> str:
    """What "how many" counts, up to its noun: "Russian officers", "pillars", "money";
    "" when the words after "how many" name no one thing ("how much of", "how many major
    chloroplast replication …")."""
    split = words.split()
    verbs = [i for i, w in enumerate(split) if w.lower() in _DO_SUPPORT | _AUXILIARIES]
    split = split[:verbs[0]] if verbs else split  # "how much money did Congress …"
    words = " ".join(split)
    noun = counted_noun(words)
    if noun in split and noun.lower().endswith("s"):
        return " ".join(split[:split.index(noun) + 1])
    single = len(split) < 2 or not content_terms(split[1])
    first = split[0] if split else ""
    return first if content_terms(first) and single else ""


def _subject(prof: QuestionProfile, best: Candidate, ranked: list[Candidate]) -> str:
    """What the documents do mention: the question's names found near the best sentence,
    or else its weightiest noun phrase found there, or "" (no line beats a garbled one)."""
    near = " ".join(c.text for c in context_of(best, ranked)) + " " + best.passage.title
    names = [n for n in subject_names(prof.text) if all(
        w.lower() in near.lower() for w in n.removeprefix("the ").split())]
    if names:
        return _listed(list(dict.fromkeys(names)))
    return _noun_phrase(prof, set(content_terms(near)))


# A demonym ("Russian", "Ukrainian", "Chinese") before a noun qualifies it: no subject.
_DEMONYM = re.compile(r"(?:an|ese|ish|ic|i)$")


def subject_names(question: str) -> list[str]:
    """The question's names that can be a subject, as it writes them: "the Quad Senior
    Cyber Group" ("the Group's meeting"), "the Bureau of Cyberspace Security", but "CSET"
    ("the CSET bureau", where "the" is the bureau's); without months ("December") and
    without a demonym qualifying the noun after it ("Russian officers")."""
    phrases = name_phrases(question)
    merged: list[str] = []
    for phrase in phrases:  # "Bureau" of "Cyberspace Security": one name
        if merged and f"{merged[-1]} of {phrase}" in question:
            merged[-1] = f"{merged[-1]} of {phrase}"
        else:
            merged.append(phrase)
    found = []
    for phrase in merged:
        words = [w for w in phrase.split() if not is_month(w)]
        if not words:
            continue
        name = " ".join(words)
        at = re.search(rf"(?:\b(\w+)\s+(the)\s+)?\b{re.escape(name)}\b(['’]s)?", question)
        if at is None:  # its words apart in the question ("February 2022 DDoS")
            found.append(name)
            continue
        after = re.findall(r"[\w'’-]+", question[at.end():])[:8]
        heads = bool(at.group(3)) or _heads(after, bool(at.group(1))
                                            and at.group(1).lower() in _DO_SUPPORT)
        if len(words) == 1 and _DEMONYM.search(name) and not heads:
            continue
        found.append(f"the {name}" if at.group(2) and heads else name)
    return found


def _whole_name(question: str, word: str) -> str:
    """The name of the question a word of it belongs to, as the question writes it
    ("Entity": "the Entity List")."""
    return next((n for n in subject_names(question)
                 if word in n.removeprefix("the ").split()), word)


def _listed(items: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_LINKS = frozenset(("of", "on", "for", "in", "about", "against", "and"))
# Words that open a noun phrase of the question ("the plastome", "its budget").
_DETERMINERS = DETERMINERS | {"each"}
_POSSESSIVE = re.compile(r"['’]s?$")
# Words that name no subject on their own ("the century", "the end").
_VAGUE = frozenset(("century", "centuries", "decade", "year", "time", "end", "beginning",
                    "start", "part", "type", "kind", "number", "way", "one", "yes", "no"))
# A noun phrase right after an auxiliary is its subject, and the question's verb comes
# after it: after "did", "will" … the last word is the verb ("When did the accident
# occur?"); after "was", "has" … a last word ending in -ed or -en is ("When was the
# plastome discovered?").
_DO_SUPPORT = frozenset(("did", "does", "do", "will", "would", "can", "could", "should"))
_AUXILIARIES = frozenset(("was", "were", "is", "are", "has", "have", "had"))
_IRREGULAR = frozenset(
    "built made written held known given taken found sold bought led won begun done seen "
    "shown brought kept left lost paid said sent spent told".split())


def _participle(word: str) -> bool:
    """A lower-case past participle: "based", "built"."""
    return word.islower() and (word.endswith("ed") or word in _IRREGULAR)


# Words that end a run of the question's words after a name: it was the phrase's head.
_PHRASE_ENDS = _LINKS | _DETERMINERS | frozenset(
    ("to", "by", "from", "with", "at", "into", "as", "when", "while", "before", "after"))
_ADVERBS = frozenset(("first", "later", "also", "originally", "initially", "ever", "still",
                      "now", "once", "finally", "eventually"))


def _heads(after: list[str], subject: bool) -> bool:
    """Whether a name followed by the words `after` heads its noun phrase ("the Senate
    confirmation": no, the confirmation does; "the Entity List?": yes). `subject`: the
    name follows "did", "does" …, so the run of words after it ends with the question's
    verb ("did the US indict for …": the US heads; "did the SolarWinds hack cost …": the
    hack does)."""
    i = 0
    if after[:1] == ["and"]:  # "the X and Y …": decided after Y
        i = 1
        while i < len(after) and after[i][:1].isupper():
            i += 1
    while i < len(after) and after[i].lower() in _ADVERBS:
        i += 1
    run = []
    for word in after[i:]:
        if not word[:1].islower() or word in _PHRASE_ENDS:
            break
        run.append(word)
    if not run:
        return True
    if subject:
        return len(run) == 1
    return _participle(run[0]) and len(run) == 1  # "was the Bureau … proposed"


def _verb_like(taken: list[str], word: str, follows: str) -> bool:
    """Whether `word` is the question's verb rather than the next word of the noun phrase
    `taken`: a verb form after a name ("The Scotland Act enabled …"), a participle not
    followed by a noun ("the theory based on …", not "linear bounded automata"), or a
    word before an article ("will the cyber bureau open its …")."""
    if not taken:
        return False
    after_name = taken[-1][:1].isupper() and not _POSSESSIVE.search(taken[-1])
    return bool(
        after_name and word[:1].islower() and word.lower().endswith(("ed", "s"))
        or _participle(word) and not (follows and content_terms(follows))
        or follows in _DETERMINERS and word.lower() not in _LINKS
    )


def _noun_phrase(prof: QuestionProfile, near_terms: set[str]) -> str:
    """The weightiest phrase of the question opened by an article or a possessive whose
    words the passage holds ("the joint statement on commercial spyware", "the plastome"),
    or "". A phrase ends before the question's verb: its last word when the phrase is an
    auxiliary's subject ("When did the accident occur?"), or a word `_verb_like` finds."""
    tokens = re.findall(r"[\w'’-]+", prof.text)
    lowered = [t.lower() for t in tokens]
    best, best_weight = "", 0.0
    for i, token in enumerate(lowered):
        if token not in _DETERMINERS:
            continue
        before = lowered[i - 1] if i else ""  # the auxiliary whose subject this is
        verb_last = before in _DO_SUPPORT or (
            before in _AUXILIARIES and lowered[-1].endswith(("ed", "en")))
        end = len(tokens) - 1 if verb_last else len(tokens)
        taken: list[str] = []
        for at, word in enumerate(tokens[i + 1:end], i + 1):
            if not taken and is_ordinal(word) and word.islower():
                continue  # "the eighth cyber envoy": the cyber envoy
            if taken and (word[:1].isdigit() or (word.islower() and word.endswith("ly"))):
                break  # "the amazon rainforest extend 45", "the population medically"
            follows = lowered[at + 1] if at + 1 < len(tokens) else ""
            stems = content_terms(word)
            if stems and stems[0] in near_terms and not _verb_like(taken, word, follows):
                taken.append(word)
            elif word.lower() in _LINKS and taken:
                taken.append(word)
            else:
                break
        while taken and taken[-1].lower() in _LINKS:
            taken.pop()
        weight = sum(prof.weights.get(s, 0.0) for w in taken for s in content_terms(w))
        if len(taken) == 1 and taken[0].lower() in _VAGUE:
            continue
        if taken and weight > best_weight:
            best, best_weight = "the " + " ".join(taken), weight
    return best


def missing_line(
    prof: QuestionProfile, verdict: Check, best: Candidate, ranked: list[Candidate], idf: Idf
) -> str | None:
    """One line naming what no document supports, when that is one thing."""
    unknown = [c for c in verdict.missing if c.kind != "ordinal"
               and all(idf.df(s) == 0 for s in content_terms(c.text)) and content_terms(c.text)]
    if len(unknown) == 1:
        what = _whole_name(prof.text, unknown[0].text) if unknown[0].kind == "name" \
            else unknown[0].text
        return f"None of the documents mentions {what}."
    names = [c for c in verdict.missing if c.kind == "name"]
    if verdict.replaced and len(names) == 1:
        return f"The closest passage names {verdict.replaced}, not {names[0].text}."
    if verdict.unnamed and (noun := asked_noun(prof.text)):
        return f"The closest passage does not name the {noun.lower()}."
    subject = _subject(prof, best, ranked)
    # the kind of answer asked for missing refuses; a name missing only lowers confidence
    type_first = (verdict.type_missing and verdict.asked in STRICT_TYPES
                  and names == verdict.missing)
    if len(verdict.missing) == 1 and subject and not type_first:
        missing = verdict.missing[0]
        what = (_ordinal_phrase(prof.text, missing.text) if missing.kind == "ordinal"
                else _whole_name(prof.text, missing.text) if missing.kind == "name"
                else missing.text)
        return f"No passage about {subject} mentions {what}."
    if (not verdict.missing or type_first) and verdict.type_missing and subject:
        asked = verdict.asked
        if asked == "number":
            many = _HOW_MANY.search(prof.text)
            noun = _NUMBER_NOUN.search(prof.text)
            what = (f"how {many.group(1).lower()} {_counted(many.group(2))}".rstrip() if many
                    else f"its {noun.group(1).lower()}" if noun else "the figure asked for")
        else:
            event = life_event(prof.text) if asked == "date" else ""
            what = f"a date of {event}" if event else {
                "date": "when", "who": "who", "person": "who", "where": "where",
                "acronym": "what it stands for"}.get(asked, "")
        if what:
            return f"The documents mention {subject}, but not {what}."
    return None


_WORDS = re.compile(r"[\w'’-]+")
_COUNTED_WORDS = 3


def _ordinal_phrase(question: str, ordinal: str) -> str:
    """An ordinal the documents lack, with what it counts in the question's words: "a
    fourth person" ("Who was the fourth person to lead CSET?"), "a second cyber envoy"
    ("When did the second cyber envoy start?": after "did", the last word is the verb).
    An ordinal opening a name keeps the name ("the Second World War"); "first" qualifying
    a verb is quoted ("Who first played the Master?": "first")."""
    words = _WORDS.findall(question)
    lowered = [w.lower() for w in words]
    at = lowered.index(ordinal.lower()) if ordinal.lower() in lowered else len(words)
    if 0 < at < len(words) and words[at][:1].isupper():
        # the name runs on through capitalised words, up to any punctuation
        name = re.search(rf"\b{re.escape(words[at])}(?:\s+[A-Z][\w'’-]*)*", question)
        return "the " + (name.group(0) if name else words[at])
    before = lowered[at - 1] if 0 < at <= len(words) else ""
    if (at < len(words) and lowered[at] == "first" and before not in _DETERMINERS
            and before not in ("which", "what", "whose") and not _POSSESSIVE.search(before)):
        return '"first"'
    # the counted thing as an auxiliary's subject ends before the question's last word,
    # its verb ("When did the second cyber envoy start?")
    end = len(words) - 1 if at >= 2 and lowered[at - 2] in _DO_SUPPORT else len(words)
    counted: list[str] = []
    for word in words[at + 1 : min(end, at + 1 + _COUNTED_WORDS)]:
        if not content_terms(word) or word[:1].isdigit() or (counted and (
                word[:1].isupper() or _participle(word))):
            break  # "the first person Australia sanctioned": a first person
        counted.append(word)
    article = "an" if re.match(r"[aeiou]|8|1[18](?!\d)", ordinal.lower()) else "a"
    return " ".join([article, ordinal.lower(), *counted])


def citation(n: int, item: Candidate) -> Citation:
    """Citation `n`: the sentence quoted, where it stands and where its document is from."""
    heading, page = place(item.passage, item.start)
    return Citation(
        n=n, source=item.passage.source, title=item.passage.title,
        quote=item.text, start=item.start, end=item.end,
        heading=heading or None, page=page,
        **provenance(item.passage.metadata),
    )


def cite(sentences: list[Candidate]) -> tuple[str, list[Citation]]:
    """The answer text with [n] markers, and its citations (one per sentence)."""
    citations = [citation(n, item) for n, item in enumerate(sentences, 1)]
    return " ".join(f"{item.text} [{n}]" for n, item in enumerate(sentences, 1)), citations


# --- comparisons --------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its label and the sentence that speaks for it."""

    label: str
    sentence: Candidate | None
    confidence: float
    passages: list[Passage]


def _about(side: str, candidate: Candidate, document: str = "") -> int:
    """How surely the candidate's document speaks of the side: 2 when its title, outlet
    and date hold every name, number and year the side states ("CyberScoop's February
    2025 report"), 1 when its passage or the rest of its `document` retrieved does (a
    notice signed "JOSEPH R. BIDEN JR." at its end is Biden's throughout), else 0."""
    stated = side_constraints(side)
    metadata = candidate.passage.metadata
    heading = " ".join((candidate.passage.title, str(metadata.get("outlet") or ""),
                        date_words(str(metadata.get("date") or ""))))
    if all(c.supported_by(heading) for c in stated):
        return 2
    where = f"{candidate.passage.text} {document} {heading}"
    return 1 if all(c.supported_by(where) for c in stated) else 0


def _furniture(candidate: Candidate) -> bool:
    """A headline, a URL or byline line: never an answer on its own."""
    text = candidate.text.strip()
    return is_headline(candidate) or bool(_FURNITURE.match(text)) or len(text.split()) < 4


_FURNITURE = re.compile(r"^(url|source|by|posted|published|updated|photo|image)\b[^.]{0,40}[:\s]"
                        r"|^\S*https?://", re.I)


def pick_side(label: str, query: str, selection: Selection, taken: list[Candidate],
              specific: bool = False, asked: bool = False) -> Side:
    """The sentence that best speaks for one side: among the side's own best sentences,
    those from a document about the side (by its title and date first, else its passage),
    not already cited for the other side (another document preferred); of those scoring
    nearly as well as the best, the earliest in its document (an article's lead says what
    it is about), or, for a `specific` comparison ("differ in what they do with the
    order"), of those scoring within a whisker of the best. When the side is `asked` a
    question of its own ("Who did Pompeo appoint?"), the likeliest answer among those that
    reach the operating point. None when no document supports the side."""
    if not side_constraints(query):
        best = selection.best if selection.answered else None
        return Side(label, best, selection.confidence, selection.passages)
    retrieved: dict[str, list[str]] = {}
    for kept in selection.passages:
        retrieved.setdefault(kept.source, []).append(kept.text)
    fitting = [(c, _about(query, c, " ".join(retrieved.get(c.passage.source, []))))
               for c in selection.ranked[:SIDE_CANDIDATES]
               if c.own > 0 and not _furniture(c) and not any(t.text == c.text for t in taken)
               and not selection.fails(c)]
    fitting = [(c, a) for c, a in fitting if a > 0]
    used = {t.passage.source for t in taken}
    if fitting:
        surest = max(a for _, a in fitting)
        fitting = [(c, a) for c, a in fitting if a == surest]
    fresh = [c for c, _ in fitting if c.passage.source not in used] or [c for c, _ in fitting]
    if asked:
        chosen = next((c for c in fresh
                       if selection.confidence_of(c) >= selection.threshold), None)
        return Side(label, chosen, selection.confidence_of(chosen) if chosen else 0.0,
                    selection.passages)
    top = max((c.score for c in fresh), default=0.0)
    ratio = SIDE_TOPIC_RATIO if specific else SIDE_LEAD_RATIO
    leads = sorted((c for c in fresh if c.score >= ratio * top), key=lambda c: c.start)
    chosen = leads[0] if leads else None
    # the confidence that this sentence, not the side's best, answers
    confidence = selection.confidence_of(chosen) if chosen else 0.0
    return Side(label, chosen, confidence, selection.passages)


def compose_comparison(sides: list[Side]) -> tuple[bool, str, list[Citation], str | None]:
    """One cited sentence per side, labelled; a side no document supports is said so."""
    supported = [s for s in sides if s.sentence is not None]
    if not supported:
        either = " or ".join(s.label for s in sides)
        return False, NO_ANSWER, [], f"None of the documents answers this for {either}."
    citations: list[Citation] = []
    parts: list[str] = []
    missing = [s.label for s in sides if s.sentence is None]
    for side in sides:
        if side.sentence is None:
            parts.append(f"{side.label}: the documents don't say.")
            continue
        n = len(citations) + 1
        citations.append(citation(n, side.sentence))
        parts.append(f"{side.label}: {side.sentence.text} [{n}]")
    line = f"None of the documents answers this for {missing[0]}." if missing else None
    return True, " ".join(parts), citations, line


def merge_passages(lists: list[list[Passage]], k: int = PASSAGES) -> list[Passage]:
    """The sides' passages interleaved, best first, each once."""
    merged: dict[str, Passage] = {}
    for rank in range(max((len(x) for x in lists), default=0)):
        for items in lists:
            if rank < len(items):
                merged.setdefault(items[rank].id, items[rank])
    return list(merged.values())[:k]
def place(passage: Passage, start: int) -> tuple[str, int | None]:
    """The heading path and the page (PDF) at document offset `start` in a passage."""
    from attache.index.documents.structure import located

    return located(passage.metadata, start - passage.start)
