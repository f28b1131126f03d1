"""Extractive answering: pick the sentences of the retrieved passages that answer.

Each candidate sentence is scored against the question by
- lexical coverage: the IDF-weighted share of the question's content terms found in
  the sentence (terms found only in the sentence's passage count for less);
- the expected kind of answer: a "when" question wants a date, a "how many" one a
  number, a "who" one a name that the question does not already contain;
- the passage's retrieval rank and its dense similarity to the question.
The best sentence answers; a second joins it when it comes from another document
and scores nearly as well (documents that complement or contradict each other are
both cited), or when the best one is too short to stand alone.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from attache.index.chunk_meta import TEXT_SHA
from attache.index.chunking import split_sentences
from attache.retrieval.names import TITLES, adjectives

if TYPE_CHECKING:
    from attache.index.lexical import LexicalIndex
    from attache.retrieval.search import Passage

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom whose why will with would you your
    yours yourself yourselves one ones s t get got may might must shall upon many much
    known called named tell say said according per""".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b")
_MONTHS = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\b"
)
_TIME_WORDS = re.compile(
    r"\b(century|centuries|decade|decades|year|years|ago|today|yesterday|tomorrow|Monday|"
    r"Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|morning|evening|night|BC|AD|era|"
    r"period|age|dynasty|reign|since|until|during|after|before|recently|later|earlier)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    # a figure, with a unit ("£30m", "5km"), never an ordinal ("21st")
    r"\b(\d[\d,.]*(?:k|m|bn|mn|b|km|km2|kg|mm|cm|mi|ft|lb|lbs|mph|kw|mw|gw|hz|s)?|"
    r"one|two|three|four|five|six|"
    r"seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|"
    r"dozens|half|third|quarter|percent|several|few|many|single|double|triple|twice)\b",
    re.IGNORECASE,
)
# Bounded runs: each capital tried as a start costs a constant, so the time stays linear
# on document text such as "A.A.A.A…" (unbounded, every start scanned to the run's end).
_NAME = re.compile(r"\b[A-Z][\w'’.-]{0,63}[a-z][\w'’-]{0,63}\b")

QUESTION_KINDS = (
    ("when", re.compile(r"^\s*(when|what (year|date|time|day|month|century|decade|era|period))\b"
                        r"|\b(what|which) (years?|dates?|days|century|decades?)\b"
                        r"|\bhow long ago\b", re.I)),
    ("number", re.compile(r"\bhow (many|much|long|old|far|big|large|tall|high|often|fast|"
                          r"heavy|deep|wide)\b|\b(what|which) (percentage|percent|number|"
                          r"amount|proportion|share|size|population|rate|total)\b|\bnumber of\b"
                          r"|\b(budget|budgets|cost|costs|price|salary|salaries|headcount|"
                          r"count|funding|fee|fees|sum|figure|tally|turnout|score)\b", re.I)),
    ("reaction", re.compile(r"\b(what|how) (did|does|do|has|have|will|would)\b.*\b(say|said|think|"
                            r"react|respond|reply|comment|feel)\b|\breact(ed|ion|ions)?\b"
                            r"|\brespon(d|ded|se)\b.*\bto\b", re.I)),
    ("acronym", re.compile(r"\b(stand|stands) for\b|\bshort for\b|\b(full|long) (name|form)\b"
                           r"|\bacronym\b|\babbreviation\b", re.I)),
    ("who", re.compile(r"^\s*(who|whom|whose)\b|\b(who|whom|whose)\b", re.I)),
    ("where", re.compile(r"^\s*where\b|\bwhere\b", re.I)),
)


def question_kind(question: str) -> str:
    for kind, pattern in QUESTION_KINDS:
        if pattern.search(question):
            return kind
    return "other"


_PER_THREAD = threading.local()


def _stemmer() -> Any:
    """This thread's stemmer: PyStemmer's are not to be shared between threads, and the
    Discord bot answers on several."""
    stemmer = getattr(_PER_THREAD, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _PER_THREAD.stemmer = Stemmer.Stemmer("english")
    return stemmer


def content_terms(text: str) -> list[str]:
    """Stemmed words of `text` that carry meaning (no stopwords, no single letters)."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]
    if not words:
        return []
    folded = _demonyms()
    return [folded.get(s, s) for s in (_verb_stem(w) for w in _stemmer().stemWords(words))]


@lru_cache(maxsize=1)
def _demonyms() -> dict[str, str]:
    """A people's adjective, stemmed, as its country's stem ("australian", "australians":
    "australia"), so that "Australia's new power" matches "the Australian Parliament"."""
    pairs = adjectives()
    stems = _stemmer().stemWords(list(pairs) + list(pairs.values()))
    return dict(zip(stems[:len(pairs)], stems[len(pairs):]))


def _verb_stem(stem: str) -> str:
    """The stemmer keeps "-ation" on a short word ("creation", while "created" is
    "creat"); past six letters it goes ("creat"), "nation" and "station" keep it."""
    return stem[:-3] if len(stem) > 7 and stem.endswith("ation") else stem


def asked_names(question: str) -> list[str]:
    """Names the question mentions (capitalised words past its first word)."""
    words = _WORD.findall(question)
    return [w for w in words[1:] if w[:1].isupper() and w.lower() not in STOPWORDS and len(w) > 1]


def names_missing(question: str, text: str) -> float:
    """The share of the question's names that `text` does not mention."""
    names = asked_names(question)
    if not names:
        return 0.0
    present = {w.lower() for w in _WORD.findall(text)}
    missing = [n for n in names if n.lower() not in present]
    return len(missing) / len(names)


_SPEAKER = re.compile(
    r"\b(?:what|how) (?:did|does|do|has|have|will|would) (.+?) (?:say|said|think|react|"
    r"respond|reply|comment|feel)\b",
    re.I,
)
_ACRONYM = re.compile(r"\b[A-Z][A-Za-z]*[A-Z]\b")
# Words that only frame an acronym question ("what does X stand for?").
_ACRONYM_FRAME = frozenset({"stand", "short", "full", "long", "form", "name", "acronym",
                            "abbrevi"})


def _type_match(kind: str, sentence: str, question: str) -> float:
    """How well the sentence offers the kind of answer the question asks for (0 to 1)."""
    if kind == "acronym":
        acronyms = _ACRONYM.findall(question)
        return 1.0 if any(f"({a})" in sentence for a in acronyms) else 0.0
    if kind == "reaction":
        # whose words or reaction: the one asked about must be named in the sentence
        speaker = _SPEAKER.search(question)
        about = speaker.group(1) if speaker else question
        return 1.0 - names_missing("Did " + about, sentence)
    if kind == "when":
        if _YEAR.search(sentence) or _MONTHS.search(sentence):
            return 1.0
        return TIME_WORD_MATCH if _TIME_WORDS.search(sentence) else 0.0
    if kind == "number":
        return 1.0 if _NUMBER.search(sentence) else 0.0
    if kind in ("who", "where"):
        asked = {w.lower() for w in _NAME.findall(question)}
        # a title is no one's name ("Secretary Pompeo" names no one new to "Pompeo")
        names = [n for n in _NAME.findall(sentence)
                 if n.lower() not in asked and n.lower() not in TITLES]
        # the first word of a sentence is capitalised anyway
        names = [n for n in names if not sentence.startswith(n) or len(names) > 1]
        return 1.0 if names else 0.0
    return 1.0


@dataclass(frozen=True)
class QuestionProfile:
    text: str
    kind: str
    weights: dict[str, float]  # content stem -> IDF weight
    unknown: float = 0.0  # share of the IDF weight on terms no indexed chunk contains
    ordinal: int = 0  # "the fifth priority": 5

    @property
    def total(self) -> float:
        return sum(self.weights.values()) or 1.0


@dataclass
class Candidate:
    passage: Passage
    rank: int  # the passage's rank
    start: int  # offsets into the document's text
    end: int
    text: str
    coverage: float = 0.0
    own: float = 0.0  # coverage by the sentence alone
    semantic: float = 0.0  # cosine of the sentence's vector and the question's
    type_match: float = 0.0
    score: float = 0.0
    terms: frozenset[str] = field(default_factory=frozenset)
    ordinal: int = 0  # a list item's position in its list (1-based), else 0
    context: frozenset[str] = field(default_factory=frozenset)  # its list's terms


def fold(text: str) -> str:
    """Lower case without accents."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _one_edit(a: str, b: str) -> bool:
    """Whether b is a with at most one letter inserted, removed or replaced."""
    if a == b:
        return True
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:]
    return a[i:] == b[i + 1:]


class Idf:
    """Inverse document frequencies of stems over the indexed chunks."""

    def __init__(self, lexical: LexicalIndex | None) -> None:
        self._df: dict[str, int] = lexical.document_frequencies() if lexical else {}
        self.docs = max(1, len(lexical.ids) if lexical else 1)
        self._folded: set[str] | None = None
        # `content_terms` reads "Chinese" as "china": the country's term counts the chunks
        # holding either word (a chunk holding both twice, so at most every chunk)
        for adjective, country in _demonyms().items():
            if self._df.get(adjective):
                self._df[country] = min(self.docs, self._df.get(country, 0) + self._df[adjective])

    def df(self, stem: str) -> int:
        return self._df.get(stem, 0)

    def known(self, stem: str) -> bool:
        """Whether any chunk holds the stem, accents aside ("Mongke" for "Möngke"), or, for
        a word of six letters or more, the stem misspelled by one letter ("Hatmanis" for
        "Hartmanis")."""
        if self._df.get(stem, 0):
            return True
        if self._folded is None:
            self._folded = {fold(s) for s in self._df}
        folded = fold(stem)
        if folded in self._folded:
            return True
        return len(folded) >= 6 and any(_one_edit(folded, s) for s in self._folded
                                        if abs(len(s) - len(folded)) <= 1 and s[:1] == folded[:1])

    def __call__(self, stem: str) -> float:
        df = self._df.get(stem, 0)
        return math.log(1 + (self.docs - df + 0.5) / (df + 0.5))


# --- Sentence scoring weights (see `score`) ---------------------------------------------
# Weight of a term carried from earlier turns of a conversation, against the question's own.
CONTEXT_WEIGHT = 0.3
# Weight of the sentence's cosine similarity to the question.
SEMANTIC_WEIGHT = 1.0
# Factor on a sentence that repeats the document's title: the body says it in full.
HEADING_FACTOR = 0.85
# Weight of a question term found only elsewhere in the sentence's passage (or its title).
PASSAGE_TERM_WEIGHT = 0.35
# Weight of offering the kind of answer asked for; for acronyms the definition is the answer.
TYPE_WEIGHT = 0.15
ACRONYM_TYPE_WEIGHT = 1.0
# Weight of the passage's dense similarity to the question.
PASSAGE_DENSE_WEIGHT = 0.25
# Bonus for the passage's retrieval rank, divided by (1 + rank).
RANK_WEIGHT = 0.10
# Sentences shorter than this many words are fragments; their score is multiplied by
# SHORT_FACTOR.
SHORT_WORDS = 6
SHORT_FACTOR = 0.6
# A "when" sentence with only a time word ("later", "during") half offers a date.
TIME_WORD_MATCH = 0.5
# Factor on the list item an ordinal question asks for (see `_match_ordinal`).
ORDINAL_BONUS = 0.5


def profile(question: str, idf: Idf, context: str = "") -> QuestionProfile:
    """The question's terms and IDF weights; `context` (terms carried from earlier turns
    of a conversation) counts for less than the question's own words."""
    kind = question_kind(question)
    ordinal = _ordinal(question)
    weights = {s: idf(s) for s in dict.fromkeys(content_terms(question))}
    if kind == "acronym":
        weights = {s: w for s, w in weights.items() if s not in _ACRONYM_FRAME} or weights
    for stem in content_terms(context):
        weights.setdefault(stem, CONTEXT_WEIGHT * idf(stem))
    total = sum(weights.values()) or 1.0
    unknown = sum(w for s, w in weights.items() if idf.df(s) == 0) / total
    return QuestionProfile(question, kind, weights, unknown, ordinal)


_ORDINALS = {
    word: n
    for n, words in enumerate(
        [("first", "1st"), ("second", "2nd"), ("third", "3rd"), ("fourth", "4th"),
         ("fifth", "5th"), ("sixth", "6th"), ("seventh", "7th"), ("eighth", "8th"),
         ("ninth", "9th"), ("tenth", "10th"), ("eleventh", "11th"), ("twelfth", "12th")],
        1,
    )
    for word in words
}
_ORDINAL = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\b", re.IGNORECASE)


def _ordinal(question: str) -> int:
    """The position a question asks for ("the third pillar": 3), else 0."""
    match = _ORDINAL.search(question)
    return _ORDINALS[match.group(1).lower()] if match else 0


@dataclass(frozen=True)
class Analysis:
    """A passage cut into sentences: spans (offsets into the passage text), their
    content terms, and their vectors when the index stored them (else None)."""

    spans: list[tuple[int, int]]
    terms: list[frozenset[str]]
    vectors: Any
    items: dict[int, tuple[int, frozenset[str]]] = field(default_factory=dict)
    """Sentence index -> (ordinal, content terms of its list) for list items."""


def analyse(passage: Passage) -> Analysis:
    from attache.index.chunk_meta import SENTENCE_SPANS, SENTENCE_VECTORS
    from attache.index.chunking import parse_spans
    from attache.index.embedding import unpack_vectors

    spans = parse_spans(passage.metadata)
    marked = SENTENCE_SPANS in passage.metadata  # "" when the chunk holds only headings
    if (not spans and not marked) or (spans and spans[-1][1] > len(passage.text)):
        spans = [(s.start, s.end) for s in split_sentences(passage.text)]
        vectors = None
    else:
        vectors = unpack_vectors(str(passage.metadata.get(SENTENCE_VECTORS) or ""))
        if len(vectors) != len(spans):
            vectors = None
    terms = [frozenset(content_terms(passage.text[a:b])) for a, b in spans]
    return Analysis(spans, terms, vectors, _list_items(passage, spans))


def _list_items(
    passage: Passage, spans: list[tuple[int, int]]
) -> dict[int, tuple[int, frozenset[str]]]:
    """The sentences that are list items: their ordinal and their list's terms."""
    import json

    from attache.index.chunk_meta import ITEMS

    raw = passage.metadata.get(ITEMS)
    if not raw:
        return {}
    try:
        items = [(int(a), int(b), int(n), str(c)) for a, b, n, c in json.loads(str(raw))]
    except (ValueError, TypeError):
        return {}
    found: dict[int, tuple[int, frozenset[str]]] = {}
    for i, (a, b) in enumerate(spans):
        for start, end, ordinal, context in items:
            if start <= a < end:
                found[i] = (ordinal, frozenset(content_terms(context)))
                break
    return found


class AnalysisCache:
    """Recently analysed passages, keyed by chunk id and content hash (so never stale)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], Analysis] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, passage: Passage) -> Analysis:
        key = (passage.id, str(passage.metadata.get(TEXT_SHA, "")))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        found = analyse(passage)
        with self._lock:
            self._items[key] = found
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return found


def candidates(
    passages: Sequence[Passage], query_vector: Any = None, cache: AnalysisCache | None = None
) -> list[Candidate]:
    """Every sentence of the passages, with its offsets in the document and, where the
    index stored sentence vectors, its similarity to the question."""
    found: dict[tuple[str, int], Candidate] = {}
    for rank, passage in enumerate(passages):
        analysis = cache.get(passage) if cache is not None else analyse(passage)
        similarities = (
            analysis.vectors @ query_vector
            if analysis.vectors is not None and query_vector is not None
            else None
        )
        for i, (a, b) in enumerate(analysis.spans):
            start = passage.start + a
            key = (passage.source, start)
            if key in found:
                continue
            found[key] = Candidate(
                passage, rank, start, passage.start + b, passage.text[a:b],
                semantic=float(similarities[i]) if similarities is not None else 0.0,
                terms=analysis.terms[i],
            )
            if i in analysis.items:
                found[key].ordinal, found[key].context = analysis.items[i]
    return list(found.values())


# An acronym a passage defines: "the Bureau of Cyberspace and Digital Policy (CDP)".
_PARENTHESISED = re.compile(r"\s\(([A-Z][A-Za-z]{1,8})\)")
_LINKS = frozenset({"of", "and", "for", "the", "on", "to", "in", "&"})
_LONG_FORM_WORDS = 10


def _defined(text: str) -> tuple[tuple[str, str], ...]:
    """The acronyms a text defines and the words they stand for, the long form cut to the
    capitalised words whose initials spell the acronym ("Bureau of Cyberspace and
    Digital Policy (CDP)": CDP, "Cyberspace and Digital Policy")."""
    found: dict[str, str] = {}
    for match in _PARENTHESISED.finditer(text):
        acronym = match.group(1)
        letters = "".join(ch for ch in acronym if ch.isupper())
        before = text[max(0, match.start() - 200) : match.start()].split()
        run: list[str] = []
        for word in reversed(before[-_LONG_FORM_WORDS:]):
            if not (word[:1].isupper() or word in _LINKS):
                break
            run.insert(0, word)
        for first in range(len(run)):
            part = run[first:]
            if part[0] in _LINKS:
                continue
            if "".join(w[0] for w in part if w not in _LINKS).upper() == letters:
                found.setdefault(acronym, " ".join(part))
                break
    return tuple(found.items())


@lru_cache(maxsize=4096)
def _alias_terms(text: str) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """The stems of each acronym a passage's text defines and of its long form."""
    pairs = ((frozenset(content_terms(a)), frozenset(content_terms(f))) for a, f in _defined(text))
    return tuple((short, words) for short, words in pairs if short and words)


def _aliases(items: Sequence[Candidate]) -> list[tuple[frozenset[str], frozenset[str]]]:
    """For each acronym the passages define: its stem and the stems of its long form."""
    seen: set[str] = set()
    pairs: dict[frozenset[str], frozenset[str]] = {}
    for item in items:
        if item.passage.id in seen:
            continue
        seen.add(item.passage.id)
        for short, words in _alias_terms(item.passage.text):
            pairs.setdefault(short, words)
    return list(pairs.items())


def _expand(items: Sequence[Candidate]) -> None:
    """A sentence that names an acronym its passages define holds the words it stands
    for, and one that spells those out holds the acronym ("the CDP" answers a question
    about "the Bureau of Cyberspace and Digital Policy")."""
    for short, words in _aliases(items):
        for item in items:
            if short <= item.terms and not words <= item.terms:
                item.terms = item.terms | words
            elif words <= item.terms and not short <= item.terms:
                item.terms = item.terms | short


def score(profile: QuestionProfile, items: list[Candidate]) -> list[Candidate]:
    """Score candidates in place and return them best first."""
    _expand(items)
    total = profile.total
    # a definition is what an acronym question asks for; elsewhere the kind is a hint
    type_weight = ACRONYM_TYPE_WEIGHT if profile.kind == "acronym" else TYPE_WEIGHT
    picked = _match_ordinal(profile, items) if profile.ordinal else set()
    by_passage: dict[str, set[str]] = {}
    for item in items:
        if item.passage.id not in by_passage:
            by_passage[item.passage.id] = set(content_terms(item.passage.title))
        by_passage[item.passage.id].update(item.terms)
    for item in items:
        own = sum(w for s, w in profile.weights.items() if s in item.terms)
        context = sum(
            w for s, w in profile.weights.items()
            if s not in item.terms and s in by_passage[item.passage.id]
        )
        item.own = own / total
        item.coverage = (own + PASSAGE_TERM_WEIGHT * context) / total
        item.type_match = _type_match(profile.kind, item.text, profile.text)
        words = len(item.text.split())
        brevity = 1.0 if words >= SHORT_WORDS else SHORT_FACTOR
        if item.passage.title and item.text.startswith(item.passage.title):
            brevity *= HEADING_FACTOR  # the headline: the body says it in full
        if id(item) in picked:
            brevity = 1.0 + ORDINAL_BONUS  # the list item asked for by its position
        item.score = (
            item.coverage
            + type_weight * item.type_match
            + PASSAGE_DENSE_WEIGHT * max(item.passage.dense, 0.0)
            + SEMANTIC_WEIGHT * max(item.semantic, 0.0)
            + RANK_WEIGHT / (1 + item.rank)
        ) * brevity
    return sorted(items, key=lambda c: -c.score)


def _match_ordinal(profile: QuestionProfile, items: list[Candidate]) -> set[int]:
    """For "the fifth priority": the fifth item of a list whose heading or lead-in holds
    the question's terms answers; those terms, and the ordinal word, count as its own.
    The ids of those items."""
    picked: set[int] = set()
    ordinal_words = {
        stem for word, n in _ORDINALS.items() if n == profile.ordinal
        for stem in content_terms(word)
    }
    for item in items:
        if item.ordinal != profile.ordinal:
            continue
        shared = item.context & profile.weights.keys()
        if shared:
            item.terms = item.terms | shared | (ordinal_words & profile.weights.keys())
            picked.add(id(item))
    return picked
