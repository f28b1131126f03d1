"""Terminal rendering of answers (rich): the last step, where citations become text.

Everything shown here comes from documents, file names, questions or the LLM, so none of
it is ever parsed as rich markup: it goes into `Text` objects (titles too), and control
characters (terminal escape sequences, bidirectional overrides) are shown as visible
escapes instead of reaching the terminal.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from attache.bot.plain import plain


def _text(text: str, style: str = "") -> Text:
    return Text(plain(text), style=style)


def _panel(text: str, title: str, subtitle: str, style: str, origin: str = "",
           link: str | None = None) -> Panel:
    body = _text(text)
    if origin:  # the document's outlet and date
        body.append(f"\n— {plain(origin)}", style="dim")
    if link:  # where the reader can open the document; plain text, never markup
        body.append("\n")
        body.append(plain(link), style="dim underline")
    return Panel(
        body,
        title=_text(title),
        subtitle=_text(subtitle),
        title_align="left",
        subtitle_align="right",
        border_style=style,
    )


def _origin(citation: Any) -> str:
    """'Outlet, 2026-11-20' for a citation whose document names them."""
    known = [v for v in (getattr(citation, "outlet", None), getattr(citation, "date", None)) if v]
    return ", ".join(known)


def answer_panel(answer: Any) -> Group:
    """The answer, then the numbered sources with their verbatim quotes."""
    parts: list[Any] = [_text(answer.answer, style="bold" if answer.answered else "yellow")]
    if getattr(answer, "missing", None):  # what no document supports
        parts.append(_text(answer.missing, style="yellow"))
    if answer.note:
        parts.append(_text(f"({answer.note})", style="dim"))
    if answer.answered:
        for c in answer.citations:
            parts.append(
                _panel(c.quote, _citation_title(c), f"{c.source}  {_place(c)}",
                       "cyan", _origin(c), getattr(c, "url", None))
            )
    elif answer.passages:
        parts.append(Text("Closest passages (not an answer):", style="dim"))
        for p in answer.passages[:3]:
            snippet = p.text if len(p.text) <= 240 else p.text[:240].rsplit(" ", 1)[0] + " …"
            parts.append(_text(f"• {p.title} ({p.source}): {snippet}", style="dim"))
    return Group(*parts)


def sources_panel(answer: Any) -> Group:
    """The passages an answer was drawn from, in rank order."""
    parts: list[Any] = []
    for n, p in enumerate(answer.passages, 1):
        parts.append(_panel(p.text, f"{n}. {p.title}", f"{p.source}  score {p.score:.3f}", "dim"))
    return Group(*parts) if parts else Group(Text("No sources yet: ask a question first."))


def print_answer(console: Console, answer: Any) -> None:
    console.print(answer_panel(answer))


def _citation_title(c: Any) -> str:
    """"[1] Title › Section": the document's title and the heading path at the quote."""
    heading = getattr(c, "heading", None) or ""
    parts = heading.split(" › ") if heading else []
    if parts and parts[0].strip().lower() == c.title.strip().lower():
        parts = parts[1:]
    return " › ".join([f"[{c.n}] {c.title}", *parts])


def _place(c: Any) -> str:
    """"p. 2  chars 10–52", or just the characters outside PDFs."""
    page = getattr(c, "page", None)
    chars = f"chars {c.start}–{c.end}"
    return f"p. {page}  {chars}" if page else chars
