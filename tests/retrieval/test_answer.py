"""Choosing the answer sentence and wording a refusal (`retrieval/answer.py`), on real
text and a real BM25 index of it."""

from __future__ import annotations

import pytest

from attache.index.lexical import LexicalIndex
from attache.retrieval.answer import select
from attache.retrieval.extractive import Idf, candidates, profile, score
from attache.retrieval.question import constraints, name_phrases
from attache.retrieval.search import Passage

STRATEGY = (
    "The White House today released President Trump's Cyber Strategy for America, "
    "outlining the priorities for ensuring that America remains unrivaled in cyberspace. "
    "This strategy builds on President Trump's actions to date against cyber threats. "
    "It sets out the strategy's priorities for America in six policy pillars."
)
ENGINES = (
    "The Rumford steam engine was patented the same year as the Watt steam engine. "
    "The Corliss steam engine was patented in the year 1849."
)
OTHERS = ("The Rhine flows through Basel.", "Officials met again in Sydney in 2025.")


def passage(text: str, source: str = "a.txt", title: str = "") -> Passage:
    return Passage(id=source, source=source, title=title, text=text, start=0, end=len(text),
                   score=1.0, dense=0.0, lexical=0.0, metadata={})


def chosen(question: str, text: str):
    idf = Idf(LexicalIndex.build(["a", "b", "c"], [text, *OTHERS]))
    return select(question, [passage(text)], idf)


def test_a_sentence_holding_the_number_asked_for_answers_instead_of_the_headline():
    selection = chosen("How many pillars does President Trump's Cyber Strategy for America have?",
                       STRATEGY)
    assert "six policy pillars" in selection.best.text
    assert not selection.check.hard_fail


def test_a_number_about_another_subject_does_not_answer():
    # the sentence with the year names Corliss's engine, not the Rumford one
    # the sentence with the year scores nearly as well, but names Corliss's engine
    selection = chosen("In what year was the Rumford steam engine patented?", ENGINES)
    assert "Rumford" in selection.best.text and selection.check.hard_fail
    assert not selection.answered
    # going on about the Rumford engine, it answers
    selection = chosen("In what year was the Rumford steam engine patented?",
                       ENGINES.replace("The Corliss steam engine was", "It was a steam engine"))
    assert "1849" in selection.best.text and not selection.check.hard_fail


def test_a_capital_stands_for_its_state():
    washington = next(c for c in constraints("How long did it take Washington to blame Moscow?")
                      if c.text == "Washington")
    assert washington.supported_by("Within 48 hours the United States pointed the finger.")
    assert washington.supported_by("U.S. officials blamed Russia.")
    assert not washington.supported_by("Within 48 hours the city council pointed the finger.")
    assert not washington.supported_by("They told us nothing.")  # "us" is not the U.S.


def test_a_sentence_without_the_date_asked_for_does_not_join_one_that_gives_it():
    selection = chosen(
        "When did the Cabinet Office ban TikTok on government phones?",
        "On 16 March 2023, the Cabinet Office banned TikTok on government phones. "
        "The Cabinet Office called the TikTok ban on government phones a precaution.")
    assert selection.answered
    assert [s.text for s in selection.sentences] == [
        "On 16 March 2023, the Cabinet Office banned TikTok on government phones."]
    # ... unless it names what the dated sentence leaves unnamed
    selection = chosen(
        "In which year did the Word and Image Department of the museum begin digitizing "
        "its collection?",
        "The Word and Image Department of the museum was under pressure to digitize. "
        "A large digitizing project of its collection began in 2007 in that department.")
    assert "2007" in selection.best.text and len(selection.sentences) == 2


def test_a_who_answered_by_he_brings_the_sentence_naming_him():
    text = ("The bureau opened in April under Nathaniel Fick, a former Marine. "
            "He warned the ministers in Sydney that ransomware crews were growing bolder.")
    selection = chosen("Who warned the ministers in Sydney about ransomware crews?", text)
    assert "He warned" in selection.best.text
    assert [s.text for s in selection.sentences] == [
        "The bureau opened in April under Nathaniel Fick, a former Marine.",
        selection.best.text]
    # a surname alone names him
    selection = chosen("Who warned the ministers in Sydney about ransomware crews?",
                       text.replace("under Nathaniel Fick, a former Marine", "under Fick"))
    assert selection.sentences[0].text == "The bureau opened in April under Fick."
    # a sentence naming no one is no antecedent
    selection = chosen("Who warned the ministers in Sydney about ransomware crews?",
                       text.replace("under Nathaniel Fick, a former Marine", "in a new office"))
    assert selection.sentences[0] is selection.best


def test_a_capital_named_as_a_place_is_not_its_state():
    tokyo = next(c for c in constraints("Who spoke for India at the meeting in Tokyo?")
                 if c.text == "Tokyo")
    assert tokyo.supported_by("The principals met in Tokyo.")
    assert not tokyo.supported_by("The principals of Japan and India met in New Delhi.")


def test_a_sentence_about_another_city_s_meeting_does_not_join_the_answer():
    tokyo = ("The principals of Australia, India, Japan and the United States met in Tokyo "
             "for the third Quad Senior Cyber Group meeting; Lt General MU Nair spoke for "
             "India.")
    delhi = ("The principals of Australia, India, Japan and the United States of the Quad "
             "Senior Cyber Group met in New Delhi, India on January 30-31, 2023.")
    idf = Idf(LexicalIndex.build(["a", "b", "c", "d"], [tokyo, delhi, *OTHERS]))
    selection = select("Who spoke for India at the Quad Senior Cyber Group's meeting in Tokyo?",
                       [passage(tokyo, "tokyo.txt"), passage(delhi, "delhi.txt")], idf)
    assert selection.answered
    assert [s.passage.source for s in selection.sentences] == ["tokyo.txt"]


def test_a_possessive_ends_a_name():
    assert name_phrases("How did China respond to the Quad Group's December 2023 statement?") \
        == ["China", "Quad Group", "December"]


def test_punctuation_ends_a_name():
    assert name_phrases("Who founded the first church in Charleston, South Carolina?") \
        == ["Charleston", "South Carolina"]


@pytest.mark.parametrize("question, text, line", [
    # the subject in the question's words
    ("How many governments had signed the joint statement on commercial spyware by 2025?",
     "Eleven governments signed the joint statement on commercial spyware in March 2023. "
     "Six more joined the joint statement on commercial spyware a year later.",
     "No passage about the joint statement on commercial spyware mentions 2025."),
    # the names listed (not a month, not "Russian" qualifying "officers"), and what was
    # counted
    ("How many Russian officers did the US indict for the February DDoS attacks on "
     "Ukrainian banks?",
     "The US blamed Russian military intelligence for the February DDoS attacks on "
     "Ukrainian banks, within 48 hours.",
     "The documents mention the US and DDoS, but not how many Russian officers."),
    # a name keeps the article the question gives it, unless the article is the next
    # noun's ("the Quad Group's meeting", but "the CSET bureau")
    ("Which country hosted the Quad Group's principals meeting in 2025?",
     "The Quad Group's principals met in Tokyo in December 2023.",
     "No passage about the Quad Group mentions 2025."),
    ("What was the CSET bureau's budget?",
     "The CSET bureau was created by Secretary Pompeo in 2021.",
     "The documents mention CSET, but not its budget."),
    ("In what year was the Bureau of Cyberspace Security proposed?",
     "The Bureau of Cyberspace Security has a staff of eighty.",
     "The documents mention the Bureau of Cyberspace Security, but not when."),
    # a missing word of a name is named with the whole name
    ("What did the cyber bureau say about the Entity List?",
     "The cyber bureau spoke about the List of banned firms.",
     "None of the documents mentions the Entity List."),
    # an ordinal with what it counts
    ("Who was the fourth director of the cyber bureau?",
     "The cyber bureau was created in 2021. Its first director was Nate Fick.",
     "No passage about the cyber bureau mentions a fourth director."),
    ("When did the eighth cyber envoy start?",
     "The cyber envoy started in 2022. The first cyber envoy was Nate Fick.",
     "No passage about the cyber envoy mentions an eighth cyber envoy."),
    # a date, but not of the birth asked about
    ("When was Antony Blinken born?",
     "Antony Blinken became Secretary of State in January 2021.",
     "The documents mention Antony Blinken, but not a date of birth."),
    # the subject stops before the verb
    ("When was the cyber bureau launched?",
     "The cyber bureau has about two hundred staff.",
     "The documents mention the cyber bureau, but not when."),
    ("Who was the Cyber Bureau led by after its fourth year?",
     "The Cyber Bureau was led by Nate Fick in its first year.",
     "No passage about the Cyber Bureau mentions a fourth year."),
    # a first that qualifies a verb is quoted; one opening a name keeps the name
    ("Who first led the cyber bureau?",
     "Nate Fick led the cyber bureau in 2022.",
     'No passage about the cyber bureau mentions "first".'),
    ("What did the cyber bureau do in the Second Cyber Summit?",
     "The cyber bureau hosted a Cyber Summit in 2022.",
     "No passage about the cyber bureau mentions the Second Cyber Summit."),
    # what is counted ends at the verb; an ordinal counts up to it
    ("How much money did Congress give the cyber bureau?",
     "Congress created the cyber bureau in 2022.",
     "The documents mention Congress, but not how much money."),
    ("When will the cyber bureau open its first overseas post?",
     "The cyber bureau will open a post in Canberra.",
     "No passage about the cyber bureau mentions a first overseas post."),
    ("Who was the first person Australia sanctioned under the cyber law?",
     "Australia passed the cyber law in 2021.",
     "No passage about Australia mentions a first person."),
    # the sentence withholds the name asked for
    ("Which federal agency stopped sharing threat indicators with the cyber bureau?",
     "An unnamed federal agency stopped sharing threat indicators with the cyber bureau.",
     "The closest passage does not name the agency."),
    # "how much does it cost" asks how much, not how much "does"
    ("How much does it cost to visit the cyber bureau?",
     "Visitors to the cyber bureau sign in at the front desk.",
     "The documents mention the cyber bureau, but not how much."),
])
def test_a_refusal_says_what_is_missing_in_the_question_s_words(question, text, line):
    selection = chosen(question, text)
    assert not selection.answered and selection.missing == line


def test_a_refusal_names_the_missing_kind_of_answer_before_a_missing_name():
    # the fine asked for is missing, which refuses; the Entity List, in another document,
    # is missing too, which only lowers the confidence
    text = "The Commerce Department added NSO Group to a list of companies in November 2021."
    other = "The Entity List names firms that need a license."
    idf = Idf(LexicalIndex.build(["a", "b", "c", "d"], [text, other, *OTHERS]))
    selection = select("How large a fine did the Commerce Department impose on NSO Group when "
                       "it added the company to the Entity List?", [passage(text)], idf)
    assert not selection.answered
    assert selection.missing == ("The documents mention the Commerce Department and NSO Group, "
                                 "but not its fine.")


@pytest.mark.parametrize("question, text", [
    # the verb, not the subject, ends the question: no garbled subject
    ("Who bought the rights?", "The rights were sold in 1902 after a long dispute."),
    ("How many counties does the region have?", "The region has counties and cities."),
])
def test_a_refusal_names_no_subject_rather_than_a_garbled_one(question, text):
    selection = chosen(question, text)
    assert not selection.answered
    assert selection.missing in (None, "The documents mention the rights, but not who.",
                                 "The documents mention the region, but not how many counties.")


def test_the_ranker_puts_the_sentence_that_answers_first():
    # the first sentence repeats more of the question's words, the second names who
    text = ("The establishment of the cyber bureau was approved, and the establishment of the "
            "bureau was welcomed. Secretary Pompeo approved the establishment of the bureau in "
            "June.")
    question = "Who approved the establishment of the cyber bureau?"
    idf = Idf(LexicalIndex.build(["a", "b", "c"], [text, *OTHERS]))
    in_score_order = score(profile(question, idf), candidates([passage(text)]))
    assert in_score_order[0].text.startswith("The establishment")
    assert select(question, [passage(text)], idf).best.text.startswith("Secretary Pompeo")


def test_an_outlet_and_a_date_name_the_side_of_a_comparison():
    """"CyberScoop's February 2025 report": the document's outlet and date say which it is,
    though neither its title nor its text names them."""
    from dataclasses import replace

    from attache.retrieval.answer import _about
    from attache.retrieval.extractive import Candidate

    text = "A push is gearing up to renew an expiring cybersecurity law."
    bare = passage(text, "feb.txt", title="A major cybersecurity law is expiring soon")
    dated = replace(bare, metadata={"outlet": "CyberScoop", "date": "2025-02-26"})
    side = "CyberScoop's February 2025"
    assert _about(side, Candidate(dated, 0, 0, len(text), text)) == 2
    assert _about(side, Candidate(bare, 0, 0, len(text), text)) == 0
    other = replace(bare, metadata={"outlet": "CyberScoop", "date": "2025-06-25"})
    assert _about(side, Candidate(other, 0, 0, len(text), text)) == 0


def test_a_side_named_elsewhere_in_the_document_retrieved_is_its_side():
    from attache.retrieval.answer import _about
    from attache.retrieval.extractive import Candidate

    text = "On April 1, 2015, by Executive Order 13694, the President declared a national emergency."
    lead = passage(text, "notice.txt", title="Notice on the Continuation of the National Emergency")
    candidate = Candidate(lead, 0, 0, len(text), text)
    side = "Biden's 2022 notice"
    signed = "I am continuing for 1 year the national emergency. JOSEPH R. BIDEN JR. March 30, 2022."
    assert _about(side, candidate, signed) == 1
    assert _about(side, candidate) == 0


def test_a_sentence_going_on_about_the_best_one_elsewhere_in_its_document_holds_the_tally():
    """The best sentence names the act but holds no tally; one further on in the same
    document, in another passage, goes on about it ("It …") with the vote."""
    from dataclasses import replace

    from attache.retrieval.answer import _typed_first
    from attache.retrieval.extractive import Candidate

    question = "By what margin did the Senate pass the Cybersecurity Information Sharing Act in 2015?"
    first = "The 2015 Cybersecurity Information Sharing Act gives companies that share data safeguards."
    later = "It moved through the Senate in 2015, passing the floor by a 74-21 vote."
    idf = Idf(LexicalIndex.build(["a", "b", "c", "d"], [first, later, *OTHERS]))
    prof = profile(question, idf)
    lead = passage(first, "cisa.txt")
    on = replace(passage(later, "cisa.txt"), id="cisa.txt#4", start=2000, end=2000 + len(later))

    def order(other: Passage) -> list[str]:
        ranked = [Candidate(lead, 0, 0, len(first), first, score=1.50),
                  Candidate(other, 1, other.start, other.end, later, score=1.45)]
        return [c.text for c in _typed_first(prof, ranked, idf, {})[0]]

    assert order(on) == [later, first]
    # in another document, "It" is about something else
    assert order(replace(on, source="other.txt")) == [first, later]
