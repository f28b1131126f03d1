"""Discord rendering: answers, sources and reports as messages within Discord's limits.

Pure functions of the service's data; nothing here talks to Discord.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from attache.bot.plain import plain

if TYPE_CHECKING:
    from attache.models import Citation, DocumentInfo, IndexStatus, RebuildReport
    from attache.retrieval.answer import Answer

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
FIELDS_LIMIT = 25
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
BUTTONS_PER_MESSAGE = 25
BUTTON_LABEL_LIMIT = 80
THREAD_NAME_LIMIT = 100

PATH_LIMIT = 300  # a source path shown in an embed (footers, fields): longer ones are clipped
EMBED_BUDGET = 5800  # what a sources embed may hold, leaving room for its title and footer
SOURCES_COLOUR = discord.Colour.blurple()
REFUSAL_COLOUR = discord.Colour.light_grey()
ELLIPSIS = "…"
LLM_FALLBACK_NOTE = "(The language model was unavailable; this is the extractive answer.)"

_ZWSP = "\u200b"
_RAW_MENTION = re.compile(r"<(@[!&]?|#|/)(?=[\w-])")
_AT_WORD = re.compile(r"@(everyone|here)", re.IGNORECASE)
_URL = re.compile(
    r"<?((?:https?|steam)://[^\s<>`]+|\bdiscord(?:app)?\.(?:gg|com/invite)/[^\s<>`]+)>?",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?)]}'\"”’»"
# Markdown that works anywhere in a line: emphasis, strike, spoilers, code, escapes.
_INLINE_MARKDOWN = re.compile(r"[\\*_~|`]")
# "[" opens a masked link unless it is a citation marker such as [2] not followed by "(".
_LINK_OPEN = re.compile(r"\[(?!\d+\](?!\s*\())")
# At the start of a line: headings (#), subtext (-#), quotes (>), lists (- and 1.).
_LINE_START = re.compile(r"^([ \t]*)([#>-]|\d+(?=[.)]))", re.MULTILINE)
_TOKEN = re.compile(r"\S+\s*")
_MARKER = re.compile(r"\[\d+\]")
_MARKER_TOKEN = re.compile(r"(?:\[\d+\])+[.,;:!?)\"'”’]*")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_TRAILING_MARKERS = re.compile(r"(?:\s*\[\d+\])+[.,;:!?)\"'”’]*$")
_MENTION_SYNTAX = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)", re.IGNORECASE)


# --------------------------------------------------------------------------- text safety


def neutralize(text: str) -> str:
    """Mention syntax made inert: `@everyone`, `@here`, `<@id>`, `<@!id>`, `<@&id>`, `<#id>`."""
    text = discord.utils.escape_mentions(text)
    text = _AT_WORD.sub(lambda m: f"@{_ZWSP}{m.group(1)}", text)
    return _RAW_MENTION.sub(lambda m: f"<{m.group(1)}{_ZWSP}", text)


def escape_markdown(text: str) -> str:
    """Markdown made inert, in one linear pass: emphasis, spoilers, code, masked links,
    and headings, subtext, quotes and lists at the start of a line; a citation marker
    such as [1] stays as it is."""
    text = _INLINE_MARKDOWN.sub(lambda m: "\\" + m.group(0), text)
    text = _LINK_OPEN.sub(r"\\[", text)
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)


def _inert_url(url: str) -> str:
    """A URL shown, not linked: in inline code (no link, no preview, no markdown)."""
    return code(url)


def _split_url(match: re.Match[str]) -> tuple[str, str]:
    url = match.group(1)
    stripped = url.rstrip(_URL_TRAILING)
    return stripped, url[len(stripped):]


def no_previews(text: str) -> str:
    """URLs (and invite links) shown as inline code: not clickable, no link preview."""
    def inert(match: re.Match[str]) -> str:
        url, trailing = _split_url(match)
        return f"{_inert_url(url)}{trailing}"

    return _URL.sub(inert, text)


def safe_text(text: str) -> str:
    """Text from documents, questions or the LLM, ready for a message: inert mentions,
    inert Markdown, URLs shown but never linked, control characters shown (`\\u202e`).
    Only the bot's own links stay links."""
    text = plain(text)
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url, trailing = _split_url(match)
        parts.append(escape_markdown(neutralize(text[position:match.start()])))
        parts.append(_inert_url(url))
        parts.append(escape_markdown(neutralize(trailing)))
        position = match.end()
    parts.append(escape_markdown(neutralize(text[position:])))
    return "".join(parts)


def safe_line(text: str, limit: int) -> str:
    """A title or name from a document: one line, safe, within `limit` characters."""
    return clip(safe_text(one_line(text)), limit)


def _open_code_span(text: str) -> int:
    """Where an unclosed inline code span starts in `text` (backticks not escaped by a
    backslash), or -1."""
    opened = -1
    backslashes = 0
    for index, char in enumerate(text):
        if char == "\\":
            backslashes += 1
            continue
        if char == "`" and backslashes % 2 == 0:
            opened = index if opened < 0 else -1
        backslashes = 0
    return opened


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut at a word boundary and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return text[:limit]
    head = text[: limit - len(ELLIPSIS)]
    if " " in head[limit // 2 :]:
        head = head.rsplit(" ", 1)[0]
    opened = _open_code_span(head)
    if opened >= 0:  # a URL cut in two: drop it rather than leave its code span open
        head = head[:opened]
    head = head.rstrip()
    if (len(head) - len(head.rstrip("\\"))) % 2:  # a lone escape would swallow the ellipsis
        head = head[:-1]
    return head + ELLIPSIS


def one_line(text: str) -> str:
    return " ".join(text.split())


def code(text: str) -> str:
    """Inline code that cannot be broken out of."""
    return f"`{text.replace('`', 'ˋ')}`" if text else ""


def path_code(text: str, limit: int) -> str:
    """A file name or path from the documents folder as inline code: one line, mentions
    inert, within `limit` characters."""
    return code(clip(neutralize(one_line(text)), limit))


def link_text(text: str, limit: int) -> str:
    """A document's title as the text of a Markdown link: safe, one line, within `limit`
    characters, its "]" escaped as well (safe_text escapes "[" only)."""
    return clip(safe_text(one_line(text)).replace("]", "\\]"), limit)


# --------------------------------------------------------------------------- splitting


def _glue_markers(tokens: list[str]) -> list[str]:
    """Tokens with each `[n]` marker joined to the word before it."""
    glued: list[str] = []
    for token in tokens:
        if glued and _MARKER_TOKEN.fullmatch(token.strip()) and "\n" not in glued[-1]:
            glued[-1] += token
        else:
            glued.append(token)
    return glued


def _ends_sentence(text: str) -> bool:
    text = _TRAILING_MARKERS.sub("", text.rstrip()) or text.rstrip()
    return bool(_SENTENCE_END.search(text))


def _sentences(text: str) -> list[str]:
    """Sentences with their markers and trailing whitespace; line breaks also end one."""
    sentences: list[str] = []
    current: list[str] = []
    for word in _glue_markers(_TOKEN.findall(text)):
        current.append(word)
        if "\n" in word or _ends_sentence(word):
            sentences.append("".join(current))
            current = []
    if current:
        sentences.append("".join(current))
    return sentences


def _hard_split(word: str, limit: int) -> list[str]:
    """A word longer than `limit` in pieces, never cutting through a `[n]` marker."""
    pieces: list[str] = []
    start = 0
    while len(word) - start > limit:
        cut = start + limit
        window = word[start : cut + 16]  # a marker spanning the cut starts within it
        for marker in _MARKER.finditer(window):
            begin, end = start + marker.start(), start + marker.end()
            if begin < cut < end and begin > start:
                cut = begin
        pieces.append(word[start:cut])
        start = cut
    pieces.append(word[start:])
    return pieces


class _Packer:
    """Greedy packing of units into chunks of at most `limit` characters, in time linear
    in the text: the current chunk is a list of units and two running lengths."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[str] = []
        self._units: list[str] = []
        self._length = 0  # of the current chunk
        self._content = 0  # of the current chunk without its trailing whitespace

    def fits(self, unit: str) -> bool:
        if not unit.strip():
            return self._content <= self.limit
        return self._length + len(unit.rstrip()) <= self.limit

    def start(self, unit: str) -> None:
        self._units = []
        self._length = self._content = 0
        self.append(unit)

    def append(self, unit: str) -> None:
        if unit.strip():
            self._content = self._length + len(unit.rstrip())
        self._units.append(unit)
        self._length += len(unit)

    def flush(self) -> None:
        text = "".join(self._units).strip()
        if text:
            self.chunks.append(text)
        self._units = []
        self._length = self._content = 0

    def add(self, unit: str, split: Any) -> None:
        if self.fits(unit):
            self.append(unit)
            return
        self.flush()
        if len(unit.rstrip()) <= self.limit:
            self.start(unit)
        else:
            split(unit)


def split_message(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """`text` in chunks of at most `limit` characters, split at sentence ends (or line
    breaks); a sentence longer than `limit` is split between words, and a word longer
    than `limit` inside it; a `[n]` marker stays whole and with the word it follows."""
    if limit < 16:
        raise ValueError("limit must be at least 16 characters")
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    packer = _Packer(limit)

    def split_word(word: str) -> None:
        pieces = _hard_split(word.rstrip(), limit)
        packer.chunks.extend(pieces[:-1])
        packer.start(pieces[-1] + word[len(word.rstrip()) :])

    def split_sentence(sentence: str) -> None:
        for word in _glue_markers(_TOKEN.findall(sentence)):
            packer.add(word, split_word)

    for sentence in _sentences(text):
        packer.add(sentence, split_sentence)
    packer.flush()
    return packer.chunks


# --------------------------------------------------------------------------- answers


@dataclass
class OutgoingMessage:
    """One Discord message: content and/or embeds, and the citations its buttons show."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)

    @property
    def suppress_embeds(self) -> bool:
        """Link previews are suppressed by flag only where the message has no embed of
        its own (the flag would hide it too); elsewhere URLs are wrapped in <...>."""
        return not self.embeds


def answer_text(answer: Answer) -> str:
    """The answer with its [n] markers, safe to post."""
    text = safe_text(answer.answer)
    if getattr(answer, "missing", None):  # what no document supports, after the refusal
        text = f"{text}\n{safe_text(answer.missing)}"
    if answer.note:
        text = f"{text}\n{LLM_FALLBACK_NOTE}"
    return text


def link_url(url: str | None) -> str | None:
    """An http(s) URL fit for a Markdown link or an embed's url, or None."""
    if not url or not re.match(r"^https?://[^\s]+$", url, re.IGNORECASE) or len(url) > 1000:
        return None
    from urllib.parse import quote

    return quote(url, safe=":/?#[]@!$&'*+,;=%~")  # no ( ) < > " ` or spaces left to break out


def origin_line(citation: Citation) -> str:
    """The document's title as a link to where it can be read (when it says), its outlet
    and date: '[Title](<https://…>) · Outlet, 2026-11-20'."""
    url = link_url(getattr(citation, "url", None))
    known = [v for v in (getattr(citation, "outlet", None), getattr(citation, "date", None)) if v]
    origin = safe_text(one_line(", ".join(known)))
    if url is None:
        return clip(origin, 200)
    title = link_text(citation.title or citation.source, 150)
    return f"[{title}](<{url}>)" + (f" · {clip(origin, 120)}" if origin else "")


def _citation_field(citation: Citation, quote_budget: int) -> tuple[str, str]:
    name = safe_line(f"[{citation.n}] {citation.title or citation.source}", FIELD_NAME_LIMIT)
    source = path_code(citation.source, PATH_LIMIT)
    if citation.page:
        source += f", p. {citation.page}"
    origin = origin_line(citation)
    source = f"{origin}\n{source}" if origin else source
    room = min(quote_budget, FIELD_VALUE_LIMIT - len(source) - 4)
    quote = clip(safe_text(one_line(citation.quote)), max(room, 16))
    value = f"“{quote}”\n{source}"
    return name, clip(value, FIELD_VALUE_LIMIT)


def _quote_budget(count: int) -> int:
    """Characters per quote: whole quotes for a few citations, shorter ones for many."""
    per_field = EMBED_BUDGET // max(1, min(count, FIELDS_LIMIT))
    return max(160, min(FIELD_VALUE_LIMIT, per_field - 120))


def _sources_embed(continued: bool) -> discord.Embed:
    embed = discord.Embed(
        title="Sources (continued)" if continued else "Sources", colour=SOURCES_COLOUR
    )
    embed.set_footer(text="Verbatim quotes from the documents. The buttons show the full passage.")
    return embed


def source_pages(citations: Sequence[Citation]) -> list[tuple[discord.Embed, list[Citation]]]:
    """The citations as embed fields, as many per embed as Discord's limits allow."""
    budget = _quote_budget(len(citations))
    pages: list[tuple[discord.Embed, list[Citation]]] = []
    embed = _sources_embed(False)
    cited: list[Citation] = []
    for citation in citations:
        name, value = _citation_field(citation, budget)
        full = len(cited) >= min(FIELDS_LIMIT, BUTTONS_PER_MESSAGE)
        if cited and (full or len(embed) + len(name) + len(value) > EMBED_BUDGET):
            pages.append((embed, cited))
            embed = _sources_embed(True)
            cited = []
        embed.add_field(name=name, value=value, inline=False)
        cited.append(citation)
    if cited:
        pages.append((embed, cited))
    return pages


def closest_passages_embed(answer: Answer, count: int = 3) -> discord.Embed | None:
    """For a refusal: the closest passages, marked as not an answer."""
    if not answer.passages:
        return None
    embed = discord.Embed(title="Closest passages (not an answer)", colour=REFUSAL_COLOUR)
    for passage in answer.passages[:count]:
        name = safe_line(passage.title or passage.source, FIELD_NAME_LIMIT)
        source = path_code(passage.source, PATH_LIMIT)
        snippet = clip(safe_text(one_line(passage.text)), 300)
        embed.add_field(name=name, value=clip(f"{snippet}\n{source}", FIELD_VALUE_LIMIT),
                        inline=False)
    return embed


def answer_messages(answer: Answer) -> list[OutgoingMessage]:
    """The answer as messages: its text (split if long), then its sources; the first
    sources embed rides on the last text message, with buttons for its citations."""
    messages = [OutgoingMessage(content=chunk) for chunk in split_message(answer_text(answer))]
    if not messages:
        messages = [OutgoingMessage(content=ELLIPSIS)]
    if answer.answered and answer.citations:
        pages = source_pages(answer.citations)
        first_embed, first_cited = pages[0]
        messages[-1].embeds.append(first_embed)
        messages[-1].citations.extend(first_cited)
        messages.extend(OutgoingMessage(embeds=[e], citations=c) for e, c in pages[1:])
    elif not answer.answered:
        closest = closest_passages_embed(answer)
        if closest is not None:
            messages[-1].embeds.append(closest)
    return messages


def passage_embeds(citation: Citation, passage: str) -> list[discord.Embed]:
    """The full passage behind a citation, one embed per part."""
    title = safe_line(f"[{citation.n}] {citation.title or citation.source}", TITLE_LIMIT)
    footer = clip(neutralize(one_line(citation.source)), PATH_LIMIT)
    # all the embed's text counts towards Discord's 6,000: title, part numbers, footer
    room = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - TITLE_LIMIT - len(footer) - 64)
    parts = split_message(safe_text(passage), room) or [ELLIPSIS]
    embeds = []
    for number, part in enumerate(parts, 1):
        suffix = f" ({number}/{len(parts)})" if len(parts) > 1 else ""
        embed = discord.Embed(title=clip(title, TITLE_LIMIT - len(suffix)) + suffix,
                              description=part, colour=SOURCES_COLOUR,
                              url=link_url(getattr(citation, "url", None)))
        embed.set_footer(text=footer)
        embeds.append(embed)
    return embeds


def thread_name(question: str) -> str:
    """A thread name from the question: one line, no mention syntax, at most 100 chars."""
    name = one_line(_MENTION_SYNTAX.sub("", question)).strip()
    return clip(name, THREAD_NAME_LIMIT) or "Attaché"


# --------------------------------------------------------------------------- listings


def bounded_lines(lines: Sequence[str], limit: int, header: str = "") -> str:
    """`header` and as many `lines` as fit in `limit` characters, then "… and N more"."""
    text = header
    for shown, line in enumerate(lines):
        rest = len(lines) - shown - 1
        more = f"\n{ELLIPSIS} and {rest} more" if rest else ""
        candidate = f"{text}\n{line}" if text else line
        if len(candidate) + len(more) > limit:
            tail = f"{ELLIPSIS} and {len(lines) - shown} more"
            return f"{text}\n{tail}" if text else tail
        text = candidate
    return text


def _built_at(value: str | None) -> str:
    if not value:
        return "an unknown time"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return neutralize(value)
    return f"{discord.utils.format_dt(moment, 'f')} ({discord.utils.format_dt(moment, 'R')})"


def _document_line(document: DocumentInfo) -> str:
    title = safe_line(document.title or document.source, 200)
    source = path_code(document.source, 200)
    chunks = document.chunks
    return f"• **{title}** {source} · {chunks} chunk{'s' if chunks != 1 else ''}"


def sources_embed(status: IndexStatus) -> discord.Embed:
    """/sources: the indexed documents and when the index was built."""
    documents = status.documents
    embed = discord.Embed(title="Indexed documents", colour=SOURCES_COLOUR)
    if status.version is None:
        embed.description = "Nothing is indexed yet; an admin can run /reindex."
        return embed
    header = f"Index built {_built_at(status.built_at)}."
    embed.description = bounded_lines([_document_line(d) for d in documents],
                                      DESCRIPTION_LIMIT, header)
    model = status.embedding_model or "unknown model"
    embed.set_footer(text=clip(
        f"{len(documents)} documents · {status.chunks} chunks · "
        f"version {status.version} · {neutralize(model)}", PATH_LIMIT))
    return embed


def help_embed(status: IndexStatus | None) -> discord.Embed:
    """/help: what the bot knows and how to ask."""
    documents = status.documents if status is not None else []
    if status is None:
        knows = "I answer questions from a folder of articles."
    elif not documents:
        knows = "Nothing is indexed yet; an admin can run /reindex."
    else:
        titles = [f"*{safe_line(d.title or d.source, 120)}*"
                  for d in documents[:3]]
        more = f" and {len(documents) - 3} more" if len(documents) > 3 else ""
        knows = (
            f"I answer questions from **{len(documents)} document"
            f"{'s' if len(documents) != 1 else ''}** ({status.chunks} passages): "
            f"{', '.join(titles)}{more}. Answers are short, with numbered sources quoted "
            "verbatim; when the documents don't answer, I say so."
        )
    how = "\n".join([
        "**How to ask**",
        "• `/ask question:` your question. I answer here and open a thread: keep asking "
        "in the thread and I follow the conversation (\"What will it focus on?\").",
        "• Or mention me with your question in a channel.",
        "• The **Passage** buttons under an answer show the full passage, to you only.",
        "• `/sources` lists the indexed documents; `/reindex` updates the index, `/gaps` "
        "and `/stats` show what readers asked (admins).",
    ])
    embed = discord.Embed(title="Attaché", description=clip(f"{knows}\n\n{how}",
                                                              DESCRIPTION_LIMIT),
                          colour=SOURCES_COLOUR)
    return embed


def reindex_report(report: RebuildReport, skipped_shown: int = 10) -> str:
    """The outcome of /reindex in one message."""
    skipped = report.skipped
    counts = (
        f"{report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged, "
        f"{len(skipped)} skipped"
    )
    seconds = report.seconds
    if report.switched:
        head = (
            f"Reindex done in {seconds:.1f} s: {counts}. Now serving {report.documents} "
            f"documents ({report.chunks} chunks), version {report.version}."
        )
    else:
        head = (
            f"The index was already up to date ({seconds:.1f} s): {counts}; "
            f"{report.documents} documents."
        )
    lines = [
        f"• {path_code(s.path, 120)}: "
        f"{safe_line(s.reason, 160)}"
        for s in skipped[:skipped_shown]
    ]
    if len(skipped) > skipped_shown:
        lines.append(f"{ELLIPSIS} and {len(skipped) - skipped_shown} more")
    body = bounded_lines(lines, CONTENT_LIMIT - len(head) - 12, "Skipped:") if lines else ""
    return clip(f"{head}\n{body}" if body else head, CONTENT_LIMIT)


def channel_list(channel_ids: Iterable[int], shown: int = 10) -> str:
    """Channel mentions, the first `shown` of them and how many more: a reply stays short
    however many channels are configured."""
    ids = [int(c) for c in channel_ids]
    listed = ", ".join(f"<#{c}>" for c in ids[:shown])
    return listed + (f" and {len(ids) - shown} more" if len(ids) > shown else "")
