"""Terminal rendering of answers (rich): the last step, where citations become text."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text


def answer_panel(answer: Any) -> Group:
    """The answer, then the numbered sources with their verbatim quotes."""
    parts: list[Any] = [Text(answer.answer, style="bold" if answer.answered else "yellow")]
    if answer.note:
        parts.append(Text(f"({answer.note})", style="dim"))
    if answer.answered:
        for c in answer.citations:
            parts.append(
                Panel(
                    Text(c.quote),
                    title=f"[{c.n}] {escape(c.title)}",
                    subtitle=f"{escape(c.source)}  chars {c.start}–{c.end}",
                    title_align="left",
                    subtitle_align="right",
                    border_style="cyan",
                )
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
        parts.append(
            Panel(
                Text(p.text),
                title=f"{n}. {escape(p.title)}",
                subtitle=f"{escape(p.source)}  score {p.score:.3f}",
                title_align="left",
                subtitle_align="right",
                border_style="dim",
            )
        )
    return Group(*parts) if parts else Group(Text("No sources yet: ask a question first."))


def print_answer(console: Console, answer: Any) -> None:
    console.print(answer_panel(answer))
