"""HTML: the article body and the page metadata.

trafilatura gives the body with its structure, as Markdown, read by the Markdown
parser (headings and lists stay structure); without it, lxml gives paragraphs.
"""

from __future__ import annotations

import re
from typing import Any

from attache.index.documents.base import Meta
from attache.index.documents.clean import clean_plain_text, first_line
from attache.index.documents.formats import markdown
from attache.index.documents.metadata import clean_field, find_date
from attache.index.documents.structure import Assembled, Block, assemble


def extract(raw: str) -> tuple[Assembled, Meta]:
    """HTML: the article body (trafilatura, else lxml) and the page metadata."""
    body = _trafilatura_text(raw)
    if body:
        done = markdown.parse(body)
    else:
        text = clean_plain_text(_html_fallback_text(raw))
        done = assemble([Block("paragraph", p) for p in text.split("\n\n") if p])
    meta = _html_metadata(raw)
    if not meta.title:
        meta.title = first_line(done.text)
    return done, meta


def _trafilatura_text(raw: str) -> str:
    """The main text of a page according to trafilatura ('' when none)."""
    try:
        import trafilatura  # needs lxml_html_clean; any import failure falls back to lxml

        found = trafilatura.extract(
            raw,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
            include_formatting=True,
            output_format="markdown",
        )
    except Exception:  # fall back to lxml
        return ""
    return found.strip() if found else ""


def _html_metadata(raw: str) -> Meta:
    """Title, author, site name and date from the page markup."""
    meta = Meta()
    try:
        import trafilatura

        # extensive=False: a date the page declares, never one guessed from its text
        # ("founded in 2019" is no publication date)
        found = trafilatura.extract_metadata(raw, extensive=False)
    except Exception:  # metadata is optional
        found = None
    if found is not None:
        meta.title = clean_field(found.title)
        meta.author = clean_field(found.author)
        meta.outlet = clean_field(found.sitename)
        date = find_date(found.date or "")
        meta.date = date[2] if date else None
    if not meta.title:
        meta.title = _html_title(raw)
    return meta


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


def _parse_html(raw: str) -> Any:
    """Parse markup with lxml (None when there is nothing to parse)."""
    from lxml import etree
    from lxml import html as lxml_html

    markup = _XML_DECLARATION.sub("", raw, count=1)
    if not markup.strip():
        return None
    try:
        return lxml_html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return None


def _html_title(raw: str) -> str | None:
    """The <title> of a page, else its first <h1>."""
    tree = _parse_html(raw)
    if tree is None:
        return None
    for path in (".//title", ".//h1"):
        node = tree.find(path)
        if node is not None:
            title = clean_field(node.text_content())
            if title:
                return title
    return None


_DROP_TAGS = {
    "script", "style", "nav", "header", "footer", "aside", "form", "noscript",
    "template", "svg", "iframe", "button", "select", "head",
}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6",
    "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "tr",
    "figure", "figcaption", "address", "hr", "body", "center", "details", "summary",
}
_CELL_TAGS = {"td", "th"}
_FURNITURE = re.compile(r"cookie|consent|banner|footer|\bnav|menu", re.IGNORECASE)
_HTML_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def _html_fallback_text(raw: str) -> str:
    """Body text of a page with lxml, block elements as paragraphs."""
    tree = _parse_html(raw)
    if tree is None:
        return ""
    for node in [n for n in tree.iter() if _is_furniture(n)]:
        if node.getparent() is not None:
            node.drop_tree()
    body = tree.find(".//body")
    pieces: list[str] = []
    _collect_text(body if body is not None else tree, pieces)
    return "".join(pieces)


def _is_furniture(node: Any) -> bool:
    """Scripts, navigation, banners, footers and comments."""
    if not isinstance(node.tag, str):
        return True
    if node.tag.lower() in _DROP_TAGS:
        return True
    marks = f"{node.get('id', '')} {node.get('class', '')}"
    return bool(_FURNITURE.search(marks))


def _collect_text(node: Any, pieces: list[str]) -> None:
    """Append the text of ``node`` to ``pieces`` with paragraph breaks."""
    tag = node.tag.lower() if isinstance(node.tag, str) else ""
    if tag == "br":
        pieces.append("\n")
    elif tag in _BLOCK_TAGS:
        pieces.append("\n\n")
    elif tag in _CELL_TAGS:
        pieces.append(" ")
    if node.text:
        pieces.append(_HTML_SPACE.sub(" ", node.text))
    for child in node:
        _collect_text(child, pieces)
        if child.tail:
            pieces.append(_HTML_SPACE.sub(" ", child.tail))
    if tag in _BLOCK_TAGS:
        pieces.append("\n\n")
