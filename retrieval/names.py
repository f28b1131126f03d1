"""What a capitalised name is, when a word list can tell: a country or its people, a body
(a ministry, a group, a company), or a person.

Used by the answerability checks: "Which Norwegian foreign minister said …" is not
answered by a sentence naming only Norway and its parliament, and "Which Chinese group did
the EU blame?" is not answered by a sentence blaming a Russian one.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Countries and the adjectives naming their people, "country:adjective[/adjective…]";
# several words join with "_".
_COUNTRIES = """
afghanistan:afghan albania:albanian algeria:algerian argentina:argentine/argentinian
armenia:armenian australia:australian austria:austrian azerbaijan:azerbaijani
bangladesh:bangladeshi belarus:belarusian belgium:belgian bolivia:bolivian
bosnia:bosnian brazil:brazilian bulgaria:bulgarian cambodia:cambodian cameroon:cameroonian
canada:canadian chile:chilean china:chinese colombia:colombian costa_rica:costa_rican
croatia:croatian cuba:cuban cyprus:cypriot czechia/czech_republic:czech denmark:danish
ecuador:ecuadorian egypt:egyptian estonia:estonian ethiopia:ethiopian finland:finnish
france:french georgia:georgian germany:german ghana:ghanaian greece:greek
hungary:hungarian iceland:icelandic india:indian indonesia:indonesian iran:iranian
iraq:iraqi ireland:irish israel:israeli italy:italian japan:japanese jordan:jordanian
kazakhstan:kazakh kenya:kenyan korea/south_korea/republic_of_korea:korean/south_korean
north_korea:north_korean kuwait:kuwaiti latvia:latvian lebanon:lebanese libya:libyan
lithuania:lithuanian luxembourg:luxembourgish malaysia:malaysian mexico:mexican
moldova:moldovan mongolia:mongolian/mongol montenegro:montenegrin morocco:moroccan
netherlands/holland:dutch new_zealand:new_zealander nigeria:nigerian norway:norwegian
pakistan:pakistani peru:peruvian philippines:philippine/filipino poland:polish
portugal:portuguese qatar:qatari romania:romanian russia:russian saudi_arabia:saudi
serbia:serbian singapore:singaporean slovakia:slovak slovenia:slovenian
south_africa:south_african spain:spanish sweden:swedish switzerland:swiss syria:syrian
taiwan:taiwanese thailand:thai tunisia:tunisian turkey/türkiye:turkish ukraine:ukrainian
united_arab_emirates/uae:emirati united_kingdom/uk/britain/great_britain/england/scotland/wales:british/english/scottish/welsh
united_states/us/usa/america:american venezuela:venezuelan vietnam:vietnamese
"""


def _entries() -> list[tuple[list[str], list[str]]]:
    """Each country's names and adjectives, lower case ("_" joins words)."""
    pairs = (entry.split(":") for entry in _COUNTRIES.split())
    return [(names.split("/"), words.split("/")) for names, words in pairs]


@lru_cache(maxsize=1)
def _nations() -> dict[str, str]:
    """Every country name and adjective, lower case, mapped to the country's first name."""
    return {word.replace("_", " "): names[0]
            for names, words in _entries() for word in names + words}


@lru_cache(maxsize=1)
def adjectives() -> dict[str, str]:
    """Each one-word adjective of a one-word country, mapped to the country's first name
    ("norwegian": "norway")."""
    return {word: names[0] for names, words in _entries() if "_" not in names[0]
            for word in words
            if "_" not in word and word != names[0] and word not in _COMMON_WORDS}


# Adjectives that are also everyday words ("polish the report"): no country's term.
_COMMON_WORDS = frozenset(("polish",))


def nation(phrase: str) -> str | None:
    """The country a name or adjective stands for ("Norwegian": "norway"), or None."""
    return _nations().get(phrase.lower().replace(".", "").strip(" ,;:’'"))


_NATION_WORDS = re.compile(
    r"\b(?:(?i:south|north|new|inner|outer|latin|central|costa|saudi|united|great|czech)"
    r"\s+[A-Z]\w+|"
    r"U\.[SK]\.|[A-Z]\w+)")
# "New England", "Inner Mongolia", "Latin America", "North American": regions, no
# country (a full name such as "South Korea" is looked up first)
_REGION = re.compile(r"^(?i:new|inner|outer|latin|central|north|south)\s")


def nations_in(text: str) -> set[str]:
    """The countries a text names, by name or adjective ("the Russian government": russia).
    "US" and "UK" count only in capitals, so "us" the pronoun is no country. A language
    is no country: an adjective glossing a word ("Dutch: Amazoneregenwoud", "the Dutch
    word for …") is left out."""
    found = set()
    for match in _NATION_WORDS.finditer(text):
        word = match.group(0)
        if word.lower() in ("us", "uk", "uae") and not word.isupper():
            continue
        if _LANGUAGE_USE.match(text, match.end()):
            continue
        # "South Korea" is a country, "Latin America" and "North American" regions; a
        # people in the plural is its country ("Russians")
        country = nation(word) or (None if _REGION.match(word) else (
            nation(word.split()[-1]) or (word.endswith("s") and nation(word[:-1]))))
        if country:
            found.add(country)
    return found


_LANGUAGE_USE = re.compile(r"\s*:|\s+(?:word|words|name|names|term|title|language|spelling|"
                           r"translation|pronunciation)\b", re.I)


# Words of the names of bodies, places and titles, which name no person.
_NOT_PERSON = frozenset("""
group groups department ministry office council committee agency bureau senate house
parliament congress union nations states kingdom republic university lab laboratory
institute center centre company corporation corp inc ltd llc act order summit convention
initiative program programme strategy policy force command service services court party
army navy team association foundation commission administration government cabinet
network security cyber cyberspace digital infrastructure intelligence defense defence
national international federal state united global world affairs home foreign homeland
justice treasury commerce principal principals ministers presidents secretaries
officials members delegation delegations head heads working new san los las st saint
fort port north south east west central general assembly declaration statement report
organisation organization coalition alliance treaty board authority directorate division
unit units threat platform technology technologies january february march april may june
july august september october november december monday tuesday wednesday thursday friday
saturday sunday the a an of and for in on at this that these those it its we our they
their he she his her after before when while prime first pacific atlantic indo asia europe africa
america americas latin arctic antarctic mediterranean
""".split())
# The last word of a body's name: the name is the body's ("the Entity List").
_BODIES = frozenset("""
group department ministry office council committee agency bureau union university
institute lab laboratory center centre company corporation corp inc ltd llc act order
summit convention initiative program programme strategy court party army navy team
association foundation commission administration network service services force command
list conference forum board authority coalition alliance treaty agreement declaration
""".split())
# Words of titles, which name no one on their own ("Secretary", "Sen.").
TITLES = frozenset("""
secretary president minister ambassador director chairman chairwoman chair senator
governor spokesperson spokesman spokeswoman deputy vice chief general admiral mr mrs ms
dr sir madam professor prof judge justice representative rep sen gov lt col sgt capt
commissioner undersecretary envoy premier chancellor mayor king queen prince princess
pope bishop lord lady emperor empress
""".split())
_RUN = re.compile(
    r"[A-Z][\w'’.-]*(?:\s+(?:(?:de|van|von|der|den|bin|al|da|di|du|la|le)\s+)?[A-Z][\w'’.-]*)*")
_ALL_CAPS = re.compile(r"^[A-Z0-9&.-]{2,}(?:['’]s)?$")  # "CSIC", "NSO's": a body
_SPEECH = re.compile(r"\W{0,3}\s*(?:said|says|told|wrote|added|argued|noted|explained|"
                     r"stated|announced|warned)\b")


def _bare(word: str) -> str:
    return re.sub(r"(?:['’]s|['’])$", "", word).strip(".,;:").lower()


def _ordinary(word: str, raw: str) -> bool:
    """A name word that may be a person's: no body's, place's, title's or country's word,
    in no part ("Senate-confirmed", "Ambassador-at-Large"), no acronym and no brand
    written in one word ("CyberScoop", not "McDonald")."""
    parts = [word] + (word.split("-") if "-" in word else [])
    return not (_ALL_CAPS.match(raw) or _BRAND.match(raw) or nation(word) or any(
        p in _NOT_PERSON or p in TITLES for p in parts))


_BRAND = re.compile(r"^[A-Z][a-z]{2,}[A-Z]")
_DETERMINED = re.compile(r"\b(?:the|a|an)\s+$", re.I)


def names_person(text: str, question: str = "") -> bool:
    """Whether `text` names someone the question does not: a capitalised word that is no
    body's, place's, title's, month's or country's ("Hamish Hansford", "Secretary
    Blinken", "according to Smith", "Louis XIV"), outside a body's name ("the Quad Senior
    Cyber Group", "the Entity List"), and not one word after "the" ("the Bible", "the
    Normans"). A sentence's first
    word counts only before "said" ("Blinken said"). Countries, ministries, groups,
    months and titles alone ("the Prime Ministers of Australia, India and Japan") name no
    one."""
    asked = {_bare(w) for w in re.findall(r"[\w'’.-]+", question) if w[:1].isupper()}
    for match in _RUN.finditer(text):
        words = match.group(0).split()
        start = match.start()
        before = text[max(0, start - 16):start]  # a window: runs are many, texts long
        if (len(words) == 1 and not _SPEECH.match(text, match.end()) and (
                start == 0 or before.rstrip().endswith(('"', "“", ".")))):
            continue  # a sentence's first word is capitalised anyway
        plain = [_bare(w) for w in words]
        if plain[-1] in _BODIES:
            continue  # one body's name
        # one word after "the" is a thing or a people ("the Bible", "the Huguenots")
        thing = len(words) == 1 and _DETERMINED.search(before) is not None
        if not thing and any(_ordinary(w, raw) and w not in asked
                              for w, raw in zip(plain, words)):
            return True
    return False

