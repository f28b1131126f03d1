"""Sentence splitting and chunking: exact offsets, sizes in real tokens, overlap."""

from __future__ import annotations

from attache.index.chunking import chunk_text, count_tokens, split_sentences

PARAGRAPHS = [
    "The harbor council met on Tuesday. Dr. Ines Varga chaired it for the U.S. delegation. "
    "It adopted a charter with five priorities.",
    "The first priority is the lighthouse protocol. Mr. Okafor drafted it in 2025! "
    "Was it signed? Yes, on 3 March.",
    "A third paragraph closes the text.",
]
TEXT = "\n\n".join(PARAGRAPHS)


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_sentences_are_exact_stripped_slices_of_the_text() -> None:
    found = sentences(TEXT)
    assert found == [
        "The harbor council met on Tuesday.",
        "Dr. Ines Varga chaired it for the U.S. delegation.",
        "It adopted a charter with five priorities.",
        "The first priority is the lighthouse protocol.",
        "Mr. Okafor drafted it in 2025!",
        "Was it signed?",
        "Yes, on 3 March.",
        "A third paragraph closes the text.",
    ]


def test_each_paragraph_start_is_marked() -> None:
    starts = [TEXT[s.start : s.end] for s in split_sentences(TEXT) if s.paragraph_start]
    assert starts == [
        "The harbor council met on Tuesday.",
        "The first priority is the lighthouse protocol.",
        "A third paragraph closes the text.",
    ]


def test_a_lower_case_word_after_a_period_does_not_start_a_sentence() -> None:
    text = "Prices rose 2.5 percent. approx. ten vessels were seen at 3 p.m. near the dock."
    assert sentences(text) == [
        "Prices rose 2.5 percent. approx. ten vessels were seen at 3 p.m. near the dock."
    ]


def test_an_overlong_sentence_is_cut_into_clauses_after_its_semicolons() -> None:
    clauses = [
        "Considering that the aim of the harbor council is a greater unity between its "
        "members;",
        "Recognising the value of fostering co-operation with the other ports that are "
        "parties to this charter;",
        "Convinced of the need to pursue, as a matter of priority, a common policy aimed at "
        "the protection of shipping; x; y;",
        "Have agreed as follows.",
    ]
    text = "The preamble. " + "  ".join(clauses[:3]) + " " + clauses[3]
    found = sentences(text)
    # a clause too short to stand alone ("x;") stays with its neighbour
    assert found == ["The preamble.", *clauses[:2], clauses[2] + " " + clauses[3]]
    assert all(text[s.start : s.end] == f for s, f in zip(split_sentences(text), found))
    # a sentence of ordinary length keeps its semicolons
    short = "The council met; it adjourned; nobody spoke."
    assert sentences(short) == [short]


def test_chunks_are_exact_slices_within_the_size() -> None:
    text = "\n\n".join(PARAGRAPHS * 6)
    chunks = chunk_text(text, size=40, overlap=0)
    assert len(chunks) > 3
    for position, chunk in enumerate(chunks):
        assert chunk.position == position
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.tokens <= 40
        assert chunk.tokens == sum(
            count_tokens(chunk.text[s.start : s.end]) for s in split_sentences(chunk.text)
        )
    # without overlap, the chunks follow each other and cover every sentence once
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))
    covered = [s for c in chunks for s in sentences(c.text)]
    assert covered == sentences(text)


def test_overlap_carries_whole_sentences_into_the_next_chunk() -> None:
    text = " ".join(f"Sentence number {i} talks about the harbor council." for i in range(40))
    chunks = chunk_text(text, size=60, overlap=20)
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end  # they share text
        shared = text[b.start : a.end]
        assert shared in sentences(a.text)[-3:] or shared.endswith(".")
        assert count_tokens(shared) <= 20
        assert b.end > a.end  # and each moves forward


def test_a_sentence_longer_than_the_size_is_cut_at_word_boundaries() -> None:
    text = "word " * 300 + "end."
    chunks = chunk_text(text, size=50, overlap=0)
    assert len(chunks) > 4
    for chunk in chunks:
        assert chunk.tokens <= 50
        assert chunk.text == text[chunk.start : chunk.end]
        assert not chunk.text.startswith(" ") and not chunk.text.endswith(" ")
    assert chunks[-1].text.endswith("end.")


def test_a_paragraph_break_closes_a_half_full_chunk() -> None:
    first = "The council adopted its charter after a long debate about the harbor. " * 2
    text = first.strip() + "\n\nA new paragraph starts here."
    assert count_tokens(text) < 50  # it would fit in one chunk
    chunks = chunk_text(text, size=50, overlap=10)
    assert [c.text for c in chunks] == [first.strip(), "A new paragraph starts here."]


def test_a_chunk_never_ends_on_a_heading() -> None:
    short = "The council has five priorities for the coming years of its work in the region."
    long = (
        "The budget grows every year as the council takes on new work for the ports, "
        "the harbor staff, the lighthouse network and the undersea cables of the region."
    )
    text = f"Priorities\n\n{short}\n\nBudget\n\n{long}\n\nStaff\n\n{short}"
    heads = {text.index(h + "\n\n") for h in ("Priorities", "Budget", "Staff")}
    plain = chunk_text(text, size=45, overlap=10)
    assert any(c.text.endswith("Budget") for c in plain)  # the trap
    chunks = chunk_text(text, size=45, overlap=10, headings=heads)
    for chunk in chunks:
        last = split_sentences(chunk.text)[-1]
        assert chunk.start + last.start not in heads, chunk.text
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.tokens <= 45
    assert any(c.text.startswith("Budget\n\n") for c in chunks)
