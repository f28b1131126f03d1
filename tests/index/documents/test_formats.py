"""Each format read as a reader sees it: no markup, no layout, structure kept as offsets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from three_formats import CHARTER_MD, NOTE_TXT, PDF_HEADER, make_pdf

from attache.index.documents import Document, SourceFile, clean_plain_text, load
from attache.index.documents.clean import join_lines, reflow
from attache.index.documents.structure import heading_path, page_at


def loaded(name: str, data: bytes | str) -> Document:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    doc = load(SourceFile(Path(name), name, len(raw)), raw)
    assert isinstance(doc, Document), doc
    return doc


def assert_offsets(doc: Document) -> None:
    """Every recorded part of the structure is an exact slice of the clean text."""
    for heading in doc.headings:
        assert doc.text[heading.start : heading.end] == heading.text
    for item in doc.items:
        assert doc.text[item.start : item.end].strip() == doc.text[item.start : item.end]
    for mark in doc.pages:
        assert 0 <= mark.start <= len(doc.text)


# Markdown


def test_markdown_keeps_link_text_and_drops_every_marker() -> None:
    doc = loaded("charter.md", CHARTER_MD)
    assert (
        "The council is chaired by Admiral Ines Varga, who was appointed in March 2026 "
        "by the harbor board." in doc.text
    )
    assert "The council exists so that no harbor faces an attack alone." in doc.text
    for mark in ("[", "](", "**", "> ", "# ", "|", "---", "https://"):
        assert mark not in doc.text, mark
    (link,) = doc.links
    assert doc.text[link.start : link.end] == "Admiral Ines Varga"
    assert link.url == "https://example.org/people/varga"
    assert doc.title == "Harbor cyber council charter" and doc.date == "2026-03-02"
    assert_offsets(doc)


def test_markdown_headings_and_numbered_lists_are_structure() -> None:
    doc = loaded("charter.md", CHARTER_MD)
    assert [(h.level, h.text) for h in doc.headings] == [
        (1, "Harbor cyber council charter"),
        (2, "Priorities"),
        (2, "Budget"),
    ]
    assert [(i.ordinal, doc.text[i.start : i.end]) for i in doc.items] == [
        (1, "Protect the lighthouse signalling network."),
        (2, "Share threat reports with every port within a day."),
        (3, "Train harbor staff in incident response."),
        (4, "Fund security audits of crane control systems."),
        (5, "Secure the undersea cables that link the harbors."),
    ]
    assert {i.lead for i in doc.items} == {"The council has five priorities:"}
    assert len({i.list_id for i in doc.items}) == 1
    fifth = doc.items[-1]
    assert heading_path(doc.headings, fifth.start) == ["Harbor cyber council charter", "Priorities"]
    # each item is its own paragraph: a sentence of its own
    assert doc.text[fifth.start - 2 : fifth.start] == "\n\n"


def test_markdown_tables_become_sentences_and_code_stays_verbatim() -> None:
    doc = loaded("charter.md", CHARTER_MD)
    assert "Year: 2026; Budget: $4 million\n\nYear: 2027; Budget: $6 million" in doc.text
    assert "alert --level=red --port all" in doc.text


def test_markdown_ordered_list_start_and_bullets() -> None:
    doc = loaded("list.md", "Steps we take:\n\n3. Third step here\n4. Fourth step here\n\n- a bullet\n")
    assert [(i.ordinal, doc.text[i.start : i.end]) for i in doc.items] == [
        (3, "Third step here"), (4, "Fourth step here"), (1, "a bullet")
    ]
    assert doc.items[0].list_id != doc.items[2].list_id


def test_a_heading_without_its_space_is_still_a_heading() -> None:
    doc = loaded("convention.md", "##Convention on Cybercrime\n\nThe member States agree.\n")
    assert [h.text for h in doc.headings] == ["Convention on Cybercrime"]
    assert "#" not in doc.text


def test_markdown_boilerplate_paragraphs_still_go() -> None:
    doc = loaded("page.md", "# News\n\nThe port reopened on Monday after the strike.\n\nShare this article\n\nLeave a Reply\n")
    assert "Share" not in doc.text and "Reply" not in doc.text


# Plain text


def test_hard_wrapped_text_is_joined_within_paragraphs() -> None:
    doc = loaded("note.txt", NOTE_TXT)
    assert (
        "The embassy's cyber unit was founded in 2019 by Consul Marta Ilves, who had led the "
        "consulate's network team for six years before she moved to the embassy in the capital."
        in doc.text
    )
    paragraphs = doc.text.split("\n\n")
    assert paragraphs[0] == "Embassy note on cyber staffing"  # the title line stays apart
    assert len(paragraphs) == 3
    assert all("\n" not in p for p in paragraphs)


def test_list_lines_and_short_lines_are_not_joined() -> None:
    text = (
        "The plan has three parts, each of them set out in the annex to this note:\n"
        "- a register of all harbor control systems\n"
        "- a yearly audit of each of them\n"
        "Signed by the consul.\n"
        "Marta Ilves"
    )
    assert reflow(text).split("\n") == text.split("\n")


def test_text_with_one_line_paragraphs_is_unchanged() -> None:
    text = "Title line\n\n" + "\n\n".join(
        f"Paragraph {i} is a single long line of text, as in most web articles and the SQuAD corpus."
        for i in range(4)
    )
    assert reflow(clean_plain_text(text)) == clean_plain_text(text)
    assert loaded("squad.txt", text).text == clean_plain_text(text)


def test_line_end_hyphens_are_undone_but_compounds_keep_theirs() -> None:
    assert join_lines("deepen its coopera-", "tion with") == "deepen its cooperation with"
    assert join_lines("within twenty-", "four hours") == "within twenty-four hours"
    assert join_lines("a state-", "owned port", "the state-owned port") == "a state-owned port"
    assert join_lines("the Euro-", "Atlantic area") == "the Euro-Atlantic area"
    assert join_lines("the end.", "Next") == "the end. Next"


# PDF


@pytest.fixture(scope="module")
def strategy() -> Document:
    return loaded("strategy.pdf", make_pdf())


def test_pdf_running_headers_footers_and_page_numbers_are_dropped(strategy: Document) -> None:
    assert PDF_HEADER not in strategy.text
    assert "Department of Harbors" not in strategy.text
    assert not re.search(r"Page \d", strategy.text)
    assert strategy.title == "International Harbor Cyber Strategy"


def test_pdf_lines_are_joined_and_hyphenation_undone(strategy: Document) -> None:
    assert "deepen its cooperation with allied ports" in strategy.text
    assert "within twenty-four hours" in strategy.text
    # the sentence crossing the page break is whole, its hyphen undone
    assert (
        "The strategy commits the department to the lighthouse protocol, a shared alert "
        "system that warns every port of an attack on any one of them within minutes."
        in strategy.text
    )
    paragraphs = strategy.text.split("\n\n")
    assert all("\n" not in p for p in paragraphs)
    assert "-\n" not in strategy.text and "coopera-" not in strategy.text


def test_pdf_pages_are_recorded(strategy: Document) -> None:
    text = strategy.text
    assert [m.page for m in strategy.pages] == [1, 2, 3]
    assert page_at(strategy.pages, text.index("The strategy commits")) == 1
    assert page_at(strategy.pages, text.index("protocol, a shared")) == 2
    assert page_at(strategy.pages, text.index("Funding for the protocol")) == 2
    assert page_at(strategy.pages, text.index("The department reviews")) == 3
    assert_offsets(strategy)


# HTML


def test_html_headings_and_lists_are_structure() -> None:
    page = (
        "<html><head><title>Harbor plan</title></head><body><nav>Home | About</nav><article>"
        "<h1>Harbor plan</h1><p>The harbor plan was adopted by the council on Monday after "
        "a long debate between the ports.</p><h2>Pillars</h2><p>The plan rests on three pillars:</p>"
        "<ol><li>Resilient networks for every port.</li><li>Trained harbor staff in every "
        "terminal.</li><li>Shared alerts between all the ports.</li></ol>"
        "<p>The council will review the plan each year and report on its progress.</p>"
        "</article><footer>Copyright 2026</footer></body></html>"
    )
    doc = loaded("plan.html", page)
    assert "Pillars" in [h.text for h in doc.headings]
    third = [i for i in doc.items if i.ordinal == 3]
    assert third and doc.text[third[0].start : third[0].end] == "Shared alerts between all the ports."
    assert "Home | About" not in doc.text and "#" not in doc.text
    assert_offsets(doc)


def test_only_repeated_edge_lines_and_page_numbers_count_as_furniture() -> None:
    from attache.index.documents.formats.pdf import paragraphs

    words = ["Civil", "Naval", "Coastal", "Inland"]
    pages = [
        f"Harbor Review {n}\n{words[n - 1]}\nThe {words[n - 1].lower()} harbor reopened after "
        f"the storm.\n- {n} -"
        for n in range(1, 5)
    ]
    text = "\n\n".join(b.text for b in paragraphs(pages))
    assert "Harbor Review" not in text and "- 2 -" not in text
    for word in words:  # at an edge, but no page number and not repeated
        assert f"{word}\n\nThe {word.lower()} harbor reopened" in text


def test_a_long_sentence_set_as_a_heading_stays_text() -> None:
    doc = loaded(
        "blog.md",
        "# TikTok banned\n\n### On 16 March 2023, the Cabinet Office announced that the app is "
        "banned on government devices. The reason?\n\nA security review found risks.\n",
    )
    assert [h.text for h in doc.headings] == ["TikTok banned"]
    assert "On 16 March 2023, the Cabinet Office announced" in doc.text
