"""Attacks on the documents package, each reproduced with real files: hostile file
names, files swapped or grown between discovery and reading, patterns with
super-linear backtracking, text that expands without bound, extraction that stalls."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from linear import assert_linear
from trapfiles import boundary_trap, byline_trap, paragraph_page, pdf_bomb

from attache.index import chunking
from attache.index.documents import Document, Skipped, SourceFile, discover, load, read
from attache.index.documents import clean, metadata
from attache.index.documents.formats import markdown, pdf
from attache.index.documents.formats import text as plain
from attache.index.documents.limits import MAX_TEXT_CHARS, text_cap
from attache.index.documents.names import safe_name, safe_text
from attache.index.documents.worker import Extractor

MB = 1024 * 1024
TEXT = "The harbour was rebuilt in 1921. It still stands today.\n\nA second paragraph."


def raw_path(folder: Path, name: bytes) -> Path:
    """A path whose last component is the given bytes (not necessarily UTF-8)."""
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + name))


# --------------------------------------------------------------------------- names


def test_a_latin1_file_name_gets_a_safe_stable_source(tmp_path: Path) -> None:
    raw_path(tmp_path, b"caf\xe9.txt").write_text(TEXT)
    files, skipped = discover(tmp_path, MB)
    assert skipped == []
    assert [f.source for f in files] == ["caf\\xe9.txt"]
    file = files[0]
    file.source.encode("utf-8")  # no lone surrogate left
    doc = load(file, read(file, MB))
    assert isinstance(doc, Document) and doc.source == "caf\\xe9.txt"
    assert discover(tmp_path, MB)[0][0].source == file.source  # stable


def test_control_characters_in_names_are_escaped(tmp_path: Path) -> None:
    (tmp_path / "red\x1b[31mALERT.txt").write_text(TEXT)
    (tmp_path / "sub\x07dir").mkdir()
    (tmp_path / "sub\x07dir" / "right\u202etxt.md").write_text(TEXT)
    sources = sorted(f.source for f in discover(tmp_path, MB)[0])
    assert sources == ["red\\x1b[31mALERT.txt", "sub\\x07dir/right\\u202etxt.md"]
    assert all(s.isprintable() for s in sources)


def test_safe_names_leave_ordinary_names_alone() -> None:
    assert safe_name("café/ünïcode – notes.md") == "café/ünïcode – notes.md"
    assert safe_text("tab\there\nand\x00nul") == "tab\\x09here\\x0aand\\x00nul"


def test_a_name_the_same_once_escaped_is_skipped_not_merged(tmp_path: Path) -> None:
    raw_path(tmp_path, b"caf\xe9.txt").write_text(TEXT)
    (tmp_path / "caf\\xe9.txt").write_text(TEXT + " Other.")
    files, skipped = discover(tmp_path, MB)
    assert [f.source for f in files] == ["caf\\xe9.txt"]
    assert [(s.path, s.reason) for s in skipped] == [
        ("caf\\xe9.txt", "name the same as another file's once escaped")
    ]


# --------------------------------------------------------------------------- reading


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The launch code is 0000. Nobody may read it.")
    return secret


def test_a_file_swapped_for_an_outside_link_after_discovery_is_not_read(
    tmp_path: Path, outside: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(TEXT)
    (file,), _ = discover(docs, MB)
    (docs / "a.txt").unlink()
    (docs / "a.txt").symlink_to(outside)
    assert read(file, MB) == Skipped("a.txt", "symbolic link leading outside the documents folder")


def test_a_folder_swapped_for_an_outside_link_after_discovery_is_not_read(
    tmp_path: Path, outside: Path
) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "secret.txt").write_text(TEXT)
    (file,), _ = discover(docs, MB)
    (docs / "sub" / "secret.txt").unlink()
    (docs / "sub").rmdir()
    (docs / "sub").symlink_to(outside.parent)
    result = read(file, MB)
    assert result == Skipped("sub/secret.txt", "symbolic link leading outside the documents folder")


def test_a_link_inside_the_folder_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text(TEXT)
    (tmp_path / "alias.txt").symlink_to("real.txt")
    files, _ = discover(tmp_path, MB)
    assert {f.source: read(f, MB) for f in files} == {
        "alias.txt": TEXT.encode(), "real.txt": TEXT.encode()
    }


def test_a_file_that_grew_past_the_limit_after_discovery_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "grows.txt"
    path.write_text(TEXT)
    (file,), _ = discover(tmp_path, 1000)
    with path.open("a") as handle:
        handle.write("x" * 5000)
    result = read(file, 1000)
    assert isinstance(result, Skipped)
    assert result.reason.startswith("larger than 1000 bytes")


def test_a_file_swapped_for_a_fifo_is_not_opened_for_ever(tmp_path: Path) -> None:
    path = tmp_path / "pipe.txt"
    path.write_text(TEXT)
    (file,), _ = discover(tmp_path, MB)
    path.unlink()
    os.mkfifo(path)
    assert read(file, MB) == Skipped("pipe.txt", "not a regular file")


# --------------------------------------------------------------------------- linear time


PATTERNS: dict[str, tuple[Callable[[str], object], Callable[[int], str]]] = {
    "byline": (metadata._byline, lambda n: "By a" + " " * n + "b"),
    "byline-separators": (metadata._byline, lambda n: "By " + "a " * n + ",x"),
    "boundary-dots": (chunking.split_sentences, lambda n: "a" + "." * n),
    "boundary-quotes": (chunking.split_sentences, lambda n: "a." + ")" * n + "x"),
    "boundary-spaces": (chunking.split_sentences, lambda n: ("a." + " " * 50) * (n // 50)),
    "line-breaks": (chunking.split_sentences, lambda n: "a\n" * (n // 2)),
    # a sentence of ten times the size, cut into clauses: each cut must cost its clause
    "clauses": (chunking.split_sentences, lambda n: ("x" * 58 + "; ") * (n // 6)),
    "line-breaks-spaces": (chunking.split_sentences, lambda n: "a\n" + "\u2003\n" * (n // 2)),
    "strip": (clean.strip, lambda n: "a" + " " * n + "b"),
    "strip-zero-width": (clean.strip, lambda n: "a" + " \u200b" * (n // 2) + "b"),
    "clean-lines": (clean.clean_plain_text, lambda n: ("word " + " " * 200 + "\n") * (n // 200)),
    "copyright": (clean._COPYRIGHT.match, lambda n: "copyright" + " " * n + "x"),
    "markdown-heading": (markdown.extract, lambda n: "# a" + " " * n + "b\n\nText."),
    "markdown-closing": (markdown.extract, lambda n: "# a" + " #" * (n // 2) + "x\n\nText."),
    "reflow": (plain.extract, lambda n: "The quick brown fox jumps over the lazy dog.\n" * (n // 45)),
    "reflow-hyphens": (plain.extract, lambda n: "The quick brown fox jumps over the lazy co-\n" * (n // 44)),
    "pdf-paragraph": (
        lambda text: pdf.paragraphs([text] * 4),
        lambda n: "The quick brown fox jumps over the lazy dog near the bank\n" * (n // 240),
    ),
    "pdf-page-number": (pdf._PAGE_NUMBER.match, lambda n: "1" + " " * n + "x"),
    "markdown-list": (markdown.extract, lambda n: "# T\n\n" + "- item [link](http://a)\n" * (n // 24)),
    "title-byline": (metadata._TITLE_BYLINE.match, lambda n: "a (" * (n // 3)),
    "metadata": (metadata.text_metadata, lambda n: "By " + "Jane " * (n // 5)),
    "dates": (metadata.find_date, lambda n: "March " + " " * n + "x 3" + " " * n),
    "dateline": (metadata._dateline_date, lambda n: "WASHINGTON " * (n // 11) + "March 3, 2021"),
}


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_patterns_on_document_text_take_linear_time(name: str) -> None:
    function, make = PATTERNS[name]
    assert_linear(function, make)


def test_the_reported_regex_traps_finish_at_once() -> None:
    started = time.perf_counter()
    assert metadata._byline("By a" + " " * 24_000 + "b") is not None
    assert len(chunking.split_sentences("a" + "." * 24_000)) == 1
    for trap in (byline_trap(), boundary_trap()):
        doc = load(SourceFile(Path("trap.txt"), "trap.txt", len(trap)), trap.encode())
        assert isinstance(doc, Document)
    assert time.perf_counter() - started < 1.0  # 16 s before


# --------------------------------------------------------------------------- text caps


def test_a_pdf_that_expands_enormously_is_skipped() -> None:
    data = pdf_bomb()  # 7.5 KB drawing one stream on 40 pages: 12 million characters
    assert len(data) < 8 * 1024
    started = time.perf_counter()
    result = load(SourceFile(Path("bomb.pdf"), "bomb.pdf", len(data)), data)
    assert isinstance(result, Skipped)
    assert result.reason.startswith("too much text: over ")
    assert time.perf_counter() - started < 20  # stops after the page past the cap


def test_text_caps_are_absolute_and_relative_to_the_file_size() -> None:
    assert text_cap("pdf", 4 * 1024) == 204_800  # a 4 KB PDF gives 200 K characters at most
    assert text_cap("pdf", 10 * MB) == MAX_TEXT_CHARS
    assert text_cap("txt", 100) == 100_000
    assert text_cap("html", 20 * MB, max_chars=1_000_000) == 1_000_000
    text = ("A sentence of plain text. " * 100 + "\n\n") * 200
    capped = load(SourceFile(Path("a.txt"), "a.txt", len(text)), text.encode(), max_chars=10_000)
    assert isinstance(capped, Skipped) and capped.reason.startswith("too much text")


# --------------------------------------------------------------------------- time budget


def test_the_worker_gives_what_loading_in_process_gives() -> None:
    from attache.index.documents.worker import work

    text = (
        "# Charter\n\nThe charter has [three parts](https://example.org/c).\n\n"
        "## Parts\n\n1. The first part.\n2. The second part.\n3. The third part.\n"
    ).encode()
    file = SourceFile(Path("charter.md"), "charter.md", len(text))
    with Extractor(seconds=30, chunk_size=200, overlap=40) as extractor:
        assert extractor.extract(file, text) == work(file, text, MAX_TEXT_CHARS, 200, 40)
        data = pdf_bomb(pages=1, repeats=50)
        bomb = SourceFile(Path("one.pdf"), "one.pdf", len(data))
        assert extractor.extract(bomb, data) == work(bomb, data, MAX_TEXT_CHARS, 200, 40)



def test_extraction_past_its_time_budget_is_stopped_and_the_next_file_still_loads() -> None:
    page = paragraph_page()
    good = TEXT.encode()
    with Extractor(seconds=3, chunk_size=200, overlap=40) as extractor:
        started = time.perf_counter()
        slow = extractor.extract(SourceFile(Path("p.html"), "p.html", len(page)), page)
        assert time.perf_counter() - started < 30
        assert slow == Skipped("p.html", "extraction took longer than 3 s (stopped)")
        doc, chunks = extractor.extract(SourceFile(Path("a.txt"), "a.txt", len(good)), good)
    assert doc.text == TEXT
    assert [c.text for c in chunks] == [TEXT]
