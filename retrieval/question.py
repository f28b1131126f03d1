"""What a question asks for and what it states: the kind of answer it wants, the
specific constraints an answer must support (names, numbers, years, ordinals), and,
for a comparison, its two sides.

Everything here is plain text analysis of the question, no index needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from attache.retrieval.extractive import STOPWORDS, _one_edit, fold

_WORD = re.compile(r"\w+", re.UNICODE)

# Words that start a question or are capitalised only for emphasis: never a name.
_NOT_NAMES = frozenset(
    """what which who whom whose when where why how is are was were do does did can could
    will would should in on at of for to from by with the a an and or if i""".split()
)

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    "last": -1,
}
_ORDINAL = re.compile(r"\b(" + "|".join(ORDINALS) + r"|\d+(?:st|nd|rd|th))\b", re.I)


def is_ordinal(word: str) -> bool:
    """Whether a word is an ordinal: "fourth", "21st", "last"."""
    return bool(_ORDINAL.fullmatch(word))


_NUMERAL = re.compile(r"(?<![\w-])(\d[\d,.]*\d|\d)(?:'?s)?(?![\w-])")
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
_NUMBER_WORDS = dict(enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split()))

# "In what year", "on what date", "by what vote": what a question asks for, by its
# wording, beyond `extractive.question_kind`.
_DATE_ASK = re.compile(
    # "when" opening a clause of another question ("When X, what is Y?") asks no date
    r"^\s*when\b(?!.*\b(?:what|which|who|whom|how|where)\b)"
    r"|\b(what|which) (years?|dates?|days?|months?|century|centuries|decades?|time)\b"
    r"|\bon what date\b"
    r"|\bin what year\b", re.I
)
_NUMBER_ASK = re.compile(
    r"\bhow (many|much)\b|\bhow (large|big|high|long|far|old) an?\b|\bhow (old|far) (is|was|are|were)\b"
    r"|\bby what (vote|margin|count|majority)\b|\b(what|which) (share|"
    r"percentage|percent|proportion|fraction|margin|sum|amount|number|vote count|tally)\b", re.I
)
# "What was the bureau's budget?": a figure, named in lower case (not "Ned Price").
# The figure must head what is asked ("what was the bureau's budget?", not "what does the
# population depend on?").
_FIGURE_ASK = re.compile(r"^\s*(?:[Ww]hat|[Hh]ow much)\s+(?:is|was|are|were|will be)\s+"
                         r"(?:[\w'’.&-]+\s+){0,4}?(budget|cost|price|salary|headcount|"
                         r"funding|fee|population|turnout|vote count|vote tally|tally)s?\b")
@dataclass(frozen=True)
class Constraint:
    """Something the question states that an answer must support."""

    kind: str  # "name", "number", "year", "ordinal"
    text: str  # as the question writes it
    forms: tuple[str, ...]  # lower-case forms, any of which supports it

    def supported_by(self, text: str) -> bool:
        lowered = fold(text)  # "Mongke" is supported by "Möngke"
        if self.kind == "ordinal":  # a "third-party" tool is no third one
            lowered = _NOT_A_RANK.sub(" ", lowered)
        ordered = _WORD.findall(lowered)
        words = set(ordered)
        for form in map(fold, self.forms):
            if " " in form or not form.isalnum():
                if form in lowered:
                    return True
            elif form in words:
                return True
            elif self.kind == "name" and len(form) >= 6 and any(
                    form == one + two for one, two in zip(ordered, ordered[1:])):
                return True  # "BleepingComputer" is "Bleeping Computer"
            elif self.kind == "name" and len(form) >= 4 and any(
                _name_form(form, word) or _misspelt(form, word) for word in words
            ):
                return True
        if self.kind == "name" and _ACRONYM.match(self.text):
            return spelled_out(self.text, text)  # "WWI": "World War I"
        return False


# Compounds whose ordinal ranks nothing.
_NOT_A_RANK = re.compile(r"\b\w+-(?:party|parties|hand|handed|rate|class|degree|person)\b")
_MONTH_NAMES = {name[:3]: name for name in (
    "january february march april may june july august september october november december"
).split()} | {"sept": "september"}
_CARDINALS = frozenset(("one", "two", "three", "four", "five"))


def is_month(word: str) -> bool:
    word = word.strip(".,;:").lower()
    return word in _MONTH_NAMES.values() or word in _MONTH_NAMES


_ACRONYM = re.compile(r"^[A-Z]{2,6}$")
# A seat of government stands for its state in the news ("Washington blamed Moscow"):
# the state's name supports it.
_SEATS: dict[str, tuple[str, ...]] = {
    "washington": ("united states", "u.s.", "america", "american"),
    "moscow": ("russia", "russian", "kremlin"),
    "kremlin": ("russia", "russian", "moscow"),
    "beijing": ("china", "chinese"),
    "london": ("britain", "british", "united kingdom", "u.k."),
    "paris": ("france", "french"),
    "berlin": ("germany", "german"),
    "tokyo": ("japan", "japanese"),
    "pyongyang": ("north korea", "north korean"),
    "tehran": ("iran", "iranian"),
    "kyiv": ("ukraine", "ukrainian"),
    "kiev": ("ukraine", "ukrainian"),
    "brussels": ("european union", "eu"),
    "canberra": ("australia", "australian"),
    "delhi": ("india", "indian"),
    "ottawa": ("canada", "canadian"),
    "seoul": ("south korea", "south korean"),
    "jerusalem": ("israel", "israeli"),
}
# ... but not the city as a place: "the meeting in Tokyo" is not supported by "Japan".
_PLACE = re.compile(r"\b(?:[Ii]n|[Aa]t|[Nn]ear|[Oo]utside|[Ii]nside)\s+(?:New\s+)?([A-Z][a-z]+)\b")


def spelled_out(acronym: str, text: str) -> bool:
    """Whether capitalised words of `text` in a row have `acronym`'s letters as their
    initials ("National Climate Change Action Plan" for "NCCAP"); "of", "and", "the"
    between them are skipped."""
    initials = "".join(
        word[0] for word in re.findall(r"[A-Za-z][\w'’-]*", text)
        if word[0].isupper() or word.lower() not in ("of", "and", "the", "for", "on")
    )
    return acronym in initials


def _misspelt(asked: str, word: str) -> bool:
    """The same name with one letter added, dropped, replaced, or two swapped
    ("Krugmen", "Zeria", "Safair"); never for words under five letters, never the first letter."""
    if min(len(asked), len(word)) < 5 or asked[:1] != word[:1] or abs(len(asked) - len(word)) > 1:
        return False
    if _one_edit(asked, word):
        return True
    diff = [i for i, (a, b) in enumerate(zip(asked, word)) if a != b]
    return len(asked) == len(word) and len(diff) == 2 and diff[1] == diff[0] + 1 and (
        asked[diff[0]] == word[diff[1]] and asked[diff[1]] == word[diff[0]])


def _name_form(asked: str, word: str) -> bool:
    """Another form of the same name: "America" in "American", "Huguenots" and
    "Huguenot"; only endings, never a different stem."""
    short, long = sorted((asked, word), key=len)
    return len(short) >= 4 and long.startswith(short) and len(long) - len(short) <= 3


def name_phrases(question: str) -> list[str]:
    """Runs of capitalised words past the question's first word ("Quad Senior Cyber
    Group", "Pompeo"), split at stopwords and punctuation ("Charleston, South Carolina")."""
    tokens = list(re.finditer(r"[A-Za-z][\w'’.-]*", question))
    phrases: list[list[str]] = []
    current: list[str] = []
    for i, match in enumerate(tokens):
        if current and question[tokens[i - 1].end():match.start()].strip():
            phrases.append(current)
            current = []
        word = match.group(0).rstrip(".")
        bare = re.sub(r"['’]s$", "", word)
        capital = word[:1].isupper() and i > 0 and bare.lower() not in _NOT_NAMES
        if capital and bare.lower() not in STOPWORDS:
            current.append(bare)
            if bare != word:  # a possessive ends the name: "the Group's December meeting"
                phrases.append(current)
                current = []
            continue
        if current:
            phrases.append(current)
            current = []
    if current:
        phrases.append(current)
    return [" ".join(p) for p in phrases]


def constraints(question: str) -> list[Constraint]:
    """The names, numbers, years and ordinals the question states."""
    found: list[Constraint] = []
    places = {m.group(1).lower() for m in _PLACE.finditer(question)}
    for phrase in name_phrases(question):
        # each word of a name must be supported ("King Charles III": all three)
        for word in phrase.split():
            if len(word) < 2 or word.lower() in ORDINALS:
                continue
            seat = () if word.lower() in places else _SEATS.get(word.lower(), ())
            forms = (word.lower(), _MONTH_NAMES[word.lower()]) if word.lower() in _MONTH_NAMES \
                else (word.lower(), *seat)
            found.append(Constraint("name", word, forms))
    for match in _NUMERAL.finditer(question):
        raw = match.group(1)
        bare = raw.replace(",", "")
        forms = {raw.lower(), bare}
        if match.group(0).lower().endswith("s"):
            forms.add(match.group(0).lower().replace("'", ""))  # "the 1990s"
            if len(bare) == 2 and bare.isdigit():  # "the 80s": the 1980s (or 2080s)
                forms.update({f"19{bare}s", f"20{bare}s"})
        if bare.isdigit() and len(bare) > 3:
            forms.add(f"{int(bare):,}")
        if match.group(0).lower().endswith("s") and bare.isdigit() and len(bare) == 4:
            # "the 1700s": also "the 18th century"; "the 1990s": also "the 1990s"
            century = int(bare[:2]) + 1
            if bare.endswith("00"):
                forms.add(f"{century}{_suffix(century)} century")
                forms.add(f"{century}{_suffix(century)} and")  # "17th and 18th centuries"
                forms.add(f"{century}{_suffix(century)} centuries")
        if bare.isdigit() and int(bare) in _NUMBER_WORDS:
            forms.add(_NUMBER_WORDS[int(bare)])
        kind = "year" if _YEAR.match(bare) else "number"
        found.append(Constraint(kind, match.group(0), tuple(sorted(forms))))
    for match in _ORDINAL.finditer(question):
        word = match.group(1).lower()
        before = question[:match.start()].split()[-1:]
        after = question[match.end():].split()[:2]
        if word == "last" or (before and before[0].lower() in _CARDINALS):
            continue  # "one third of the Rhine" is a share, not a rank
        value = ORDINALS.get(word)
        forms = {word}
        if value is None:
            value = int(re.sub(r"\D", "", word))
        forms.update({f"{value}{_suffix(value)}"})
        if word[:1].isdigit() and any(is_month(w) for w in before + after):
            forms.add(str(value))  # "December 22nd" is a day: "December 22, 2009"
        forms.update(k for k, v in ORDINALS.items() if v == value)
        found.append(Constraint("ordinal", match.group(0), tuple(sorted(forms))))
    unique: dict[tuple[str, str], Constraint] = {}
    for item in found:
        unique.setdefault((item.kind, item.text.lower()), item)
    return list(unique.values())


def side_constraints(side: str) -> list[Constraint]:
    """The constraints a comparison's side states ("Pompeo", "March 2024"): its first word
    counts too, as it does not open a question."""
    return constraints(f"About {side}")


def _suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def asks_for(question: str, kind: str) -> str:
    """The kind of answer asked for, refined: "date" and "number" by wording, else the
    extractive kind ("who", "where", "acronym", "reaction", "other"); "person" when a
    "what/which" question names a person by role ("which senator", "what official")."""
    if _NUMBER_ASK.search(question) or _FIGURE_ASK.search(question):
        return "number"
    if _DATE_ASK.search(question):
        return "date"
    if kind in ("other", "who") and (_person_noun(asked_noun(question)) or (
            (named := _NAME_OF.search(question)) and _person_noun(named.group(1).split()[-1]))):
        # "Which two senators introduced the bill?", "What is the name of the CEO who …":
        # people, by name
        return "person"
    return kind if kind in ("who", "where", "acronym", "reaction") else "other"


# "the name of the Colonial Pipeline CEO who …": what is named, before its clause.
_NAME_OF = re.compile(r"\bname of (?:the |a |an |its |their |his |her )?((?:[\w'’-]+\s+){0,3}?"
                      r"[\w'’-]+)(?:\s+(?:who|that|which|whose|whom|in|at|of|for)\b|\s*[,?]|\s*$)",
                      re.I)
# Nouns naming a person by role: "which senator", "what official" ask for a person.
_PERSON_NOUNS = frozenset(
    """senator official minister president spokesperson spokesman spokeswoman diplomat
    ambassador envoy leader lawmaker legislator congressman congresswoman
    king queen emperor empress ruler pope bishop scientist author writer ceo chairman
    chairwoman director secretary officer representative governor mayor judge general
    admiral commander politician researcher journalist reporter founder inventor
    philosopher composer architect explorer scholar expert analyst economist historian
    lawyer activist executive chancellor premier prosecutor commissioner""".split())


def _person_noun(noun: str) -> bool:
    word = noun.lower()
    return word in _PERSON_NOUNS or (word.endswith("s") and word[:-1] in _PERSON_NOUNS)


# Past tenses not ending in "-ed" ("Which minister said …").
_PAST = ("(?:said|led|won|wrote|made|took|gave|ran|became|told|met|held|got|put|set|left|"
         "found|began|built|sent|brought|saw|came|went|paid|sold|chose|spoke|drew|oversaw|"
         "taught|fought|beat|bought|caught|kept|lost|meant|sought|stood|struck|threw|"
         "understood|knew|grew|rose|fell|broke|hid|stole|shot|sang|swore|wore)")
# "What sanctions did …", "Which US law served …", "In which city is …": the noun a
# "what/which" question names as the kind of thing it asks for, before its verb.
_ASKED_NOUN = re.compile(
    r"^(?:(?:in|on|at|for|from|by|to|of|under|during|with)\s+)?(?:what|which)\s+"
    # "What do researchers feel …" asks for no researcher; "What is the prize offered …"
    # asks for a prize
    r"(?!(?:did|does|do|has|have|had|can|could|will|would|should|may|might|must)\b)"
    r"((?:[\w'’-]+\s+){0,2}?[\w'’-]+)\s+(?:did|does|do|is|are|was|were|has|have|had|can|"
    r"could|will|would|should|may|might|must|[a-z]+ed|" + _PAST + r")\b", re.I)
# "What are the six pillars of …": the noun after "what is/are the".
_ASKED_AFTER_BE = re.compile(
    r"^(?:what|which)\s+(?:is|are|was|were)\s+(?:the|a|an)\s+((?:[\w'’-]+\s+){0,2}?[\w'’-]+)"
    r"\s+(?:of|in|inside|within|on|for|that|which|who|to|by|from|at|with|about|among|"
    r"called)\b", re.I)
# Nouns that ask for no kind of thing of their own ("what type of", "in what year").
_VAGUE_NOUNS = frozenset(
    "name names type types kind kinds term terms part parts one ones thing things way ways "
    "purpose reason role year years date day month century time percentage percent number "
    "amount is was".split())


def asked_noun(question: str) -> str:
    """The kind of thing a "what/which" question asks for by name ("What sanctions did the
    EU impose?": "sanctions"), or "" (vague nouns such as "type" or "year" aside)."""
    text = question.strip()
    match = _ASKED_NOUN.match(text) or _ASKED_AFTER_BE.match(text)
    if not match:
        return ""
    noun = match.group(1).split()[-1]
    return "" if noun.lower() in _VAGUE_NOUNS else noun


# --- comparisons -------------------------------------------------------------------

_SIDE = r"(?P<a>[^?]+?)\s+(?:and|with|versus|vs\.?)\s+(?P<b>[^?]+?)"
_COMPARISONS = (
    re.compile(r"^\s*how (?:do|does|did|will|would) (?:the )?" + _SIDE
               + r"\s+(?:each\s+)?(?:differ|compare|contrast|diverge)\b(?P<rest>[^?]*)", re.I),
    re.compile(r"^\s*(?:what|how)(?:\s+(?:is|are|was|were|do|does|did|has|have|will))?\b"
               r"(?P<mid>[^?]*?)\b(?:differ(?:ence|ences)?|changed?|contrast)\s+between\s+"
               r"(?P<a>[^?]+?)\s+(?:and|with|versus|vs\.?)\s+(?P<b>[^?]+)$", re.I),
    re.compile(r"^\s*how (?:do|does|did) (?:the )?(?P<a>[^?]+?) compare (?:with|to) "
               r"(?P<b>[^?]+?)(?P<rest>\s+(?:on|in)\s[^?]*)?$", re.I),
    # "What technologies did X and Y each single out?": the noun belongs to the topic
    re.compile(r"^\s*what(?P<mid>(?:\s+[\w'’-]+){0,3}?)\s+(?:did|do|does|will)\s+" + _SIDE
               + r"\s+each\s+(?P<rest>[^?]+)", re.I),
    re.compile(r"^\s*compare\s+" + _SIDE + r"(?P<rest>[^?]*)", re.I),
)
# "Who did X and Y each appoint?", "In what year did X and Y each open an office?": each
# side is asked the question itself ("Who did X appoint?"), so what it asks for is checked.
_TYPED_EACH = re.compile(
    r"^\s*(?P<ask>(?:(?:in|on|by|at|from|since|until)\s+)?(?:who|whom|when|where|"
    r"(?:what|which)\s+(?:years?|dates?|days?|months?|city|cities|country|countries|place|"
    r"places)|how\s+(?:much|many|long)(?:\s+[\w'’-]+){0,2}?))"
    r"\s+(?P<aux>did|do|does|will|would|has|have|had)\s+"
    r"(?:the\s+(?=\S+\s+and\s+(?!the\s)))?" + _SIDE
    + r"\s+each\s+(?!(?:year|month|week|day|time|other|one|of)\b)(?P<rest>[^?]+)", re.I)


@dataclass(frozen=True)
class Comparison:
    sides: tuple[str, str]  # what to search for each side ("Pompeo plans")
    topic: str  # the rest of the question, shared by both sides
    labels: tuple[str, str] = ("", "")  # the sides as the question names them ("Pompeo")
    # the question each side is asked, "{}" standing for the side ("Who did {} appoint?");
    # empty: the side and the topic
    asked: str = ""

    def question_for(self, side: str) -> str:
        if self.asked:
            return self.asked.replace("{}", side)
        return f"{side} {self.topic}".strip()


def comparison(question: str) -> Comparison | None:
    """The two sides of "How do X and Y differ?", "What did X and Y each announce?",
    "Who did X and Y each appoint?", "How did … change between X and Y?"; None for any
    other question."""
    text = question.strip().rstrip("?").strip()
    for pattern in (_TYPED_EACH, *_COMPARISONS):
        match = pattern.search(text)
        if not match:
            continue
        groups = match.groupdict()
        topic = " ".join(
            part.strip() for part in (groups.get("mid") or "", groups.get("rest") or "")
            if part and part.strip()
        )
        a, b, shared = _share_head(match.group("a").strip(" ,"), match.group("b").strip(" ,"))
        # the sides as the question names them, without the noun they share
        labels = (a.removesuffix(f" {shared}"), b.removesuffix(f" {shared}")) if shared \
            else (a, b)
        if not a or not b or a.lower() == b.lower():
            continue
        if pattern is _TYPED_EACH:
            ask = groups["ask"]
            asked = f"{ask[0].upper()}{ask[1:]} {groups['aux']} {{}} {topic}?"
            return Comparison((a, b), topic, labels, asked)
        if all(w.lower() in STOPWORDS for w in _WORD.findall(topic)):
            topic = ""
        return Comparison((a, b), topic, labels)
    return _between_dates(text)


# "What did the White House announce in June 2025 and in March 2026?": two dates, the
# preposition said again. Found by plain string search, in linear time.
_AND_AGAIN = re.compile(r"\s+and\s+(in|on|during|by)\s+", re.I)
_ASKS = re.compile(r"^(?:what|how|who|which)\b", re.I)


def _between_dates(text: str) -> Comparison | None:
    joins = list(_AND_AGAIN.finditer(text))
    if len(joins) != 1 or not _ASKS.match(text):
        return None
    join = joins[0]
    before, b = text[:join.start()], text[join.end():].strip(" ,")
    at = f" {join.group(1).lower()} "
    cut = before.lower().rfind(at)
    if cut < 0:
        return None
    topic, a = before[:cut].strip(), before[cut + len(at):].strip(" ,")
    if not (_ends_in_year(a) and _ends_in_year(b)) or a.lower() == b.lower():
        return None
    return Comparison((a, b), topic, (a, b))


def _ends_in_year(side: str) -> bool:
    words = _WORD.findall(side)
    return bool(words) and side.endswith(words[-1]) and bool(_YEAR.match(words[-1]))


def _share_head(a: str, b: str) -> tuple[str, str, str]:
    """ "the Pompeo and Blinken plans": the noun after the second side belongs to both;
    "BleepingComputer's and The Record's reports on …": all that follows the second owner;
    "CyberScoop's February 2025 and June 2025 reports": the owner before the first too;
    "the Group's New Delhi statement and its Tokyo statement": "its" is the Group's.
    The two sides, and the noun they share ("" when none)."""
    a_words, b_words = a.split(), b.split()
    possessive = re.compile(r"['’]s$")
    b_owner = next((i for i, w in enumerate(b_words[:4]) if possessive.search(w)), None)
    if len(a_words) == 1 and possessive.search(a) and b_owner is not None \
            and b_owner + 1 < len(b_words):
        shared = " ".join(b_words[b_owner + 1:])
        return f"{a} {shared}", b, shared
    shared = ""
    if len(b_words) > 1:
        tail = b_words[-1]
        common = (tail.lower() not in STOPWORDS and not tail[:1].isupper()
                  and not tail[:1].isdigit())
        # a one-word side ("Pompeo"), or one ending in a name or a year ("February 2025")
        # before a plural noun ("… and June 2025 reports")
        named = len(a_words) > 1 and (a_words[-1][:1].isupper() or a_words[-1].isdigit()) \
            and tail.lower().endswith("s") and tail.lower() not in a.lower()
        if common and (len(a_words) == 1 or named):
            a, shared = f"{a} {tail}", tail
    a_owner = next((i for i, w in enumerate(a_words) if possessive.search(w)), None)
    if a_owner is not None and b_words and b_words[0].lower() in ("its", "their"):
        b = " ".join(a_words[:a_owner + 1] + b_words[1:])
    elif len(a_words) > 1 and possessive.search(a_words[0]) and b_owner is None \
            and b_words and b_words[0].lower() not in _OWNED:
        b = f"{a_words[0]} {b}"  # not "Biden's fact sheet and the March 2024 update"
    return a, b, shared


# Words opening a noun phrase that already has its determiner ("the March 2024 update").
DETERMINERS = frozenset("the a an this these those its their his her".split())
_OWNED = DETERMINERS | {"that", "our"}
