"""Answers from a folder holding a Markdown charter, a typeset PDF and a hard-wrapped
note: plain prose, whole sentences, no page furniture, pages and headings cited.
Real model, real Chroma, real files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import cli_json
from three_formats import PDF_HEADER, write_folder

from attache.index.documents import discover, load, read
from attache.retrieval.service import Attache

MARKUP = re.compile(r"\*\*|__|\]\(|^\s*[#>|]|\|\s*-|https?://", re.MULTILINE)

QUESTIONS = [
    ("Who chairs the harbor cyber council?", "charter.md",
     "The council is chaired by Admiral Ines Varga, who was appointed in March 2026 by the harbor board."),
    ("What was the council's budget in 2027?", "charter.md", "Year: 2027; Budget: $6 million"),
    ("Who founded the embassy's cyber unit?", "note.txt",
     "The embassy's cyber unit was founded in 2019 by Consul Marta Ilves, who had led the "
     "consulate's network team for six years before she moved to the embassy in the capital."),
    ("What does the strategy commit the department to?", "strategy.pdf",
     "The strategy commits the department to the lighthouse protocol, a shared alert system "
     "that warns every port of an attack on any one of them within minutes."),
    ("How big is the maritime security fund?", "strategy.pdf",
     "Funding for the protocol comes from the maritime security fund, which grew to nine "
     "million dollars in the last year."),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folder(tmp_path_factory.mktemp("three") / "docs")


@pytest.fixture(scope="module")
def service(folder: Path, embedder) -> Attache:
    from attache.index.settings import Settings

    settings = Settings(docs_dir=folder, data_dir=folder.parent / "data")
    attache = Attache(settings, embedder=embedder)
    report = attache.rebuild()
    assert report.documents == 3 and not report.skipped
    return attache


@pytest.fixture(scope="module")
def texts(folder: Path) -> dict[str, str]:
    files, _ = discover(folder, 10**7)
    return {f.source: load(f, read(f)).text for f in files}


@pytest.mark.parametrize(("question", "source", "sentence"), QUESTIONS)
def test_each_fact_is_answered_in_plain_prose(service, texts, question, source, sentence):
    answer = service.ask(question)
    assert answer.answered, question
    first = answer.citations[0]
    assert (first.source, first.quote) == (source, sentence)
    for citation in answer.citations:
        assert texts[citation.source][citation.start : citation.end] == citation.quote
        assert "\n" not in citation.quote
        assert not MARKUP.search(citation.quote), citation.quote
        assert "Department of Harbors" not in citation.quote and "Page " not in citation.quote
        assert (citation.page is not None) == citation.source.endswith(".pdf")
    assert not MARKUP.search(answer.answer) and PDF_HEADER not in answer.answer


def test_pdf_citations_carry_their_page(service):
    answer = service.ask("How big is the maritime security fund?")
    assert answer.citations[0].page == 2
    answer = service.ask("What does the strategy commit the department to?")
    # the sentence starts on page 1 and ends on page 2: its start decides
    assert answer.citations[0].page == 1


@pytest.mark.parametrize(("question", "item"), [
    ("What is the fifth priority in the charter?", "Secure the undersea cables that link the harbors."),
    ("What is the third priority of the council?", "Train harbor staff in incident response."),
    ("Which is the 2nd priority in the charter?", "Share threat reports with every port within a day."),
])
def test_an_ordinal_question_finds_the_item_at_that_position(service, question, item):
    answer = service.ask(question)
    assert answer.answered
    assert answer.citations[0].quote == item
    assert answer.citations[0].heading == "Harbor cyber council charter › Priorities"


def test_a_heading_alone_is_never_an_answer(service):
    for question in ("What are the priorities?", "What about the budget?"):
        answer = service.ask(question)
        quotes = {c.quote for c in answer.citations}
        assert not quotes & {"Priorities", "Budget", "Harbor cyber council charter"}


def test_ask_json_shows_page_and_heading(service, folder, run_cli):
    env = {"ATTACHE_DOCS_DIR": str(folder), "ATTACHE_DATA_DIR": str(folder.parent / "data")}
    data = cli_json(run_cli("ask", "How big is the maritime security fund?", "--json", env=env))
    assert data["citations"][0]["page"] == 2 and data["citations"][0]["source"] == "strategy.pdf"
    data = cli_json(run_cli("ask", "What is the fifth priority in the charter?", "--json", env=env))
    assert data["citations"][0]["heading"] == "Harbor cyber council charter › Priorities"
    assert data["citations"][0]["page"] is None
    shown = run_cli("ask", "How big is the maritime security fund?", env=env)
    assert shown.returncode == 0 and "p. 2" in shown.stdout
