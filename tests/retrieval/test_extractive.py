"""Sentence scoring: each weight does what its name says, on real text and a real BM25
index of it (no embedding: these tests hold the meaning term at zero)."""

from __future__ import annotations

import pytest

from attache.index.lexical import LexicalIndex
from attache.retrieval import extractive as ex
from attache.retrieval.extractive import Idf, candidates, profile, question_kind, score
from attache.retrieval.search import Passage

TEXTS = {
    "rhine": "The Rhine flows through Basel. The river was bridged in 1225 by the bishop.",
    "alps": "The Alps rise south of Basel. Many glaciers feed the river.",
    "weather": "It rained in Basel on Tuesday. The market stayed open.",
}


@pytest.fixture(scope="module")
def idf() -> Idf:
    return Idf(LexicalIndex.build(list(TEXTS), list(TEXTS.values())))


def passage(key: str, text: str | None = None, title: str = "", rank_score: float = 1.0) -> Passage:
    text = TEXTS[key] if text is None else text
    return Passage(id=key, source=f"{key}.txt", title=title, text=text, start=0,
                   end=len(text), score=rank_score, dense=0.0, lexical=0.0, metadata={})


def ranked(question: str, passages: list[Passage], idf: Idf) -> list[ex.Candidate]:
    return score(profile(question, idf), candidates(passages))


@pytest.mark.parametrize("question, kind", [
    ("When was the Rhine bridged?", "when"),
    ("In what year was the bridge built?", "when"),
    ("How many glaciers feed the river?", "number"),
    ("What was the bureau's budget?", "number"),
    ("Who bridged the Rhine?", "who"),
    ("Where does the Rhine flow?", "where"),
    ("What does CSET stand for?", "acronym"),
    ("How did China react to the bureau?", "reaction"),
    ("Why is the river wide?", "other"),
])
def test_question_kinds(question, kind):
    assert question_kind(question) == kind


def test_a_sentence_holding_the_question_terms_wins(idf):
    best = ranked("Which bishop bridged the river?", [passage("rhine"), passage("alps")], idf)[0]
    assert best.text == "The river was bridged in 1225 by the bishop."
    assert best.own == pytest.approx(1.0)


def test_rare_terms_weigh_more_than_common_ones(idf):
    # "Basel" is in every text, "glaciers" in one: the sentence with the rare word wins
    items = ranked("Basel glaciers", [passage("weather"), passage("alps")], idf)
    assert items[0].text == "Many glaciers feed the river."
    prof = profile("Basel glaciers", idf)
    assert prof.weights[ex.content_terms("glaciers")[0]] > prof.weights[ex.content_terms("Basel")[0]]


def test_terms_found_only_in_the_passage_count_for_less(idf):
    items = {c.text: c for c in ranked("bishop Basel", [passage("rhine")], idf)}
    holder = items["The river was bridged in 1225 by the bishop."]
    other = items["The Rhine flows through Basel."]
    assert holder.own < 1.0 and holder.coverage > holder.own
    prof = profile("bishop Basel", idf)
    basel = prof.weights[ex.content_terms("Basel")[0]] / prof.total
    assert holder.coverage - holder.own == pytest.approx(ex.PASSAGE_TERM_WEIGHT * basel)
    assert other.coverage > other.own


def test_the_kind_of_answer_asked_for_adds_its_weight(idf):
    dated = passage("a", "The bishop bridged the river in 1225 at Basel.")
    undated = passage("b", "The bishop bridged the river with stone at Basel.")
    items = {c.passage.id: c for c in ranked("When did the bishop bridge the river?", [dated, undated], idf)}
    assert items["a"].type_match == 1.0 and items["b"].type_match == 0.0
    # same coverage and rank bonus apart: the difference is the type weight and the rank
    gap = items["a"].score - items["b"].score
    assert gap == pytest.approx(ex.TYPE_WEIGHT + ex.RANK_WEIGHT * (1 - 1 / 2), abs=0.02)


def test_headline_and_fragments_are_scored_down(idf):
    title = "The bishop bridged the Rhine at Basel"
    body = passage("h", f"{title}. Later the bishop bridged the Rhine at Basel again.", title=title)
    items = {c.text: c for c in ranked("bishop bridged Rhine Basel", [body], idf)}
    head = items[f"{title}."]
    again = items["Later the bishop bridged the Rhine at Basel again."]
    assert head.score < again.score
    short = ranked("bishop Basel", [passage("s", "Bishop of Basel.")], idf)[0]
    full = ranked("bishop Basel", [passage("s", "The bishop lived in Basel for years.")], idf)[0]
    assert short.score == pytest.approx(ex.SHORT_FACTOR * full.score)


def test_unknown_terms_are_measured(idf):
    prof = profile("Who bridged the Danube?", idf)
    assert 0.0 < prof.unknown < 1.0
    assert profile("Who bridged the Rhine?", idf).unknown == 0.0


def test_an_acronym_the_passages_define_stands_for_its_long_form(idf):
    lead = passage("lead", "The State Department opened its Bureau of Cyberspace and Digital Policy "
                           "(CDP) on Monday.")
    body = passage("body", "The CDP will be led by Jennifer Bachus until an ambassador is "
                           "confirmed. The weather was mild.")
    question = "Who leads the Bureau of Cyberspace and Digital Policy?"
    items = {c.text: c for c in ranked(question, [lead, body], idf)}
    leader = items["The CDP will be led by Jennifer Bachus until an ambassador is confirmed."]
    assert {"cyberspac", "digit", "polici"} <= leader.terms
    # the other way round: a question with the acronym, a sentence spelling it out
    items = {c.text: c for c in ranked("When did the CDP open?", [lead, body], idf)}
    assert "cdp" in items[lead.text].terms
    # without the definition, the acronym holds nothing more
    alone = {c.text: c for c in ranked(question, [body], idf)}
    assert "cyberspac" not in alone[leader.text].terms
    assert ex._defined("Cyberspace Security and Emerging Technologies (CSET) and the "
                       "European Union (EU) but not this (PDF)") == (
        ("CSET", "Cyberspace Security and Emerging Technologies"), ("EU", "European Union"))


@pytest.mark.parametrize("sentence, offered", [
    ("The move by Secretary Pompeo was welcomed.", False),  # a title is no one new
    ("Secretary Blinken welcomed the move by Pompeo.", True),
    ("The move by Pompeo was welcomed by Jennifer Bachus.", True),
])
def test_who_is_offered_by_a_name_the_question_lacks_not_by_a_title(sentence, offered):
    assert (ex._type_match("who", sentence, "Who welcomed the move by Pompeo?") == 1.0) is offered


def test_a_noun_in_ation_meets_its_verb():
    # "Who created CSET?" holds "creation of CSET"; the stemmer alone keeps them apart
    assert ex.content_terms("created") == ex.content_terms("creation") == ["creat"]
    assert ex.content_terms("nation station") == ["nation", "station"]


def test_a_people_s_adjective_meets_its_country():
    # "Australia's new power" and "the Australian Parliament" share a term
    assert ex.content_terms("Australian") == ex.content_terms("Australia")
    assert ex.content_terms("Norwegian officials")[0] == ex.content_terms("Norway")[0]
    # no one-word country stands for "British" or "English" (a language too)
    assert ex.content_terms("English British") == ["english", "british"]


def test_a_people_s_adjective_is_known_to_the_index_by_its_country():
    idf = Idf(LexicalIndex.build(["a", "b"], ["Chinese hackers struck.", "Basel is wet."]))
    (term,) = ex.content_terms("Chinese")
    assert idf.known(term) and idf.df(term) == 1
    assert idf(term) == idf(ex.content_terms("hackers")[0])
