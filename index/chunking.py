"""Sentence-aware chunking, counted in tiktoken tokens, with exact character offsets.

A chunk is a run of whole sentences: `text[start:end]` of its document's clean text.
Chunks close at paragraph breaks once they are half full, so passages tend to
follow the author's paragraphs; consecutive chunks share up to `overlap` tokens of
whole sentences.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import lru_cache

from attache.index import chunk_meta
from attache.index.documents.metadata import MONTH_NAMES

TokenCounter = Callable[[str], int]

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st vs etc e.g i.e u.s u.k u.n e.u inc ltd co corp gen gov
    sen rep lt col capt sgt no vol pp jan feb mar apr jun jul aug sep sept oct nov dec
    fig dept est approx mt ft al""".split()
)
# A candidate end of sentence: terminal punctuation, optional closing quotes or
# brackets, then whitespace and something that can open a sentence.
# Linear: a run of punctuation is tried once, from its start, without backtracking.
_BOUNDARY = re.compile(r"""(?<![.!?…])[.!?…]++["'”’)\]]*+(?=\s++["'“‘(\[]?[A-Z0-9À-Ý])""")
_PARAGRAPH = re.compile(r"\n[ \t\u00a0]*\n\s*")
_TERMINAL = tuple(".!?…:;\"'”’)")
# A sentence longer than this many characters (a treaty's preamble, a statute's list of
# clauses) is cut after its semicolons, so that a quote is a clause, not a page.
LONG_SENTENCE = 300
# ... into clauses of at least this many characters.
_MIN_CLAUSE = 60
_CLAUSE_END = re.compile(r";(?=\s)")
_SPACE = re.compile(r"\s*")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    paragraph_start: bool = False


@dataclass(frozen=True)
class Chunk:
    position: int
    start: int
    end: int
    text: str
    tokens: int

    @property
    def sha(self) -> str:
        return text_sha(self.text)


def contextual_text(title: str, text: str) -> str:
    """What is embedded and BM25-indexed for a chunk: its document's title (and heading
    path, see `chunk_context`), then the chunk.

    The title carries the subject that a chunk's own sentences often leave implicit.
    """
    return f"{title}\n{text}" if title else text


def dated(title: str, iso: str) -> str:
    """A title with its document's date in words, "Joint Statement (March 30, 2023)":
    a question names the time it asks about ("the March 2023 statement") far more
    often than a document's text repeats its own date."""
    parts = iso.split("-")
    if not title or len(parts) != 3 or not all(p.isdigit() for p in parts):
        return title
    year, month, day = (int(p) for p in parts)
    if not 1 <= month <= 12:
        return title
    return f"{title} ({MONTH_NAMES[month - 1]} {day}, {year})"


def chunk_context(metadata: dict[str, object]) -> str:
    """The title (with the document's date, see `dated`) and heading path of a stored
    chunk, as `contextual_text` takes them: "Title (March 30, 2023) › Section ›
    Subsection" (a first heading equal to the title is said once)."""
    bare = str(metadata.get(chunk_meta.TITLE, "") or "")
    title = dated(bare, str(metadata.get(chunk_meta.DATE, "") or ""))
    heading = str(metadata.get(chunk_meta.HEADING, "") or "")
    if not heading:
        return title
    parts = heading.split(" › ")
    if parts and parts[0].strip().lower() == bare.strip().lower():
        parts = parts[1:]
    return " › ".join([title, *parts]) if title else " › ".join(parts)


# The chunk-metadata keys of a chunk's sentences (their home is index.chunk_meta).
SENTENCE_SPANS = chunk_meta.SENTENCE_SPANS
SENTENCE_VECTORS = chunk_meta.SENTENCE_VECTORS


def parse_spans(metadata: dict[str, object]) -> list[tuple[int, int]]:
    spans = []
    for part in str(metadata.get(SENTENCE_SPANS, "") or "").split(";"):
        start, _, end = part.partition("-")
        if start.isdigit() and end.isdigit():
            spans.append((int(start), int(end)))
    return spans


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1)
def _encoding():  # type: ignore[no-untyped-def]
    """cl100k_base, from the copy llama-index ships (never downloaded)."""
    from importlib.util import find_spec

    import tiktoken

    spec = find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llama-index-core is not installed; it ships the tokenizer data")
    cache = os.path.join(list(spec.submodule_search_locations)[0], "_static", "tiktoken_cache")
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = cache
    try:
        return tiktoken.get_encoding("cl100k_base")
    finally:
        if previous is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def _is_abbreviation(text: str, end: int) -> bool:
    """Whether the period ending at `end` closes an abbreviation or an initial."""
    match = re.search(r"([A-Za-z][A-Za-z.]*)\.$", text[max(0, end - 12) : end + 1])
    if not match:
        return False
    word = match.group(1).lower()
    if word in _ABBREVIATIONS:
        return True
    # A single capital letter ("J. Smith") or dotted initials ("U.S.")
    return len(word.replace(".", "")) == 1 or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def _line_breaks(text: str, start: int, end: int) -> list[int]:
    """Single line breaks that end a heading or a list item inside a paragraph."""
    cuts = []
    newlines = [start + match.start() for match in re.finditer(r"\n", text[start:end])]
    # The last non-space character before each line break and the first after it, each
    # found by looking at the lines between breaks once (linear in the paragraph).
    bounds = [start - 1, *newlines, end]
    befores, previous = [], ""
    for i in range(len(newlines)):
        previous = text[bounds[i] + 1 : bounds[i + 1]].rstrip()[-1:] or previous
        befores.append(previous)
    afters, following = [""] * len(newlines), ""
    for i in range(len(newlines) - 1, -1, -1):
        following = text[bounds[i + 1] + 1 : bounds[i + 2]].lstrip()[:1] or following
        afters[i] = following
    for at, before, after in zip(newlines, befores, afters):
        if before and after and (before not in _TERMINAL or after in "-*•"):
            if after.isupper() or after in "-*•\"“" or after.isdigit():
                cuts.append(at)
        elif before in _TERMINAL and before and after:
            cuts.append(at)
    return cuts


def split_sentences(text: str) -> list[Span]:
    """Sentences of `text` as stripped character spans, marking paragraph starts."""
    spans: list[Span] = []
    paragraph_start = 0
    for paragraph_end, next_start in [
        *((m.start(), m.end()) for m in _PARAGRAPH.finditer(text)),
        (len(text), len(text)),
    ]:
        cuts = {m.end() for m in _BOUNDARY.finditer(text, paragraph_start, paragraph_end)}
        cuts = {c for c in cuts if not (text[c - 1] == "." and _is_abbreviation(text, c - 1))}
        cuts.update(_line_breaks(text, paragraph_start, paragraph_end))
        first = True
        begin = paragraph_start
        for cut in [*sorted(cuts), paragraph_end]:
            piece = text[begin:cut]
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece.rstrip())
            if trail > lead:
                for start, end in _clauses(text, begin + lead, begin + trail):
                    spans.append(Span(start, end, first))
                    first = False
            begin = cut
        paragraph_start = next_start
    return spans


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A sentence's span, or, when it is longer than `LONG_SENTENCE`, its clauses: cut
    after a semicolon where both sides keep at least `_MIN_CLAUSE` characters."""
    if end - start <= LONG_SENTENCE:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    begin = start
    for match in _CLAUSE_END.finditer(text, start, end):
        cut = match.end()
        if cut - begin >= _MIN_CLAUSE and end - cut >= _MIN_CLAUSE:
            pieces.append((begin, cut))
            begin = _SPACE.match(text, cut, end).end()
    pieces.append((begin, end))
    return pieces


def _split_long(text: str, span: Span, limit: int, count: TokenCounter) -> list[Span]:
    """Break a sentence longer than `limit` tokens at word boundaries."""
    pieces: list[Span] = []
    words = list(re.finditer(r"\S+", text[span.start : span.end]))
    begin = None
    last_end = span.start
    used = 0
    for word in words:
        w_start, w_end = span.start + word.start(), span.start + word.end()
        cost = count(" " + word.group())
        if begin is not None and used + cost > limit:
            pieces.append(Span(begin, last_end, span.paragraph_start and not pieces))
            begin, used = None, 0
        if begin is None:
            begin = w_start
        used += cost
        last_end = w_end
    if begin is not None:
        pieces.append(Span(begin, last_end, span.paragraph_start and not pieces))
    return pieces


def chunk_text(
    text: str,
    size: int,
    overlap: int,
    count: TokenCounter = count_tokens,
    headings: Collection[int] = (),
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `size` tokens.

    `headings` are the start offsets of heading sentences: a chunk never ends on one
    (it opens the next chunk, with its section, instead)."""
    sentences: list[tuple[Span, int]] = []
    for span in split_sentences(text):
        tokens = count(text[span.start : span.end])
        if tokens > size:
            sentences.extend(
                (piece, count(text[piece.start : piece.end]))
                for piece in _split_long(text, span, size, count)
            )
        else:
            sentences.append((span, tokens))

    chunks: list[Chunk] = []
    current: list[tuple[Span, int]] = []
    used = 0
    fresh = 0  # sentences in `current` not carried over from the previous chunk

    def close() -> None:
        start, end = current[0][0].start, current[-1][0].end
        chunks.append(Chunk(len(chunks), start, end, text[start:end], used))

    for span, tokens in sentences:
        paragraph_break = span.paragraph_start and used >= size // 2
        if current and fresh and (used + tokens > size or paragraph_break):
            held: list[tuple[Span, int]] = []
            while len(current) - len(held) > 1 and current[-len(held) - 1][0].start in headings:
                held.insert(0, current[-len(held) - 1])
            if held and len(held) < fresh:
                current = current[: -len(held)]
                used -= sum(t for _, t in held)
            else:
                held = []
            close()
            carried: list[tuple[Span, int]] = []
            carried_tokens = 0
            if not paragraph_break and not held:
                for item in reversed(current):
                    if carried_tokens + item[1] > overlap or len(carried) + 1 >= len(current):
                        break
                    carried.insert(0, item)
                    carried_tokens += item[1]
            current = carried + held
            used = carried_tokens + sum(t for _, t in held)
            fresh = len(held)
        current.append((span, tokens))
        used += tokens
        fresh += 1
    if current and fresh:
        close()
    return chunks
