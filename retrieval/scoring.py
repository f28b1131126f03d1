"""Answerability: does the best sentence answer what the question asks?

Two layers:
- checks (`Check`): a constraint the question states (a name, number, year or ordinal)
  that neither the sentence nor its immediate context (the sentences beside it, the
  document's title) supports; the kind of answer asked for (a date for "when", a number
  for "how many", a name for "who", a place for "where") absent from the sentence; a
  headline alone. A failed hard check refuses whatever the rest says.
- a calibrated confidence: a logistic regression over a dozen explainable features
  (`FEATURES`) giving the probability that the answer is right, fitted on SQuAD 2.0
  questions (half of them unanswerable) and on questions written for the seeds, by
  `retrieval/calibration/fit.py`; its coefficients ship in `calibration/model.json`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from attache.index.documents.metadata import MONTH_NAMES
from attache.retrieval.extractive import (
    _MONTHS,
    _NUMBER,
    _TIME_WORDS,
    _YEAR,
    _one_edit,
    STOPWORDS,
    content_terms,
)
from attache.retrieval.names import names_person, nations_in
from attache.retrieval.question import (
    ORDINALS,
    Constraint,
    asked_noun,
    asks_for,
    constraints,
    spelled_out,
)

if TYPE_CHECKING:
    from attache.retrieval.extractive import Candidate, Idf, QuestionProfile

# Each feature, what it measures (all computed on the best sentence):
FEATURES: dict[str, str] = {
    "own": "share of the question's term weight (IDF) the sentence itself holds",
    "coverage": "the same, counting terms found elsewhere in its passage for less",
    "semantic": "cosine similarity of the sentence's and the question's vectors",
    "unknown": "share of the question's term weight on terms no document contains",
    "heaviest_missing": "weight share of the heaviest question term absent from the sentence "
                        "and its neighbours",
    "names_missing": "share of the names the question states that the sentence, its "
                     "neighbours and the title do not mention",
    "numbers_missing": "share of the numbers and years the question states that are not there",
    "ordinal_missing": "1 when an ordinal the question states (\"fourth\") is not there",
    "type_missing": "1 when the kind of answer asked for (date, number, name, place) is absent",
    "margin": "how far the best sentence's score is above the next sentence's",
    "dense": "the passage's cosine similarity to the question",
    "title_only": "1 when the sentence is the document's headline or a footnote's reference",
    "unknown_name": "1 when a name the question states is in no document",
    "negation": "1 when the question says \"not\" or \"never\" and the sentence and its "
                "neighbours do not",
}

FEATURES.update({
    "missing_count": "how many of the question's content words the sentence, its neighbours "
                     "and the title lack (log 1 + n)",
    "antonym": "1 when the question holds a word whose opposite the sentence's context holds "
               "instead (abstract/concrete, north/south, before/after …)",
    "modifier_missing": "1 when a restricting word of the question (only, least, most, "
                        "never, always, every) is not in the sentence's context",
    "answer_room": "how many content words the sentence adds to the question's (log 1 + n)",
    "asks_date": "1 when a date is asked for",
    "asks_number": "1 when a number is asked for",
    "asks_who": "1 when a person is asked for",
    "slot_swap": "1 when a question word the sentence lacks sits between two question words "
                 "the sentence holds with other words between them (\"the concrete question\" "
                 "against \"the abstract question\")",
    "edge_swap": "1 when a question word the sentence lacks follows (or precedes) a question "
                 "word the sentence holds, where the sentence has a word the question lacks",
})


def _slots(question: list[str], sentence: list[str]) -> tuple[bool, bool]:
    """Swapped words: a question word absent from the sentence whose neighbours in the
    question are in the sentence around something else."""
    where = {w: i for i, w in enumerate(sentence)}
    asked = set(question)
    inside = edge = False
    for i, word in enumerate(question):
        if word in where:
            continue
        before = question[i - 1] if i > 0 else None
        after = question[i + 1] if i + 1 < len(question) else None
        j = where.get(before) if before else None
        k = where.get(after) if after else None
        if j is not None and k is not None and 1 < k - j <= 3:
            if any(w not in asked for w in sentence[j + 1:k]):
                inside = True
        if j is not None and j + 1 < len(sentence) and sentence[j + 1] not in asked:
            edge = True
        if k is not None and k > 0 and sentence[k - 1] not in asked:
            edge = True
    return inside, edge

# Opposites a reworded question may swap in: the question names one, the sentence the other.
_OPPOSITES = [
    ("abstract", "concrete"), ("public", "private"), ("before", "after"), ("first", "last"),
    ("north", "south"), ("east", "west"), ("northern", "southern"), ("eastern", "western"),
    ("upper", "lower"), ("more", "less"), ("most", "least"), ("increase", "decrease"),
    ("larger", "smaller"), ("largest", "smallest"), ("higher", "lower"), ("highest", "lowest"),
    ("positive", "negative"), ("true", "false"), ("legal", "illegal"), ("major", "minor"),
    ("internal", "external"), ("ancient", "modern"), ("early", "late"), ("earlier", "later"),
    ("earliest", "latest"), ("success", "failure"), ("successful", "unsuccessful"),
    ("win", "lose"), ("won", "lost"), ("rise", "fall"), ("start", "end"), ("begin", "end"),
    ("accept", "reject"), ("accepted", "rejected"), ("allow", "forbid"), ("open", "closed"),
    ("inner", "outer"), ("maximum", "minimum"), ("strong", "weak"), ("stronger", "weaker"),
    ("old", "new"), ("older", "newer"), ("long", "short"), ("longer", "shorter"),
    ("wide", "narrow"), ("heavy", "light"), ("hot", "cold"), ("warm", "cool"), ("wet", "dry"),
    ("rich", "poor"), ("common", "rare"), ("same", "different"), ("simple", "complex"),
    ("easy", "difficult"), ("fast", "slow"), ("faster", "slower"), ("male", "female"),
    ("men", "women"), ("king", "queen"), ("father", "mother"), ("son", "daughter"),
    ("brother", "sister"), ("husband", "wife"), ("left", "right"), ("top", "bottom"),
    ("domestic", "foreign"), ("import", "export"), ("include", "exclude"),
    ("support", "oppose"), ("supported", "opposed"), ("agree", "disagree"), ("ally", "enemy"),
    ("victory", "defeat"), ("gain", "loss"), ("buy", "sell"), ("bought", "sold"),
    ("birth", "death"), ("born", "died"), ("entrance", "exit"), ("deterministic", "nondeterministic"),
    ("upward", "downward"), ("above", "below"), ("inside", "outside"), ("export", "import"),
    ("lowland", "highland"), ("urban", "rural"), ("civil", "military"), ("offensive", "defensive"),
    ("attack", "defend"), ("attack", "defense"), ("direct", "indirect"), ("official", "unofficial"),
    ("formal", "informal"), ("possible", "impossible"), ("solvable", "unsolvable"),
    ("decidable", "undecidable"), ("lower", "raise"), ("decline", "growth"), ("least", "most"),
    ("minority", "majority"), ("peace", "war"), ("worse", "better"), ("worst", "best"),
    ("open", "close"), ("opening", "closing"), ("opens", "closes"), ("beginning", "end"),
    ("initial", "final"), ("fixed", "flexible"), ("approve", "reject"), ("approved", "rejected"),
    ("succeed", "fail"), ("succeeded", "failed"), ("allowed", "prohibited"),
    ("allow", "prohibit"), ("increase", "reduce"), ("high", "low"), ("biggest", "smallest"),
    ("more", "fewer"), ("many", "few"), ("winner", "loser"), ("predecessor", "successor"),
    ("ancestor", "descendant"), ("uncle", "aunt"), ("nephew", "niece"), ("input", "output"),
    ("theoretical", "practical"), ("dead", "alive"), ("present", "absent"),
    ("hardest", "easiest"), ("harder", "easier"), ("upturned", "downturned"),
    ("unofficial", "official"), ("informal", "formal"), ("emperor", "empress"),
    ("loss", "victory"),
]
# Members of a closed class: a question naming one where its context names another has
# swapped them ("sits on Fridays" against "sits on Thursdays").
_SIBLINGS = (
    "monday tuesday wednesday thursday friday saturday sunday",
    "spring summer autumn winter",
    "north/northern south/southern east/eastern west/western",
)
_SIBLING_WORDS = frozenset(w for group in _SIBLINGS for w in re.split(r"[\s/]", group))
_DEGREES = {"most": {"least"}, "least": {"most"}, "more": {"less", "fewer"},
            "less": {"more"}, "fewer": {"more"}}
_DENIALS = frozenset(("not", "never"))
_WORDS = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_MODIFIERS = re.compile(r"\b(only|least|most|never|always|every|all|none|sole|solely)\b", re.I)


@lru_cache(maxsize=1)
def _opposites() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    pairs = list(_OPPOSITES)
    for group in _SIBLINGS:  # "north/northern": one member, two forms
        members = [m.split("/") for m in group.split()]
        pairs += [(a, b) for one in members for other in members if one is not other
                  for a in one for b in other]
    for a, b in pairs:
        (sa,), (sb,) = content_terms(a) or [a], content_terms(b) or [b]
        found.setdefault(sa, set()).add(sb)
        found.setdefault(sb, set()).add(sa)
    return found


_NEGATION = re.compile(r"\b(not|never|no|none)\b|n['’]t\b", re.I)
# "or not", and a purpose clause, which asks what prevents something ("so network
# interconnections can't be hijacked": "to defeat hijacking")
_NOT_NEGATION = re.compile(
    r"\bor not\b|\bso(?: that)?\s+(?:[\w'’-]+\s+){0,4}?(?:can['’]t|cannot|won['’]t|"
    r"(?:can|could|will|would|do|does)\s+not)\b", re.I)
# A year naming what the question is about ("the 2015 information-sharing bill"), not
# when something happened ("in 2015").
_YEAR_NAMING = re.compile(
    r"\b(?:the|a|an|its|their|his|her|this|that|[\w-]+['’]s)\s+(\d{4})\s+[A-Za-z]", re.I)
# How a sentence says "not" in other words: "cannot", "unable", "excluded".
_NEGATIVE = re.compile(
    r"\b(cannot|unable|impossible|excluded|neither|nor|distinguished from|opposed)\b", re.I)

# Ordinals that questions use loosely ("when did X first …").
SOFT_ORDINALS = ("first",)
# Kinds of answer the sentence must offer; see `_offers`.
TYPED = ("date", "number", "who", "person", "where", "acronym", "reaction")
# Of those, the kinds whose absence refuses outright: a date, a number, a person asked for
# by role ("which minister"), the definition of an acronym, the words of the one asked
# about ("what did X say").
STRICT_TYPES = ("date", "number", "person", "acronym", "reaction")
# A sentence within this many characters of the best one, in the same passage, is its
# immediate context.
NEIGHBOURS = 1


@dataclass(frozen=True)
class Check:
    """What the question asks that the evidence lacks, if anything."""

    missing: list[Constraint]  # stated constraints not supported near the sentence
    type_missing: bool  # the kind of answer asked for is absent
    asked: str  # the refined kind of answer asked for
    title_only: bool
    negated: bool = False  # the question says "not"/"never", the sentence's context does not
    unknown_names: tuple[str, ...] = ()  # names the question states that no document contains
    swapped: bool = False  # the question holds the opposite of a word of the sentence's context
    denied: bool = False  # the sentence says "not" where the question asserts
    replaced: str | None = None  # the name the sentence has where the question states another
    unnamed: bool = False  # the sentence says the one asked for is not named ("an unnamed agency")

    @property
    def hard_fail(self) -> bool:
        """Refuse whatever the confidence: a number, year or ordinal the question states
        is not there, the date or number asked for is absent, the question negates what
        the sentence's context does not, or the answer would be a headline alone."""
        # "first" is often only "initially": a feature, not a hard check
        strict = any(c.kind in ("number", "year") or (c.kind == "ordinal" and c.text.lower()
                     not in SOFT_ORDINALS) for c in self.missing)
        typed = self.type_missing and self.asked in STRICT_TYPES
        return (strict or self.title_only or typed or self.negated or self.swapped
                or self.denied or bool(self.replaced) or bool(self.unknown_names)
                or self.unnamed)


# "On what date", "in what year": a calendar date; a bare "when" takes "on Wednesday" too.
_STRICT_DATE = re.compile(r"\b(what|which) (years?|dates?|months?)\b|\bon what date\b", re.I)
_TALLY_ASK = re.compile(r"\bby what (vote|margin|majority|count)\b|\bvote (count|tally)\b", re.I)
_TALLY = re.compile(r"\b\d+\s*(?:-|–|to)\s*\d+\b|\bunanimous(?:ly)?\b", re.I)
# A question about languages, whose names are countries' adjectives ("Chinese schools")
_LANGUAGE_ASK = re.compile(r"\blanguages?\b", re.I)
# A post still to be created or filled ("promised to appoint"): no one holds it yet.
_NEW_POST = re.compile(r"\b(?:to|will|would|shall)\s+(?:appoint|create|establish|nominate|"
                       r"hire|name|fill)\b", re.I)
# A question about a sum of money, and a sum of money.
_MONEY_ASK = re.compile(r"\b(fine|fines|budget|cost|costs|price|salary|funding|fee|fees|money|"
                        r"penalty|revenue|spend|spent|paid|pay|ransom|hand over|handed over|"
                        r"donate|donated|invest|invested|earn|earned|owe|owed)\b", re.I)
_MONEY = re.compile(r"[$€£¥]\s?\d|\d\s?(?:dollars|euros|pounds|yen|usd|eur|gbp)\b|"
                    # "5 million", "5 million in aid", not "100 million gallons"
                    r"\b(?:million|billion|trillion|bn)\b(?!\s+(?!(?:dollars|euros|pounds|yen|"
                    r"in|to|for|from|and|or|a|an|the|of|per|each|annually|worth|was|were|is|"
                    r"are|has|had|have|which|that|by|on|at|with|as|over|into|since|last|"
                    r"this|more|less)\b)[a-z])", re.I)
_NOT_MONEY = re.compile(r"\b(percent|percentage|share|proportion|rate|how many)\b", re.I)
# A "when" answered by a circumstance: "when disturbed", "by the time of the Miocene".
_CONDITION = re.compile(r"\b(?:when|whenever|while|once|upon|time|beginning|end|start)\b", re.I)
# What "how many" counts: up to three words after it.
_COUNTED = re.compile(r"\bhow many ((?:[\w-]+\s+){0,2}[\w-]+)", re.I)


def _same_unit(asked: str, word: str) -> bool:
    """The same counted thing, spelt either way ("kilometers", "kilometres"; "tons",
    "tonnes")."""
    if asked == word:
        return True
    if min(len(asked), len(word)) >= 5:
        return asked[:5] == word[:5]
    return _one_edit(asked, word) and asked[:2] == word[:2]


def counted_noun(words: str) -> str:
    """The counted thing of "how many …": its first plural ("Russian officers were …":
    officers), else its first word ("people")."""
    split = words.split()
    for word in split:
        if len(word) > 3 and word.lower().endswith("s"):
            return word
    return split[0] if split else ""


@lru_cache(maxsize=1)
def _anyone() -> frozenset[str]:
    """Counted things any number of a text counts: "how many people"."""
    return frozenset(content_terms("people persons individuals times"))
# A year before 1000 ("in 911", "AD 79").
_EARLY_YEAR = re.compile(r"\b(?:in|by|from|until|around|about|AD|c\.)\s+\d{2,3}\b(?![.,]\d)")
_CLOCK = re.compile(r"\b\d{1,2}(?::\d\d)?\s*(?:a\.?m\.?|p\.?m\.?)|\b\d{1,2}:\d\d\b", re.I)


# "When was X born?", "In what year did X die?": the date of a birth or a death, which
# only a sentence saying so offers (a lifespan "(1249–1314)" says both), not any date
# beside the name ("became Great Khan in 1251").
# Each event: how a question asks for its date, and how a sentence says it.
_LIFE_ASKS = {
    "birth": (re.compile(r"\b(?:born|birth|birthday)\b", re.I),
              re.compile(r"\b(?:born|birth|née|nee)\b|\bb\.\s*\d", re.I)),
    "death": (re.compile(r"\b(?:die|died|dies|death|pass(?:ed)? away)\b", re.I),
              re.compile(r"\b(?:died|dies|death|dead|deceased|passed away|killed|executed|"
                         r"murdered|assassinated)\b|\bd\.\s*\d", re.I)),
}
# How far (characters) from "born" or "died" the date of it may be.
_LIFE_REACH = 30
_LIFESPAN = re.compile(r"\((?:[^()\d]{0,20})?\d{3,4}\s*(?:–|-|—|to)\s*(?:c\.\s*)?\d{2,4}\s*\)")


def life_event(question: str) -> str:
    """"birth" or "death" when a date question asks for one ("When was X born?"), else ""."""
    for event, (ask, _) in _LIFE_ASKS.items():
        if ask.search(question):
            return event
    return ""


def _offers_date(text: str, question: str) -> bool:
    if (_YEAR.search(text) or _MONTHS.search(text) or _CLOCK.search(text)
            or _EARLY_YEAR.search(text)):
        return True
    return not _STRICT_DATE.search(question) and bool(
        _TIME_WORDS.search(text) or _CONDITION.search(text))


def _new_number(text: str, question: str) -> bool:
    """A number in `text` the question does not state itself ("How many Catholics were
    there in 1598?" is not answered by 1598, nor "how many" by "many")."""
    stated = {m.group(0).lower() for m in _NUMBER.finditer(question)}
    return any(m.group(0).lower() not in stated for m in _NUMBER.finditer(text))


def offers(asked: str, text: str, question: str) -> bool:
    """Whether `text` offers the kind of answer asked for (`asks_for`): a date, a number
    counting what the question counts, a name …"""
    if asked == "date":
        if event := life_event(question):
            says = _LIFE_ASKS[event][1]
            # the date beside the word that says it ("born in 1856 in Smiljan"), not
            # another one of the sentence ("born in Dieppe, sailed … in 1562")
            return bool(_LIFESPAN.search(text)) or any(
                _offers_date(text[max(0, m.start() - _LIFE_REACH): m.end() + _LIFE_REACH],
                             question) for m in says.finditer(text))
        return _offers_date(text, question)
    if asked == "number":
        if _TALLY_ASK.search(question):
            return bool(_TALLY.search(text))
        if _MONEY_ASK.search(question) and not _NOT_MONEY.search(question):
            return bool(_MONEY.search(text))  # a sum of money: a currency or "million"
        counted = _COUNTED.search(question)
        if counted and _new_number(text, question):
            # "how many employees": a number, and the employees it would count (any of
            # the words that name them: "societal class divisions" counts "classes")
            stems = set(content_terms(counted_noun(counted.group(1)))) - _anyone()
            return not stems or any(_same_unit(a, b) for a in stems
                                    for b in content_terms(text))
        return _new_number(text, question)
    if asked == "person":
        # a name; for a post to be filled, the post ("What new envoy did Blinken promise
        # to appoint?": "a special envoy for critical and emerging technology")
        return names_person(text, question) or bool(
            _NEW_POST.search(question)
            and set(content_terms(asked_noun(question))) & set(content_terms(text)))
    if asked in ("who", "where", "acronym", "reaction"):
        from attache.retrieval.extractive import _type_match

        kind = asked
        return _type_match(kind, text, question) >= (1.0 if kind == "reaction" else 0.5)
    return True


def context_of(best: Candidate, ranked: Sequence[Candidate]) -> list[Candidate]:
    """The best sentence and the sentences beside it in its passage."""
    same = sorted(
        (c for c in ranked if c.passage.id == best.passage.id), key=lambda c: c.start
    )
    index = next((i for i, c in enumerate(same) if c.start == best.start), None)
    if index is None:
        return [best]
    return same[max(0, index - NEIGHBOURS): index + NEIGHBOURS + 1]


def is_headline(best: Candidate) -> bool:
    """The document's headline, a heading line, or a reference to another document: never
    an answer."""
    title = best.passage.title.strip()
    text = best.text.strip()
    return (bool(title) and (text == title or (text.startswith(title)
                                               and len(text) < len(title) + 40))
            or is_reference(text) or is_heading_line(best))


# A heading's length at most, in words, and how a sentence ends (a heading does not).
HEADING_WORDS = 12
_ENDS_SENTENCE = re.compile(r"[.!?:;,\"”’')\]]$")
_WORD_OF_HEADING = re.compile(r"[^\W\d_][\w'’-]*")


def is_heading_line(candidate: Candidate) -> bool:
    """A short paragraph of its own, in title case, that does not end as a sentence does
    ("Impact of SolarWinds Hack" between two paragraphs of a plain-text article); not a
    list's item."""
    text = candidate.text.strip()
    words = _WORD_OF_HEADING.findall(text)
    if (not words or len(text.split()) > HEADING_WORDS or _ENDS_SENTENCE.search(text)
            or candidate.ordinal):
        return False
    if not all(w[0].isupper() for w in words if w.lower() not in STOPWORDS):
        return False
    whole = candidate.passage.text
    start = candidate.start - candidate.passage.start
    end = candidate.end - candidate.passage.start
    if not (0 <= start <= end <= len(whole)):
        return False
    before, after = whole[:start].rstrip(" \t"), whole[end:].lstrip(" \t")
    return (not before or before.endswith("\n\n")) and (not after.strip()
                                                        or after.startswith("\n\n"))


# A footnote's reference: a title, its date in brackets, its address ("Towards a
# Protocol to the Budapest Convention, COUNCIL OF EUROPE (Sept. 5, 2019), https://…"),
# whose date is the reference's, not an event's.
_REFERENCE = re.compile(r"\)\s*(?:[,.;:]\s*)?(?:https?://|www\.)|^\s*(?:see|cf\.)\s.*https?://",
                        re.I | re.S)


def is_reference(text: str) -> bool:
    return bool(_REFERENCE.search(text))




def date_words(value: str) -> str:
    """A document's ISO date also as words ("2025-06-06": "June 6, 2025")."""
    match = re.match(r"^(\d{4})-(\d{2})(?:-(\d{2}))?", value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        return value
    month = MONTH_NAMES[int(match.group(2)) - 1]
    day = f" {int(match.group(3))}," if match.group(3) else ""
    return f"{value} {month}{day} {match.group(1)} {month} {match.group(1)}"


def check(
    prof: QuestionProfile, best: Candidate, ranked: Sequence[Candidate], idf: Idf | None = None
) -> Check:
    near = context_of(best, ranked)
    # the document's date dates what it reports ("blacklisted in November 2021")
    dated = date_words(str(best.passage.metadata.get("date") or ""))
    near_text = " ".join(c.text for c in near) + " " + best.passage.title + " " + dated
    from attache.retrieval.extractive import _ordinal

    position = getattr(best, "ordinal", 0)  # a list item's position in its list
    naming = {m.group(1) for m in _YEAR_NAMING.finditer(prof.text)}
    document = " ".join(c.text for c in ranked if c.passage.source == best.passage.source) \
        if naming else ""
    missing = [
        c for c in constraints(prof.text)
        if not c.supported_by(near_text)
        and not (c.kind == "ordinal" and position and _ordinal(c.text) == position)
        # a year naming the subject: the document retrieved names it so
        and not (c.kind == "year" and c.text in naming and c.supported_by(document))
    ]
    asked = asks_for(prof.text, prof.kind)
    type_missing = asked in TYPED and not offers(asked, best.text, prof.text)
    negated = bool(_NEGATION.search(_NOT_NEGATION.sub("", prof.text))) and not any(
        _NEGATION.search(c.text) or _NEGATIVE.search(c.text) for c in near)
    unknown = tuple(
        c.text for c in missing
        if c.kind == "name" and idf is not None and len(c.text) > 2
        and (stems := content_terms(c.text)) and not any(idf.known(s) for s in stems)
    )
    return Check(missing, type_missing, asked, is_headline(best), negated, unknown,
                 swapped=_swapped(prof.text, best, near), denied=_denied(prof.text, best),
                 replaced=_name_swapped(prof.text, best.text, missing),
                 unnamed=_unnamed(prof.text, best.text))


# The sentence withholds a name: "an unnamed federal agency", "an unidentified official".
_UNNAMED = re.compile(r"\b(?:unnamed|unidentified|undisclosed|anonymous|unspecified)"
                      r"((?:\s+[a-z][\w'’-]*){1,3})")
# Nouns naming who speaks for a body: "an anonymous agency official" withholds the
# official, not the agency.
_SPOKESPEOPLE = frozenset(content_terms(
    "official officials source sources spokesperson spokesman spokeswoman employee employees "
    "staffer staffers member members worker workers executive executives"))


def _unnamed(question: str, text: str) -> bool:
    """The question asks which one by name ("Which federal agency …") and the sentence
    says that one is not named: the noun asked for after "unnamed" ("an unnamed federal
    agency that …"), not followed by who speaks for it ("an anonymous federal agency
    official")."""
    head = content_terms(asked_noun(question))[-1:]
    if not head:
        return False
    for match in _UNNAMED.finditer(text):
        words = [content_terms(w)[:1] for w in match.group(1).split()]
        for i, word in enumerate(words):
            if word == head:
                after = words[i + 1] if i + 1 < len(words) else []
                if not (after and after[0] in _SPOKESPEOPLE):
                    return True
                break
    return False


def _near_terms(best: Candidate, near: Sequence[Candidate]) -> set[str]:
    terms = set(content_terms(best.passage.title))
    for c in near:
        terms.update(c.terms)
    return terms


def _swapped(question: str, best: Candidate, near: Sequence[Candidate]) -> bool:
    """The question holds a word whose opposite (or sibling: another weekday, another
    compass point, another country) the sentence's context holds instead."""
    near_terms = _near_terms(best, near)
    asked = set(content_terms(question))
    opposites = _opposites()
    # an opposite written in lower case ("new", not "New York"), or a sibling ("Thursdays")
    plain = set(content_terms(" ".join(
        w for c in near for w in _TOKEN.findall(c.text)
        if not w[:1].isupper() or w.lower().rstrip("s") in _SIBLING_WORDS)))
    if any(q not in near_terms and opposites.get(q, set()) & plain - asked for q in asked):
        return True
    if _negated_form(question, best, near):
        return True
    # another country: "Which Chinese group did the EU blame?" against "the Russian
    # government is behind"
    nations = set() if _LANGUAGE_ASK.search(question) else nations_in(question)
    if nations and nations_in(best.text) - nations and nations - nations_in(
            " ".join(c.text for c in near) + " " + best.passage.title):
        return True
    # degree words, which carry no content on their own: "the least important" against
    # "the most important"
    words = set(_WORDS.findall(question.lower()))
    near_words = {w for c in near for w in _WORDS.findall(c.text.lower())}
    return any(w not in near_words and _DEGREES[w] & near_words - words
               for w in words if w in _DEGREES)


def _name_swapped(question: str, text: str, missing: Sequence[Constraint]) -> str | None:
    """A name the question states that the sentence replaces with another in the same
    place: "identified themselves as French" against "… as English", "Henry II" against
    "Henry III". The other name, or None."""
    names = {c.text for c in missing if c.kind == "name" and len(c.text) > 2
             and c.text.lower() not in ORDINALS}
    if not names:
        return None
    asked = [_bare(t) for t in _TOKEN.findall(question)]
    words = [_bare(t) for t in _TOKEN.findall(text)]
    lower_asked = [t.lower() for t in asked]
    lower = [t.lower() for t in words]
    for i, token in enumerate(asked):
        if token not in names:
            continue
        for step in (-1, 1):
            k = i + step  # the word beside the name in the question, an anchor
            if not 0 <= k < len(asked):
                continue
            anchor = lower_asked[k]
            for j, word in enumerate(lower):
                m = j - step  # where the name would be in the sentence
                if word != anchor or not 0 <= m < len(words):
                    continue
                other = words[m]
                if (not other[:1].isupper() or lower[m] in lower_asked or lower[m] in STOPWORDS
                        or spelled_out(other, question) or _same_name(token, other)):
                    continue
                if anchor in STOPWORDS:  # a stopword anchor needs the next word too
                    k2, j2 = k + step, j + step
                    if not (0 <= k2 < len(asked) and 0 <= j2 < len(words)
                            and lower_asked[k2] == lower[j2]):
                        continue
                return other
    return None


def _same_name(name: str, other: str) -> bool:
    """A misspelling, the plural or a part of the same name, not another name: "Rind" and
    "Rhine", "Castlles-Quintana" and "Castells-Quintana", "African-Americans" and
    "African", "City" and "Cities"."""
    a, b = name.lower(), other.lower()
    if set(a.split("-")) & set(b.split("-")) or _plural(a, b) or _plural(b, a):
        return True
    return a[:2] == b[:2] and _edits(a, b) <= 2 or _one_edit(a, b)


def _plural(one: str, many: str) -> bool:
    """Whether `many` is the plural of `one` ("city", "cities"; "church", "churches")."""
    return many in (one + "s", one + "es") or (one.endswith("y") and many == one[:-1] + "ies")


def _edits(a: str, b: str) -> int:
    """Levenshtein distance, for two short words."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _bare(token: str) -> str:
    return re.sub(r"['’]s$", "", token).strip("'’")


_TOKEN = re.compile(r"[A-Za-z0-9][\w'’-]*")


_NEGATING = ("un", "non", "in", "im", "il", "ir", "dis")


def _negated_form(question: str, best: Candidate, near: Sequence[Candidate]) -> bool:
    """A word negated by its prefix on one side and plain on the other: "unnatural
    disasters" against "natural disasters", "dependent" against "independent"."""
    asked = set(content_terms(question.replace("-", "")))
    context = {t for c in near for t in content_terms(c.text.replace("-", ""))}
    for word, other in ((asked, context), (context, asked)):
        for stem in word - other:
            for prefix in _NEGATING:
                plain = stem[len(prefix):]
                # "in", "im", "il", "ir" start many words: only before a longer stem
                if stem.startswith(prefix) and len(plain) >= 4 + (len(prefix) == 2) \
                        and plain in other \
                        and (word is asked or plain not in context):
                    return True
    return False


def _denied(question: str, best: Candidate) -> bool:
    """The sentence denies what the question asserts: "are not intended as" where the
    question asks what "are intended as" (the words either side of the "not" and the one
    after, in the question's order)."""
    asked = _WORDS.findall(question.lower())
    if any(w in _DENIALS or w.endswith("n't") for w in asked):
        return False
    runs = set(zip(asked, asked[1:], asked[2:]))
    words = _WORDS.findall(best.text.lower())
    return any(words[i] in _DENIALS and (words[i - 1], words[i + 1], words[i + 2]) in runs
               for i in range(1, len(words) - 2))


def features(
    prof: QuestionProfile, best: Candidate, ranked: Sequence[Candidate], verdict: Check
) -> dict[str, float]:
    near = context_of(best, ranked)
    near_terms = _near_terms(best, near)
    total = prof.total
    heaviest = max((w for s, w in prof.weights.items() if s not in near_terms), default=0.0)
    stated = constraints(prof.text)

    def share(kinds: tuple[str, ...]) -> float:
        of_kind = [c for c in stated if c.kind in kinds]
        if not of_kind:
            return 0.0
        return sum(1 for c in verdict.missing if c.kind in kinds) / len(of_kind)

    runner = next((c.score for c in ranked if c is not best), 0.0)
    question_terms = set(content_terms(prof.text))
    near_lower = " ".join(c.text for c in near).lower()
    modifiers = {m.lower() for m in _MODIFIERS.findall(prof.text)}
    asked = verdict.asked
    inside, edge = _slots(content_terms(prof.text), content_terms(best.text))
    return {
        "slot_swap": float(inside),
        "edge_swap": float(edge),
        "missing_count": math.log1p(sum(1 for s in prof.weights if s not in near_terms)),
        "antonym": float(verdict.swapped),
        "modifier_missing": float(any(
            not re.search(rf"\b{m}\b", near_lower) for m in modifiers)),
        "answer_room": math.log1p(len(best.terms - question_terms)),
        "asks_date": float(asked == "date"),
        "asks_number": float(asked == "number"),
        "asks_who": float(asked in ("who", "person")),
        "own": best.own,
        "coverage": best.coverage,
        "semantic": max(best.semantic, 0.0),
        "unknown": prof.unknown,
        "heaviest_missing": heaviest / total,
        "names_missing": share(("name",)),
        "numbers_missing": share(("number", "year")),
        "ordinal_missing": share(("ordinal",)),
        "type_missing": float(verdict.type_missing),
        "margin": best.score - runner,
        "dense": max(best.passage.dense, 0.0),
        "title_only": float(verdict.title_only),
        "unknown_name": float(bool(verdict.unknown_names)),
        "negation": float(verdict.negated),
    }


@dataclass(frozen=True)
class Calibration:
    """A logistic regression: confidence = 1 / (1 + exp(-(bias + Σ w·(x - mean) / scale)))."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    bias: float
    min_confidence: float = 0.5  # the operating point measured when fitting

    @classmethod
    def from_json(cls, data: dict) -> Calibration:
        return cls(
            names=tuple(data["features"]),
            weights=tuple(float(w) for w in data["weights"]),
            means=tuple(float(m) for m in data["means"]),
            scales=tuple(float(s) for s in data["scales"]),
            bias=float(data["bias"]),
            min_confidence=float(data.get("min_confidence", 0.5)),
        )

    def confidence(self, values: dict[str, float]) -> float:
        z = self.bias
        for name, w, m, s in zip(self.names, self.weights, self.means, self.scales):
            z += w * (values.get(name, 0.0) - m) / (s or 1.0)
        z = max(-30.0, min(30.0, z))
        return 1.0 / (1.0 + math.exp(-z))


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    """The shipped coefficients (`retrieval/calibration/model.json`)."""
    text = resources.files("attache.retrieval.calibration").joinpath("model.json").read_text(
        encoding="utf-8"
    )
    return Calibration.from_json(json.loads(text))


# --- ranking the best sentences -----------------------------------------------------

# How many of the best-scoring sentences the ranker reorders.
RANKED = 8
# The ranker's features: the answerability features of each sentence, and these.
RANK_FEATURES: dict[str, str] = {
    "score": "the sentence's score (`extractive.score`)",
    "type_match": "how well it offers the kind of answer asked for",
    "passage_rank": "its passage's rank",
    "position": "its place among the best-scoring sentences (0 for the best)",
    "words": "its length in words",
    "hard": "1 when a hard check refuses it",
    "bigrams": "share of the question's word pairs (stemmed) the sentence holds in a row",
    "matched": "share of the question's distinct stemmed words it holds, stopwords aside",
    "noun_held": "1 when the question asks for a kind of thing by name (\"which law\", "
                 "\"what sanctions\") and the sentence holds that word",
    "noun_missing": "1 when the question asks for a kind of thing by name and the sentence "
                    "lacks that word",
}

_PAIR_STOPWORDS = frozenset(
    "the a an of in on at to for by with from and or is was were are be been what which "
    "who whom whose when where why how did do does that this as its it".split())


def _stems(text: str) -> list[str]:
    from attache.retrieval.extractive import _stemmer

    words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", text)]
    return _stemmer().stemWords(words) if words else []


def rank_values(
    prof: QuestionProfile, candidate: Candidate, position: int, verdict: Check,
    values: dict[str, float], asked: Sequence[str] | None = None,
) -> dict[str, float]:
    """The ranker's features of one sentence (`FEATURES` values plus `RANK_FEATURES`)."""
    asked = list(asked) if asked is not None else _stems(prof.text)
    held = _stems(candidate.text)
    pairs = {p for p in zip(asked, asked[1:])
             if not (p[0] in _PAIR_STOPWORDS and p[1] in _PAIR_STOPWORDS)}
    words = {w for w in asked if w not in _PAIR_STOPWORDS}
    noun = _noun_stems(prof.text)
    return {
        **values,
        "score": candidate.score,
        "type_match": candidate.type_match,
        "passage_rank": float(candidate.rank),
        "position": float(position),
        "words": float(len(candidate.text.split())),
        "hard": float(verdict.hard_fail),
        "bigrams": len(pairs & set(zip(held, held[1:]))) / max(1, len(pairs)),
        "matched": len(words & set(held)) / max(1, len(words)),
        "noun_held": float(bool(noun) and bool(noun & candidate.terms)),
        "noun_missing": float(bool(noun) and not noun & candidate.terms),
    }


@lru_cache(maxsize=256)
def _noun_stems(question: str) -> frozenset[str]:
    return frozenset(content_terms(asked_noun(question)))


@dataclass(frozen=True)
class Judged:
    """One of the best-scoring sentences with its checks, features and ranker values."""

    candidate: Candidate
    check: Check
    values: dict[str, float]
    rank_values: dict[str, float]


def judge(prof: QuestionProfile, ranked: Sequence[Candidate], idf: Idf | None,
          k: int = RANKED) -> list[Judged]:
    """The checks, features and ranker values of the `k` best-scoring sentences, in
    score order."""
    asked = _stems(prof.text)
    out = []
    for position, candidate in enumerate(ranked[:k]):
        verdict = check(prof, candidate, ranked, idf)
        values = features(prof, candidate, ranked, verdict)
        out.append(Judged(candidate, verdict, values,
                          rank_values(prof, candidate, position, verdict, values, asked)))
    return out


@lru_cache(maxsize=1)
def default_ranker() -> Calibration:
    """The shipped ranker (`retrieval/calibration/ranker.json`): a logistic regression
    giving the probability that a sentence holds the answer, fitted on SQuAD v1.1."""
    text = resources.files("attache.retrieval.calibration").joinpath("ranker.json").read_text(
        encoding="utf-8"
    )
    return Calibration.from_json(json.loads(text))
