"""Markdown, parsed as CommonMark (markdown-it-py): the text a reader sees.

Link text stays and the link syntax goes (each URL is kept as a link of the
document); emphasis and quote markers go; code stays verbatim; headings and list
items become structure; a table row becomes "Header: value; Header: value".
Front matter becomes metadata.
"""

from __future__ import annotations

import re
from typing import Any

from attache.index.documents.base import Meta
from attache.index.documents.clean import NEWLINES, first_line, normalise, strip
from attache.index.documents.metadata import field_block, set_field
from attache.index.documents.structure import Assembled, Block, assemble

# "##Heading" without the space CommonMark requires: common in converted pages.
_TIGHT_HEADING = re.compile(r"^(#{2,6})(?=[^#\s])", re.MULTILINE)
_SPACE = re.compile(r"\s+")
MAX_BLOCK_CHARS = 100_000
MAX_HEADING_WORDS = 15


def extract(raw: str) -> tuple[Assembled, Meta]:
    """Markdown: front matter (or a list of fields near the top) as metadata; the first
    level-one heading as title."""
    body, meta = _front_matter(raw)
    done = assemble(_field_list(_blocks(body), meta))
    if not meta.title:
        first_h1 = next((h.text for h in done.headings if h.level == 1), None)
        meta.title = first_h1 or first_line(done.text)
    return done, meta


def parse(body: str) -> Assembled:
    """The blocks of a Markdown text, assembled into clean text and structure."""
    return assemble(_blocks(body))


def _blocks(body: str) -> list[Block]:
    from markdown_it import MarkdownIt

    body = _TIGHT_HEADING.sub(r"\1 ", normalise(body))
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return _Walker().walk(parser.parse(body))


_FIELD_LIST_START = 6  # a field list opens among the first blocks
_LIST_HEADING_WORDS = 2  # "Information:", "Article details"


def _field_list(blocks: list[Block], meta: Meta) -> list[Block]:
    """Take a list of "Source: …", "Date: …", "Author: …" items near the top (the
    header scraped articles carry in their body) as metadata, and drop it and a short
    heading over it from the text. Every item of the list must be such a field and two
    of them must be known (see `metadata.FIELD_KEYS`)."""
    for first, block in enumerate(blocks[:_FIELD_LIST_START]):
        if block.kind == "item":
            break
    else:
        return blocks
    end = first
    while end < len(blocks) and blocks[end].kind == "item" and blocks[end].list_id == block.list_id:
        end += 1
    fields = field_block([b.text for b in blocks[first:end]])
    if fields is None:
        return blocks
    for item, found in zip(blocks[first:end], fields):
        linked = [url for *_, url in item.links if url]
        set_field(meta, found["key"], linked[0] if linked else found["value"])
    heading = blocks[first - 1] if first else None
    if heading and heading.kind == "heading" and len(heading.text.split()) <= _LIST_HEADING_WORDS:
        first -= 1
    return blocks[:first] + blocks[end:]


class _Walker:
    """Turns markdown-it's token stream into blocks."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.lists: list[list[int]] = []  # open lists: [list id, next ordinal]
        self.item: Block | None = None  # the list item being gathered
        self.next_list = 0
        self.table: list[list[str]] = []  # rows of the open table
        self.header: list[str] = []
        self.row: list[str] | None = None
        self.heading = 0

    def walk(self, tokens: list[Any]) -> list[Block]:
        for token in tokens:
            self.token(token)
        self.flush_item()
        return self.blocks

    def token(self, token: Any) -> None:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.flush_item()
            start = int(token.attrGet("start") or 1) if kind == "ordered_list_open" else 1
            self.lists.append([self.next_list, start])
            self.next_list += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.flush_item()
            if self.lists:
                self.lists.pop()
        elif kind == "list_item_open":
            self.flush_item()
            if self.lists:
                list_id, ordinal = self.lists[-1]
                self.lists[-1][1] += 1
                self.item = Block("item", "", list_id=list_id, ordinal=ordinal)
        elif kind == "list_item_close":
            self.flush_item()
        elif kind == "heading_open":
            self.flush_item()
            self.heading = int(token.tag[1:]) if token.tag[1:].isdigit() else 1
        elif kind == "heading_close":
            self.heading = 0
        elif kind == "inline":
            self.inline(token)
        elif kind in ("fence", "code_block"):
            self.flush_item()
            code = token.content.strip("\n")[:MAX_BLOCK_CHARS]
            if code.strip():
                self.blocks.append(Block("code", code))
        elif kind == "html_block":
            self.flush_item()
            text = _html_text(token.content)
            if text:
                self.blocks.append(Block("paragraph", text))
        elif kind == "thead_open":
            self.header = []
        elif kind == "tr_open":
            self.row = []
        elif kind == "tr_close":
            self.end_row()

    def inline(self, token: Any) -> None:
        text, links = _render_inline(token.children or [])
        if self.row is not None:
            self.row.append(text)
        elif self.heading and len(text.split()) <= MAX_HEADING_WORDS:
            self.blocks.append(Block("heading", text, level=self.heading))
        elif self.heading:  # a whole sentence set as a heading: its facts must stay answerable
            self.blocks.append(Block("paragraph", text, links=links))
        elif self.item is not None:
            if self.item.text:
                shift = len(self.item.text) + 1
                self.item.text += " " + text
                self.item.links.extend((a + shift, b + shift, u) for a, b, u in links)
            else:
                self.item.text, self.item.links = text, links
        else:
            self.blocks.append(Block("paragraph", text, links=links))

    def flush_item(self) -> None:
        if self.item is not None and self.item.text:
            self.blocks.append(self.item)
        self.item = None

    def end_row(self) -> None:
        row, self.row = self.row or [], None
        if not self.header:
            self.header = row
            return
        cells = [
            f"{name}: {value}" if name else value
            for name, value in zip([*self.header, *[""] * len(row)], row)
            if value
        ]
        if cells:
            self.blocks.append(Block("row", "; ".join(cells)))


def _render_inline(children: list[Any]) -> tuple[str, list[tuple[int, int, str]]]:
    """The text of an inline run, whitespace collapsed, and its links' offsets."""
    out = ""
    links: list[tuple[int, int, str]] = []
    opened: list[tuple[int, str]] = []

    def add(piece: str) -> None:
        nonlocal out
        piece = _SPACE.sub(" ", piece)
        if out.endswith(" ") and piece.startswith(" "):
            piece = piece[1:]
        if not out and piece.startswith(" "):
            piece = piece[1:]
        out += piece

    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            add(child.content)
        elif kind in ("softbreak", "hardbreak"):
            add(" ")
        elif kind == "link_open":
            opened.append((len(out), str(child.attrGet("href") or "")))
        elif kind == "link_close" and opened:
            start, url = opened.pop()
            if start < len(out.rstrip()):
                start += len(out[start:]) - len(out[start:].lstrip())
                links.append((start, len(out.rstrip()), url))
    text = out.rstrip()
    lead = len(text) - len(strip(text)) if text else 0
    text = strip(text)
    links = [(a - lead, b - lead, u) for a, b, u in links if a - lead >= 0 and b - lead <= len(text)]
    return text, links


def _html_text(markup: str) -> str:
    """The text of a raw HTML block (tags dropped)."""
    from lxml import etree
    from lxml import html as lxml_html

    if not markup.strip():
        return ""
    try:
        node = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    for bad in node.xpath(".//script|.//style"):
        bad.drop_tree()
    return " ".join(node.text_content().split())


def _front_matter(raw: str) -> tuple[str, Meta]:
    """Split a YAML front matter block off a markdown text. The block is read as YAML
    (quoted and folded values over several lines, escapes, dates); one that is not valid
    YAML is read a "key: value" line at a time."""
    meta = Meta()
    lines = NEWLINES.sub("\n", raw).split("\n")
    if not lines or strip(lines[0]) != "---":
        return raw, meta
    closing = next(
        (i for i, line in enumerate(lines[1:60], 1) if strip(line) in {"---", "..."}), None
    )
    if closing is None:
        return raw, meta
    for key, value in _front_fields(lines[1:closing]):
        set_field(meta, key, value)
    return "\n".join(lines[closing + 1 :]), meta


def _front_fields(lines: list[str]) -> list[tuple[str, object]]:
    """The top-level keys of a front matter block and their values (a list of names
    joined with commas). A value YAML reads as a number or a truth value ("title: 1984",
    "title: No") is kept as written."""
    import yaml

    written = []
    for line in lines:
        key, sep, value = line.partition(":")
        if sep:
            written.append((key, _front_value(value)))
    try:
        data = yaml.safe_load("\n".join(lines))
    except (yaml.YAMLError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return written
    as_written = {key.strip(): value for key, value in written}
    fields: list[tuple[str, object]] = []
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ", ".join(value)
        elif isinstance(value, (bool, int, float)):
            value = as_written.get(key, "")
        fields.append((key, value))
    return fields


def _front_value(value: str) -> str:
    """A front matter value: a JSON/YAML double-quoted string decoded, else unquoted."""
    value = value.strip()
    if len(value) > 1 and value[0] == value[-1] == '"':
        import json

        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):
            return " ".join(decoded.split())
    return value.strip("\"'").strip()
