"""Text that reaches a terminal: titles, file names, quotes and questions holding rich
markup or terminal escape sequences are shown as they are, and never break a command.
And a data folder that cannot be written ends a rebuild in one `error:` line."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from attache.bot.plain import plain
from attache.bot.render import answer_panel, sources_panel
from attache.index.settings import Settings
from attache.models import Citation
from attache.retrieval.answer import NO_ANSWER, Answer
from attache.retrieval.search import Passage
from attache.retrieval.service import Attache

MARKUP = "# Budget [/red] notes [bold]loud[/bold] [link=https://evil.example]x[/link] \\"
DOCUMENT = f"""{MARKUP}

The embassy cyber desk has a budget of four million dollars [/b] for the year.
An escape sequence \x1b[2J\x1b[31m would clear the screen and paint it red.
"""


def render(renderable: Any) -> str:
    console = Console(record=True, width=200, force_terminal=False, color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def make_passage(text: str, title: str, source: str) -> Passage:
    return Passage(id="p1", source=source, title=title, text=text, start=0, end=len(text),
                   score=1.0, dense=0.5, lexical=0.5, metadata={})


def test_markup_and_escape_sequences_are_shown_not_obeyed() -> None:
    source = "notes/[bold]budget[/bold].md"
    quote = "a budget [/b] of four million \x1b[2J dollars"
    citation = Citation(n=1, source=source, title=MARKUP, quote=quote, start=0, end=len(quote))
    hostile = make_passage(DOCUMENT, MARKUP, source)
    answered = Answer(question="q", answered=True, answer=f"It is [/red] {quote} [1]",
                      citations=[citation], passages=[hostile])
    refused = Answer(question="q", answered=False, answer=NO_ANSWER, citations=[],
                     passages=[hostile])
    for shown in (render(answer_panel(answered)), render(sources_panel(answered)),
                  render(answer_panel(refused))):
        assert "\x1b" not in shown
        assert "[/red]" in shown
        assert "\\x1b[2J" in shown
    shown = render(answer_panel(answered))
    assert "# Budget [/red] notes [bold]loud[/bold]" in shown
    assert "notes/[bold]budget[/bold].md" in shown
    assert plain("a\tb\nc\u202ed\x07") == "a\tb\nc\\u202ed\\x07"


@pytest.fixture
def markup_index(tmp_path: Path, embedder: Any) -> dict[str, str]:
    docs = tmp_path / "docs"
    (docs / "[bold]notes[").mkdir(parents=True)
    (docs / "[bold]notes[" / "budget [red] notes [bold].md").write_text(DOCUMENT, encoding="utf-8")
    settings = Settings(docs_dir=docs, data_dir=tmp_path / "data")
    Attache(settings, embedder=embedder).rebuild()
    return {"ATTACHE_DOCS_DIR": str(docs), "ATTACHE_DATA_DIR": str(settings.data_dir),
            "COLUMNS": "400"}  # no folding of table cells


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "MarkupError" not in result.stderr
    assert "\x1b[2J" not in result.stdout


def test_index_status_ask_and_chat_survive_markup(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], markup_index: dict[str, str],
) -> None:
    status = run_cli("index", "status", env=markup_index)
    assert_clean(status)
    assert "Budget [/red] notes" in status.stdout and "budget [red] notes [bold].md" in status.stdout

    asked = run_cli("ask", "What is the budget [/b] of the cyber desk?", env=markup_index)
    assert_clean(asked)
    assert "four million dollars [/b]" in asked.stdout

    chat = run_cli("chat", env=markup_index,
                   input="[/b]\nWhat is the budget [/red] of the cyber desk? [bold]\n")
    assert_clean(chat)
    assert "> [/b]" in chat.stdout and "budget [/red] of the cyber desk? [bold]" in chat.stdout
    assert "four million dollars" in chat.stdout


def test_eval_failures_show_escape_sequences_and_not_obey_them(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], markup_index: dict[str, str],
    tmp_path: Path,
) -> None:
    # an evaluation file can be made of readers' questions (`feedback export`)
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"question": "Who runs the \x1b[2J moon desk?",
                                     "expect_refusal": False, "expect_any": ["nobody"]}) + "\n")
    result = run_cli("eval", str(questions), env=markup_index)
    assert_clean(result)
    assert "\\x1b[2J moon desk" in result.stdout


def test_the_data_folder_is_printed_as_it_is(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path,
) -> None:
    folder = tmp_path / "[prod]"
    result = run_cli("gaps", "--purge", env={"ATTACHE_DATA_DIR": str(folder)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"There is no question log in {folder}."


# --------------------------------------------------------------------------- data folder


@contextlib.contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    """`path` as a read-only folder: permissions for a normal user; for root (who ignores
    them) a read-only tmpfs mounted there, when the machine allows it."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("root, and no read-only mount allowed here")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True, check=False)


def assert_one_error_line(result: subprocess.CompletedProcess[str], folder: Path) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: cannot write the data folder {folder}")
    assert "ATTACHE_DATA_DIR" in lines[0] and "Traceback" not in result.stderr


def test_a_data_folder_under_a_file_is_one_error_line(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    folder = tmp_path / "a-file" / "data"
    result = run_cli("index", "rebuild", env={"ATTACHE_DOCS_DIR": str(Path("seeds").resolve()),
                                             "ATTACHE_DATA_DIR": str(folder)})
    assert_one_error_line(result, folder)
    assert "Not a directory" in result.stderr


@pytest.mark.parametrize("inside", [False, True])
def test_a_read_only_data_folder_is_one_error_line(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path, inside: bool,
) -> None:
    with read_only_folder(tmp_path / "ro") as read_only:
        folder = read_only / "data" if inside else read_only
        result = run_cli("index", "rebuild",
                         env={"ATTACHE_DOCS_DIR": str(Path("seeds").resolve()),
                              "ATTACHE_DATA_DIR": str(folder)})
    assert_one_error_line(result, folder)
