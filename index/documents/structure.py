"""A document's structure: the blocks a format yields, and the clean text they make.

A format module turns its input into blocks (headings, paragraphs, list items, code);
`assemble` drops web furniture among them and joins them, one blank line apart, into
the clean text, recording as character offsets into that text where each heading,
list item, link and page lies. Offsets are what chunks and citations carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from attache.index.documents.clean import is_boilerplate

PATH_SEPARATOR = " › "
MAX_HEADING_CHARS = 200
MAX_LEAD_CHARS = 240
MAX_URL_CHARS = 2000


@dataclass(frozen=True)
class Heading:
    start: int
    end: int
    level: int  # 1 to 6
    text: str


@dataclass(frozen=True)
class ListItem:
    start: int
    end: int
    list_id: int  # items of one list share it
    ordinal: int  # 1-based position in its list
    lead: str = ""  # the text just before the list: a heading or a lead-in sentence


@dataclass(frozen=True)
class Link:
    start: int
    end: int
    url: str


@dataclass(frozen=True)
class PageMark:
    start: int  # offset where the page's text starts
    page: int  # 1-based


@dataclass
class Block:
    """One unit of text as a reader sees it."""

    kind: str  # "heading", "paragraph", "item", "row", "code"
    text: str
    level: int = 0  # heading level
    list_id: int = -1
    ordinal: int = 0
    links: list[tuple[int, int, str]] = field(default_factory=list)  # offsets in `text`
    pages: list[tuple[int, int]] = field(default_factory=list)  # (offset in `text`, page)


@dataclass(frozen=True)
class Assembled:
    text: str
    headings: tuple[Heading, ...]
    items: tuple[ListItem, ...]
    links: tuple[Link, ...]
    pages: tuple[PageMark, ...]


_SENTENCE_END = re.compile(r"[.!?…:][\"'”’»)\]]*$")
_FOOTER_WORDS = 8


def assemble(blocks: list[Block]) -> Assembled:
    """Join the blocks into clean text and record where each structural part lies."""
    blocks = [b for b in blocks if b.text.strip() and not _is_furniture(b)]
    blocks = _drop_footer(blocks)
    parts: list[str] = []
    headings: list[Heading] = []
    items: list[ListItem] = []
    links: list[Link] = []
    pages: list[PageMark] = []
    at = 0
    lead = ""
    for block in blocks:
        text = block.text
        if parts:
            parts.append("\n\n")
            at += 2
        start, end = at, at + len(text)
        if block.kind == "heading":
            headings.append(Heading(start, end, block.level, text[:MAX_HEADING_CHARS]))
        elif block.kind == "item":
            items.append(ListItem(start, end, block.list_id, block.ordinal, lead))
        for a, b, url in block.links:
            links.append(Link(start + a, start + b, url[:MAX_URL_CHARS]))
        for offset, page in block.pages:
            if not pages or pages[-1].page != page:
                pages.append(PageMark(start + offset, page))
        if block.kind != "item":
            lead = _bounded(text, MAX_LEAD_CHARS)
        parts.append(text)
        at = end
    return Assembled("".join(parts), tuple(headings), tuple(items), tuple(links), tuple(pages))


def _is_furniture(block: Block) -> bool:
    return block.kind in ("paragraph", "item") and is_boilerplate(block.text)


def _drop_footer(blocks: list[Block]) -> list[Block]:
    """Drop short, unpunctuated paragraphs after the last one that ends a sentence."""
    last = max(
        (i for i, b in enumerate(blocks) if _SENTENCE_END.search(b.text.rstrip())), default=-1
    )
    if last < 0:
        return blocks
    end = len(blocks)
    while end - 1 > last and blocks[end - 1].kind == "paragraph" and _short(blocks[end - 1]):
        end -= 1
    return blocks[:end]


def _short(block: Block) -> bool:
    return len(block.text.split()) < _FOOTER_WORDS


def _bounded(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def heading_path(headings: tuple[Heading, ...] | list[Heading], offset: int) -> list[str]:
    """The headings in force at `offset`: the last of each level, outermost first."""
    path: list[Heading] = []
    for heading in headings:
        if heading.start > offset:
            break
        while path and path[-1].level >= heading.level:
            path.pop()
        path.append(heading)
    return [h.text for h in path]


def page_at(pages: tuple[PageMark, ...] | list[PageMark], offset: int) -> int | None:
    """The 1-based page holding the character at `offset` (None without pages)."""
    found = None
    for mark in pages:
        if mark.start > offset:
            break
        found = mark.page
    return found


MAX_CONTEXT_CHARS = 300
MAX_LINKS = 100


def structure_metadata(doc: Any, start: int, end: int) -> dict[str, str]:
    """The chunk metadata (index.chunk_meta keys) for `doc.text[start:end]`: its heading
    path, where paths and pages change in it, its list items and links; offsets
    relative to the chunk. Keys a document has nothing for are left out."""
    import json

    from attache.index import chunk_meta as cm

    meta: dict[str, str] = {}
    headings = list(doc.headings)
    if headings:
        path = PATH_SEPARATOR.join(heading_path(headings, start))
        meta[cm.HEADING] = path
        sections: list[list[Any]] = [[0, path]]
        for heading in headings:
            if start < heading.start < end:
                sections.append([heading.start - start, PATH_SEPARATOR.join(heading_path(headings, heading.start))])
        meta[cm.SECTIONS] = json.dumps(sections, ensure_ascii=False)
    if doc.pages:
        pages: list[list[int]] = [[0, page_at(doc.pages, start) or doc.pages[0].page]]
        pages += [[m.start - start, m.page] for m in doc.pages if start < m.start < end]
        meta[cm.PAGES] = json.dumps(pages)
    items = [
        [
            max(i.start, start) - start,
            min(i.end, end) - start,
            i.ordinal,
            _bounded(
                " ".join([*heading_path(headings, i.start), i.lead]), MAX_CONTEXT_CHARS
            ),
        ]
        for i in doc.items
        if i.start < end and i.end > start
    ]
    if items:
        meta[cm.ITEMS] = json.dumps(items, ensure_ascii=False)
    links = [
        [ln.start - start, ln.end - start, ln.url]
        for ln in doc.links
        if start <= ln.start and ln.end <= end
    ][:MAX_LINKS]
    if links:
        meta[cm.LINKS] = json.dumps(links, ensure_ascii=False)
    return meta


def located(metadata: dict[str, Any], offset: int) -> tuple[str, int | None]:
    """The heading path and the page at `offset` (relative to the chunk) of a stored
    chunk: ("", None) when the chunk has neither."""
    import json

    from attache.index import chunk_meta as cm

    heading, page = "", None
    try:
        for at, path in json.loads(str(metadata.get(cm.SECTIONS) or "[]")):
            if int(at) <= offset:
                heading = str(path)
        for at, number in json.loads(str(metadata.get(cm.PAGES) or "[]")):
            if int(at) <= offset:
                page = int(number)
    except (ValueError, TypeError):
        return "", None
    return heading, page
