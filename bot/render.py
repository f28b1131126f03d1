"""Terminal rendering of answers (rich): the last step, where citations become text."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text


def _panel(text: str, title: str, subtitle: str, style: str) -> Panel:
    return Panel(
        Text(text),
        title=escape(title),
        subtitle=escape(subtitle),
        title_align="left",
        subtitle_align="right",
        border_style=style,
    )


def answer_panel(answer: Any) -> Group:
    """The answer, then the numbered sources with their verbatim quotes."""
    parts: list[Any] = [Text(answer.answer, style="bold" if answer.answered else "yellow")]
    if getattr(answer, "missing", None):  # what no document supports
        parts.append(Text(answer.missing, style="yellow"))
    if answer.note:
        parts.append(Text(f"({answer.note})", style="dim"))
    if answer.answered:
        for c in answer.citations:
            parts.append(
                _panel(c.quote, f"[{c.n}] {c.title}", f"{c.source}  chars {c.start}–{c.end}", "cyan")
            )
    elif answer.passages:
        parts.append(Text("Closest passages (not an answer):", style="dim"))
        for p in answer.passages[:3]:
            snippet = p.text if len(p.text) <= 240 else p.text[:240].rsplit(" ", 1)[0] + " …"
            parts.append(Text(f"• {p.title} ({p.source}): {snippet}", style="dim"))
    return Group(*parts)


def sources_panel(answer: Any) -> Group:
    """The passages an answer was drawn from, in rank order."""
    parts: list[Any] = []
    for n, p in enumerate(answer.passages, 1):
        parts.append(_panel(p.text, f"{n}. {p.title}", f"{p.source}  score {p.score:.3f}", "dim"))
    return Group(*parts) if parts else Group(Text("No sources yet: ask a question first."))


def print_answer(console: Console, answer: Any) -> None:
    console.print(answer_panel(answer))
