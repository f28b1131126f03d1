"""Question analysis: the constraints a question states, what it asks for, comparisons."""

from __future__ import annotations

import pytest

from attache.retrieval.extractive import question_kind
from attache.retrieval.question import asked_noun, asks_for, comparison, constraints


def stated(question: str) -> set[tuple[str, str]]:
    return {(c.kind, c.text) for c in constraints(question)}


def test_names_numbers_years_and_ordinals_are_constraints():
    found = stated("Which country hosted the Quad Senior Cyber Group's meeting in 2024?")
    assert {("name", "Quad"), ("name", "Group"), ("year", "2024")} <= found
    assert ("ordinal", "fourth") in stated("What is the fourth priority of the plan?")
    assert ("year", "1000's") in stated("Who gave their name to Normandy in the 1000's?")
    assert ("number", "13694") in stated("What does Executive Order 13694 do?")
    # the question word and plain words are not constraints
    assert stated("Who approved the creation of the bureau?") == set()


@pytest.mark.parametrize("text, supported", [
    ("The meeting was held in 2023 in Tokyo.", False),
    ("In 2024 the group met in Tokyo.", True),
])
def test_a_year_is_supported_only_by_that_year(text, supported):
    year = next(c for c in constraints("Where did the group meet in 2024?") if c.kind == "year")
    assert year.supported_by(text) is supported


@pytest.mark.parametrize("text, supported", [
    ("Source: Bleeping Computer", True),
    ("BleepingComputer reported it.", True),
    ("A bleeping noise came from the computer.", False),
])
def test_a_name_written_as_one_word_is_supported_by_its_two_words(text, supported):
    name = constraints("What did BleepingComputer report?")[0]
    assert name.supported_by(text) is supported


def test_ordinals_match_their_numeric_forms():
    fourth = constraints("What was the fourth summit about?")[0]
    assert fourth.supported_by("the 4th summit") and fourth.supported_by("its fourth summit")
    assert not fourth.supported_by("the fifth summit")


def test_a_compound_that_ranks_nothing_does_not_support_an_ordinal():
    [third] = [c for c in constraints("What is the third priority of CSET?")
               if c.kind == "ordinal"]
    assert not third.supported_by("It bans third-party spyware and second-hand tools.")
    assert third.supported_by("Its third priority is resilience.")
    second = constraints("What is the second largest city?")[0]
    assert second.supported_by("Antwerp is the second-largest city.")


@pytest.mark.parametrize("question, asked", [
    ("On what date did Blinken announce the office?", "date"),
    ("In what year was the bureau created?", "date"),
    ("When did Pompeo take office?", "date"),
    ("By what vote did the Senate pass the law?", "number"),
    ("What share of the budget goes to cyber?", "number"),
    ("How much did the hack cost?", "number"),
    ("What was the vote count in the Senate?", "number"),
    ("Who approved CSET?", "who"),
    ("Where did the Quad meet?", "where"),
    ("Why does it matter?", "other"),
    ("On which days did the officials meet in Tokyo?", "date"),
    ("Which two senators introduced the bill?", "person"),  # a person, named by role
    ("Which Norwegian foreign minister said hackers were behind it?", "person"),
    ("Which law did the senators introduce?", "other"),
    ("What is the name of the Colonial Pipeline CEO who paid the ransom?", "person"),
    ("What is the name of the pipeline that was hacked?", "other"),
    # the subject of "did" is not what is asked for
    ("What did the king do about education?", "other"),
])
def test_what_a_question_asks_for(question, asked):
    assert asks_for(question, question_kind(question)) == asked


@pytest.mark.parametrize("question, labels", [
    ("How do the Pompeo and Blinken plans differ?", ("Pompeo", "Blinken")),
    ("What did Pompeo and Blinken each announce?", ("Pompeo", "Blinken")),
    ("How did the list change between March 2023 and March 2024?", ("March 2023", "March 2024")),
    ("What is the difference between Pompeo's bureau and Blinken's office?",
     ("Pompeo's bureau", "Blinken's office")),
    # the noun after the second side, and the owner before the first, belong to both
    ("How did CyberScoop's February 2025 and June 2025 reports differ?",
     ("CyberScoop's February 2025", "CyberScoop's June 2025")),
    ("How did the March 2023 and March 2024 statements differ?", ("March 2023", "March 2024")),
    ("How do Biden's 2022 notice on the emergency and Trump's fact sheet differ?",
     ("Biden's 2022 notice on the emergency", "Trump's fact sheet")),
    # the second side has a determiner of its own: no owner is shared
    ("How did the setting differ between Biden's fact sheet and the March 2024 update?",
     ("Biden's fact sheet", "the March 2024 update")),
    ("How do BleepingComputer's and The Record's reports on Ghostwriter differ?",
     ("BleepingComputer's", "The Record's")),
    ("What technologies did the Group's New Delhi statement and its Tokyo statement each "
     "single out?", ("the Group's New Delhi statement", "the Group's Tokyo statement")),
    # two dates, the preposition said again
    ("What did the White House announce in June 2025 and in March 2026?",
     ("June 2025", "March 2026")),
])
def test_comparisons_are_split_into_their_sides(question, labels):
    found = comparison(question)
    assert found is not None and found.labels == labels
    assert all(label in side for label, side in zip(found.labels, found.sides))


def test_the_shared_noun_and_owner_go_to_both_sides():
    assert comparison("How do the Pompeo and Blinken plans differ?").sides == (
        "Pompeo plans", "Blinken plans")
    assert comparison("How did CyberScoop's February 2025 and June 2025 reports differ?").sides \
        == ("CyberScoop's February 2025 reports", "CyberScoop's June 2025 reports")
    assert comparison("How do BleepingComputer's and The Record's reports on Ghostwriter "
                      "differ?").sides == ("BleepingComputer's reports on Ghostwriter",
                                           "The Record's reports on Ghostwriter")
    # the noun before "did" belongs to what each side is asked
    found = comparison("What technologies did Pompeo and Blinken each single out?")
    assert found.sides == ("Pompeo", "Blinken") and found.topic == "technologies single out"


@pytest.mark.parametrize("question, asked", [
    ("Who did Pompeo and Blinken each appoint to lead the bureau?",
     ("Who did Pompeo appoint to lead the bureau?", "Who did Blinken appoint to lead the bureau?")),
    ("In what year did Pompeo and Blinken each take office?",
     ("In what year did Pompeo take office?", "In what year did Blinken take office?")),
    ("How much money did the EU and the US each pledge?",
     ("How much money did the EU pledge?", "How much money did the US pledge?")),
    # the article shared by both sides goes
    ("When did the Pompeo and Blinken offices each open?",
     ("When did Pompeo offices open?", "When did Blinken offices open?")),
])
def test_a_typed_two_sided_question_asks_each_side_the_question_itself(question, asked):
    # so that what the question asks for (a person, a year, a sum) is checked on each side
    found = comparison(question)
    assert tuple(found.question_for(side) for side in found.sides) == asked


@pytest.mark.parametrize("question", [
    "Who approved the creation of CSET?",
    # "each year" says how often, not that each side is asked
    "How much Saharan dust is blown and falls upon the Caribbean Sea each year?",
    "How much rain did Paris and London each year receive?",
    "What did Ned Price say about the new era?",
    "Which organizations and agencies were affected?",
    "What languages are spoken in Normandy and in the Channel Islands?",
    "What happened between 2019 and 2021?",
])
def test_other_questions_are_not_comparisons(question):
    assert comparison(question) is None


@pytest.mark.parametrize("question, noun", [
    ("What sanctions did the EU impose on Russian individuals?", "sanctions"),
    ("Which US law served as the model for Australia's new power?", "law"),
    ("What are the six pillars of the Cyber Strategy for America called?", "pillars"),
    ("In which city is the bureau?", "city"),
    # no kind of thing named: a vague noun, or none at all
    ("In what year did the bureau open?", ""),
    ("What is the name of the envoy?", ""),
    ("What did Microsoft warn about?", ""),
    ("Who created the cyber bureau?", ""),
])
def test_the_noun_naming_what_a_question_asks_for(question, noun):
    assert asked_noun(question) == noun
