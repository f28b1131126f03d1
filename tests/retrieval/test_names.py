"""Telling countries, bodies and people apart by their names."""

from __future__ import annotations

import pytest

from attache.retrieval.names import names_person, nation, nations_in


@pytest.mark.parametrize("word, country", [
    ("Norwegian", "norway"), ("U.S.", "united_states"), ("UK", "united_kingdom"),
    ("British", "united_kingdom"), ("South Korea", "korea"), ("Kenya", "kenya"),
    ("Cyber", None), ("us", "united_states"),  # `nation` takes a word known to be a name
])
def test_a_country_by_its_name_or_its_people(word, country):
    assert nation(word) == country


@pytest.mark.parametrize("text, countries", [
    ("U.S. Cyber Command dismantled a Russian troll farm.", {"united_states", "russia"}),
    ("The United States and South Korea signed it; let us see.", {"united_states", "korea"}),
    # regions named after a country, and languages glossing a word, are none
    ("Schools in New England and Inner Mongolia.", set()),
    ("The Amazon (Portuguese: Floresta Amazônica; Dutch: Amazoneregenwoud).", set()),
    ("What is the Dutch word for the forest?", set()),
    ("Russians and Latin America, North American firms.", {"russia"}),
])
def test_the_countries_a_text_names(text, countries):
    assert nations_in(text) == countries


@pytest.mark.parametrize("text, person", [
    ("Deputy Secretary Hamish Hansford of Australia's Department of Home Affairs.", True),
    ("Secretary Blinken announced the bureau.", True),
    ("Frederick William, Elector of Brandenburg, invited Huguenots.", True),
    ("Blinken said the bureau would open.", True),
    ("In 1643 King Louis XIV gained the throne.", True),
    ("Louis XIV gained the throne in 1643.", True),
    ("The CDP and the NSC met.", False),
    ("We, the Principals of Australia, India, Japan and the United States met.", False),
    ("The Quad Senior Cyber Group met in the Indo-Pacific in March.", False),
    ("The Prime Ministers of Australia, India and Japan met.", False),
    # a surname alone is someone's
    ("The bureau was announced by Blinken on Monday.", True),
    ("According to Smith, the indicators leaked.", True),
    ("The throne passed to Louis XIV.", True),
    # a people is no one
    ("Many of the Huguenots fled.", False),
    ("He taught that the Bible is the only source, officials told CyberScoop.", False),
    ("The agency will be led by a Senate-confirmed Ambassador-at-Large.", False),
    ("CSIC and NSO Group were added to the Entity List.", False),
])
def test_a_person_named(text, person):
    assert names_person(text) is person


def test_a_name_the_question_states_is_not_an_answer():
    text = "Secretary Blinken announced the bureau."
    assert not names_person(text, "Which secretary other than Blinken announced it?")
