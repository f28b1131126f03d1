"""Answerability checks and the calibrated confidence, on real text and a real BM25
index of it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from attache.index.lexical import LexicalIndex
from attache.retrieval.extractive import Idf, candidates, profile, score
from attache.retrieval.scoring import (
    FEATURES,
    RANK_FEATURES,
    Calibration,
    check,
    default_calibration,
    default_ranker,
    features,
)
from attache.retrieval.search import Passage

TEXT = (
    "Quad cyber officials met in Tokyo in December 2023. "
    "India was represented by MU Nair at the meeting. "
    "The group did not publish a budget."
)


@pytest.fixture(scope="module")
def idf() -> Idf:
    texts = [TEXT, "The Rhine flows through Basel.", "Officials met again in Sydney."]
    return Idf(LexicalIndex.build(["a", "b", "c"], texts))


def verdict(question: str, idf: Idf, title: str = "Quad cyber group meets"):
    passage = Passage(id="a", source="a.txt", title=title, text=TEXT, start=0, end=len(TEXT),
                      score=1.0, dense=0.0, lexical=0.0, metadata={})
    prof = profile(question, idf)
    ranked = score(prof, candidates([passage]))
    return prof, ranked, check(prof, ranked[0], ranked, idf)


def test_a_supported_question_passes_every_check(idf):
    _, _, found = verdict("Where did Quad cyber officials meet in December 2023?", idf)
    assert not found.hard_fail and found.missing == []


@pytest.mark.parametrize("question, why", [
    ("Where did Quad cyber officials meet in 2024?", "year"),
    ("Where did the Quad officials hold their fourth meeting?", "ordinal"),
    ("When did the officials meet in Tokyo for the budget?", None),
    # the sentence's context says "did not" too: no negation mismatch
    ("Who did not represent India at the Quad meeting?", None),
    ("How many delegates met in Tokyo?", "type"),
    # the sentence's only number is the one the question states
    ("How many Quad cyber officials met in Tokyo in 2023?", "type"),
    ("What did Google say at the Quad meeting in Tokyo?", "unknown"),
])
def test_hard_checks(idf, question, why):
    _, _, found = verdict(question, idf)
    if why is None:  # a date is offered, the negation is shared: no check refuses
        assert not found.hard_fail
        return
    assert found.hard_fail, question
    if why in ("year", "ordinal"):
        assert [c.kind for c in found.missing] == [why]
    if why == "type":
        assert found.type_missing and found.asked == "number"
    if why == "unknown":
        assert found.unknown_names == ("Google",)


LIVES = ("The mathematician Zhu Shijie (1249–1314) solved equations with four unknowns. "
         "Möngke Khan became Great Khan in 1251. The physician Wei Yilin died in 1347. "
         "Jean Ribault, born in Dieppe, sailed to Florida in 1562.")


@pytest.mark.parametrize("question, offered", [
    ("When was Zhu Shijie born?", True),  # a lifespan dates both
    ("In what year did Zhu Shijie die?", True),
    ("When did Wei Yilin die?", True),
    ("When did Möngke Khan become Great Khan?", True),
    ("When was Möngke Khan born?", False),  # a date, of something else
    ("In what year did Möngke Khan die?", False),
    ("In what year was Wei Yilin born?", False),  # a date of death is not one of birth
    ("When was Jean Ribault born?", False),  # "born", but no date of it
])
def test_a_date_of_birth_or_death_needs_a_sentence_that_gives_one(question, offered):
    lives = Idf(LexicalIndex.build(["a", "b"], [LIVES, "The Rhine flows through Basel."]))
    passage = Passage(id="a", source="a.txt", title="Lives", text=LIVES, start=0,
                      end=len(LIVES), score=1.0, dense=0.0, lexical=0.0, metadata={})
    prof = profile(question, lives)
    ranked = score(prof, candidates([passage]))
    found = check(prof, ranked[0], ranked, lives)
    assert found.asked == "date"
    assert found.type_missing is not offered and found.hard_fail is not offered, ranked[0].text


def test_negation_the_context_does_not_share_is_a_hard_check(idf):
    _, _, found = verdict("Which city was not visited by Quad officials in 2023?", idf)
    assert found.negated and found.hard_fail


def test_a_headline_alone_is_never_an_answer(idf):
    title = "Quad cyber officials met in Tokyo in December 2023."
    _, ranked, found = verdict("Where did Quad cyber officials meet in December 2023?", idf,
                               title=title)
    assert ranked[0].text == title and found.title_only and found.hard_fail


def test_features_are_the_documented_ones_and_bounded(idf):
    prof, ranked, found = verdict("Where did Quad cyber officials meet in 2024?", idf)
    values = features(prof, ranked[0], ranked, found)
    assert set(values) == set(FEATURES)
    assert values["numbers_missing"] == 1.0 and values["names_missing"] == 0.0
    assert all(math.isfinite(v) for v in values.values())


def test_confidence_is_the_logistic_of_the_standardised_features():
    model = Calibration(names=("own", "semantic"), weights=(2.0, -1.0), means=(0.5, 0.0),
                        scales=(0.25, 1.0), bias=0.5)
    z = 0.5 + 2.0 * (0.75 - 0.5) / 0.25 - 1.0 * 0.2
    assert model.confidence({"own": 0.75, "semantic": 0.2}) == pytest.approx(1 / (1 + math.exp(-z)))
    assert model.confidence({"own": 1e9}) == pytest.approx(1.0)


def test_the_shipped_model_covers_every_feature_and_ranks_evidence_sensibly():
    model = default_calibration()
    assert set(model.names) == set(FEATURES) and 0 < model.min_confidence < 1
    weights = dict(zip(model.names, model.weights))
    assert weights["own"] > 0 and weights["semantic"] > 0
    assert weights["negation"] < 0 and weights["numbers_missing"] < 0
    strong = {"own": 1.0, "coverage": 1.0, "semantic": 0.8, "dense": 0.7, "margin": 0.3}
    weak = {**strong, "own": 0.3, "coverage": 0.3, "semantic": 0.2, "negation": 1.0}
    assert model.confidence(strong) > model.min_confidence > model.confidence(weak)


def test_the_fit_script_reproduces_a_model(tmp_path):
    from attache.retrieval.calibration import fit

    rows = []
    for i in range(120):
        good = i % 2 == 0
        rows.append({"id": f"questions:{i}", "group": f"g{i % 4}", "impossible": not good,
                     "label": int(good), "hard_fail": False,
                     "features": {"own": (0.9 if good else 0.4) + (i % 7) * 0.01,
                                  "semantic": 0.6 if good else 0.3}})
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "model.json"
    assert fit.main([str(data), "--out", str(out), "--floor", "0.9"]) == 0
    model = Calibration.from_json(json.loads(out.read_text()))
    assert model.confidence({"own": 0.95, "semantic": 0.6}) > 0.8
    assert model.confidence({"own": 0.4, "semantic": 0.3}) < 0.2


def test_the_shipped_ranker_covers_its_features_and_prefers_the_answer_s_marks():
    ranker = default_ranker()
    assert list(ranker.names) == list(FEATURES) + list(RANK_FEATURES)
    weights = dict(zip(ranker.names, ranker.weights))
    assert weights["semantic"] > 0 and weights["hard"] < 0 and weights["type_match"] > 0
    holds = {"own": 0.8, "coverage": 0.8, "semantic": 0.7, "type_match": 1.0, "bigrams": 0.5,
             "matched": 0.8}
    assert ranker.confidence(holds) > ranker.confidence({**holds, "hard": 1.0})
    assert ranker.confidence(holds) > ranker.confidence({**holds, "semantic": 0.1})


def test_the_ranker_fit_reproduces_the_shipped_ranker_from_its_data(tmp_path):
    from attache.retrieval.calibration import fit

    here = Path(fit.__file__).parent
    out = tmp_path / "ranker.json"
    assert fit.main(["--ranker", str(here / "data" / "ranking.jsonl.gz"), "--out", str(out)]) == 0
    fitted, shipped = json.loads(out.read_text()), json.loads((here / "ranker.json").read_text())
    assert fitted["features"] == shipped["features"]
    assert fitted["weights"] == pytest.approx(shipped["weights"], abs=1e-4)


PARLIAMENT = (
    "Parliament typically sits Tuesdays, Wednesdays and Thursdays from early January. "
    "The party with the highest quotient is awarded the seat. "
    "In the course of the war, the Norman aristocracy often identified themselves as English. "
    "Turing machines are not intended as a practical computing technology. "
    "From the late 1340s onwards, people suffered from frequent natural disasters. "
    "Möngke Khan commenced a military campaign in 1253. "
    "Before World War I, Tesla sought overseas investors. "
    "Trade economist Paul Krugman estimates that trade liberalisation has had an effect."
)


def check_against(question: str, text: str = PARLIAMENT,
                  other: str = "The Rhine flows through Basel."):
    """The check of `question` against the best sentence of `text`, one passage (`other`
    is indexed too, not searched)."""
    index = LexicalIndex.build(["p", "q"], [text, other])
    passage = Passage(id="p", source="p.txt", title="Notes", text=text, start=0,
                      end=len(text), score=1.0, dense=0.0, lexical=0.0, metadata={})
    prof = profile(question, Idf(index))
    ranked = score(prof, candidates([passage]))
    return ranked[0], check(prof, ranked[0], ranked, Idf(index))


@pytest.mark.parametrize("question, reworded, flag", [
    # a sibling or an opposite in the place of the sentence's word
    ("What typically sits Tuesdays, Wednesdays and Fridays?",
     "What typically sits Tuesdays, Wednesdays and Thursdays?", "swapped"),
    ("The party with the lowest quotient is awarded what?",
     "The party with the highest quotient is awarded what?", "swapped"),
    ("When did people suffer frequent unnatural disasters?",
     "When did people suffer frequent natural disasters?", "swapped"),
    # the sentence says "not" inside what the question asserts
    ("What are intended as a practical computing technology?",
     "What are not intended as a practical computing technology?", "denied"),
    # another name where the question's stood
    ("Who often identified themselves as French?",
     "Who often identified themselves as English?", "replaced"),
])
def test_a_swapped_word_is_a_hard_check_and_the_faithful_question_passes(
        question, reworded, flag):
    best, found = check_against(question)
    assert getattr(found, flag) and found.hard_fail, question
    best_again, faithful = check_against(reworded)
    assert best_again.text == best.text
    assert not faithful.hard_fail, reworded


@pytest.mark.parametrize("question", [
    "When did Mongke Khan commence a military campaign?",  # accents
    "What does Paul Krugmen estimate about trade liberalisation?",  # a misspelt letter
    "Where did Tesla look for investors before WWI?",  # an acronym spelled out
    "What did people suffer from in the 1340s?",  # a decade
])
def test_names_and_numbers_match_their_other_forms(question):
    _, found = check_against(question)
    assert found.missing == [] and not found.hard_fail, question


def test_a_replaced_name_is_named_in_the_refusal():
    from attache.retrieval.answer import select

    index = LexicalIndex.build(["p", "q"], [PARLIAMENT, "The French fleet sailed to Basel."])
    passage = Passage(id="p", source="p.txt", title="Notes", text=PARLIAMENT, start=0,
                      end=len(PARLIAMENT), score=1.0, dense=0.0, lexical=0.0, metadata={})
    chosen = select("Who often identified themselves as French?", [passage], Idf(index))
    assert not chosen.answered
    assert chosen.missing == "The closest passage names English, not French."


def test_the_documents_date_supports_the_month_and_year_a_question_states():
    text = "The company is known for running an exploit acquisition program named Pwn0rama."
    index = LexicalIndex.build(["p", "q"], [text, "The Rhine flows through Basel."])

    def found(date: str | None):
        passage = Passage(id="p", source="p.txt", title="Commerce blacklists four firms",
                          text=text, start=0, end=len(text), score=1.0, dense=0.0,
                          lexical=0.0, metadata={"date": date} if date else {})
        prof = profile("What program is the firm blacklisted in November 2021 known for running?",
                       Idf(index))
        ranked = score(prof, candidates([passage]))
        return check(prof, ranked[0], ranked, Idf(index))

    assert [c.text for c in found(None).missing] == ["November", "2021"]
    assert found("2021-11-03").missing == [] and not found("2021-11-03").hard_fail
    assert [c.text for c in found("2023-02-01").missing] == ["November", "2021"]


@pytest.mark.parametrize("question, text, offers", [
    # a sum of money wants a currency or "million", not any number
    ("How large a fine did Commerce impose on the four companies?",
     "The four companies were added to the Entity List.", False),
    ("How large a fine did Commerce impose on the firm?",
     "Commerce fined the firm $2.5 million.", True),
    # a share is not a sum, though the question names fees
    ("What percentage of children attend fee-paying schools?",
     "About 9 per cent of children attend fee-paying schools.", True),
    # the counted thing, spelt either way
    ("How many square kilometers does the basin cover?",
     "The basin covers 7,000,000 square kilometres.", True),
    ("How many officers did the US indict?", "Banks in 16 Ukrainian cities crashed.", False),
    # "hand over" a sum of money, not any quantity
    ("How much did the pipeline company hand over to the gang?",
     "The pipeline company, which moves 100 barrels a day, was attacked by the gang.", False),
    ("How much did the pipeline company hand over to the gang?",
     "The pipeline company paid the gang 75 bitcoins, or $4.4 million.", True),
    # "million" counting gallons is no sum of money; "million" alone is
    ("How much did the pipeline company hand over to the gang?",
     "The pipeline company, which moves 100 million gallons a day, was attacked by the "
     "gang.", False),
    ("How much did the pipeline company hand over to the gang?",
     "The pipeline company handed 4.4 million to the gang.", True),
])
def test_the_kind_of_figure_asked_for(question, text, offers):
    _, found = check_against(question, text)
    assert found.asked == "number" and found.type_missing is (not offers), question


LAW = ("The 2015 Cybersecurity Information Sharing Act lets companies share threat data. "
       "It expires in September. Congress rarely works in August. Lobbyists met on Monday. "
       "Sen. Rand Paul, an opponent of the law then, now chairs the Homeland Security "
       "Committee.")


@pytest.mark.parametrize("question, year_missing", [
    # a year naming the law: the document names it so, beyond the sentence's neighbours
    ("Which senator, an opponent of the 2015 information-sharing law, now chairs the "
     "Homeland Security Committee?", False),
    ("Which senator, an opponent of the 2014 information-sharing law, now chairs the "
     "Homeland Security Committee?", True),
    # a year saying when: the sentence or its neighbours must say it
    ("Which senator opposed the law in 2015 and now chairs the Homeland Security "
     "Committee?", True),
])
def test_a_year_naming_the_subject_is_supported_by_its_document(question, year_missing):
    best, found = check_against(question, LAW)
    assert best.text.startswith("Sen. Rand Paul")
    assert any(c.kind == "year" for c in found.missing) is year_missing
    assert found.hard_fail is year_missing


def test_a_purpose_clause_is_not_a_negation():
    _, found = check_against("What does the law let companies share so attackers can't "
                             "hide?", LAW)
    assert not found.negated
    _, found = check_against("Which companies can't share threat data under the law?", LAW)
    assert found.negated


@pytest.mark.parametrize("question, text, offers", [
    # countries, titles and a parliament name no one
    ("Which Norwegian foreign minister said Russian hackers breached the parliament?",
     "In August 2020, Norway disclosed a breach of Norwegian Parliament accounts by Russian "
     "hackers.", False),
    ("Which Norwegian foreign minister said Russian hackers breached the parliament?",
     "The Norwegian Minister of Foreign Affairs Ine Eriksen Søreide said Russian hackers "
     "breached the parliament.", True),
    ("Which Australian official hosted the meeting in Sydney?",
     "The Prime Ministers of Australia, India and Japan met in Sydney.", False),
    ("Which senator opposed the law?", "Its chief opponent, Sen. Rand Paul, opposed the law.",
     True),
    ("Which scholar doubted the strategy?", "The strategy may fail, Lin said.", True),
    # a post to be filled has no holder yet: the post itself answers
    ("What new envoy did Blinken promise to appoint?",
     "Blinken will appoint a special envoy for critical and emerging technology.", True),
    # a post already filled has a holder to name
    ("Which president appointed the new envoy?",
     "The president appointed a new envoy in March.", False),
])
def test_a_person_asked_for_by_role_needs_a_name(question, text, offers):
    _, found = check_against(question, text)
    assert found.asked == "person"
    assert found.type_missing is (not offers) and found.hard_fail is (not offers), question


@pytest.mark.parametrize("question, swapped", [
    ("Which Chinese group did the EU blame for Ghostwriter?", True),
    ("Which Russian body did the EU blame for Ghostwriter?", False),
    # a language named by a country's adjective is no country
    ("What language did the EU statement use besides Chinese?", False),
])
def test_another_country_in_the_sentence_is_a_swap(question, swapped):
    text = ("In a statement, the EU said the Russian government is behind Ghostwriter. "
            "The Rhine flows through Basel.")
    _, found = check_against(question, text, other="Chinese hackers were blamed elsewhere.")
    assert found.swapped is swapped and found.hard_fail is swapped, question


@pytest.mark.parametrize("text, reference", [
    ("In this regard, see Towards a Protocol to the Budapest Convention, COUNCIL OF EUROPE "
     "(Sept. 5, 2019), https://rm.coe.int/summary.", True),
    ("Keynote Address at U.S. Cyber Command Legal Conference (Mar. 2, 2020), "
     "www.defense.gov/speech.", True),
    ("See the statement at https://example.org/statement for the full text.", True),
    # an address inside a quoted post is no reference
    ("The EU said the campaign threatens our democracies https://t.co/XokFJs6NkM", False),
    ("Israel signed the Budapest Convention in 2019 (in Strasbourg).", False),
])
def test_a_footnote_s_reference_is_never_an_answer(text, reference):
    _, found = check_against("In what year did Israel sign the Budapest Convention?", text)
    assert found.title_only is reference and (found.hard_fail or not reference)


@pytest.mark.parametrize("question, text, unnamed", [
    ("Which federal agency stopped sharing threat indicators?",
     "The report blamed the dropoff on an unnamed federal agency that stopped sharing "
     "threat indicators.", True),
    ("Which official leaked the threat indicators?",
     "An unidentified official leaked the threat indicators to reporters.", True),
    ("Which federal agency stopped sharing threat indicators?",
     "The Energy Department stopped sharing threat indicators, an unnamed source said.",
     False),
    # the official is anonymous, not the agency; "Anonymous" is a group's name
    ("Which federal agency stopped sharing threat indicators?",
     "The Energy Department, a federal agency, stopped sharing them, an anonymous federal "
     "agency official said.", False),
    ("Which hacker group declared cyber war on Russia?",
     "The Anonymous hacker group declared cyber war on Russia.", False),
])
def test_a_sentence_withholding_the_name_asked_for_does_not_answer(question, text, unnamed):
    _, found = check_against(question, text)
    assert found.unnamed is unnamed and found.hard_fail is unnamed
