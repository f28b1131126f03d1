"""What Discord would render as live Markdown in a piece of message text: used to check
that text from documents, questions and the LLM reaches Discord inert."""

from __future__ import annotations

import re

_CODE_SPAN = re.compile(r"(?<!\\)`[^`\n]*`")
_LIVE = {
    "masked link": re.compile(r"(?<!\\)\[[^\]\n]*\]\s*\("),
    "heading, subtext or quote": re.compile(r"^[ \t]*(?:#|-#|>)", re.MULTILINE),
    "list": re.compile(r"^[ \t]*-\s", re.MULTILINE),
    "spoiler": re.compile(r"(?<!\\)\|(?<!\\)\|"),
    "bold": re.compile(r"(?<!\\)\*(?<!\\)\*"),
    "underline": re.compile(r"(?<!\\)_(?<!\\)_"),
    "strike": re.compile(r"(?<!\\)~(?<!\\)~"),
    "link": re.compile(r"(?:https?|steam)://|discord(?:app)?\.(?:gg|com/invite)/", re.I),
}


def live_markdown(text: str) -> list[str]:
    """The kinds of live Markdown in `text`, outside inline code spans (which are inert)."""
    outside = _CODE_SPAN.sub("", text)
    return [name for name, pattern in _LIVE.items() if pattern.search(outside)]
