"""Discover the files of a documents folder and turn them into clean text."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import os
import re
import stat
from dataclasses import dataclass

from attache.errors import DocumentsFolderError
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Document",
    "DocumentsFolderError",
    "Skipped",
    "SourceFile",
    "clean_plain_text",
    "discover",
    "load",
    "read",
]


@dataclass(frozen=True)
class SourceFile:
    """A candidate file found in the documents folder."""

    path: Path
    source: str
    size: int


@dataclass(frozen=True)
class Skipped:
    """A file left out of the index, with a short human reason."""

    path: str
    reason: str


@dataclass(frozen=True)
class Document:
    """The clean text of one file and what is known about it."""

    source: str
    title: str
    text: str
    kind: str
    outlet: str | None = None
    author: str | None = None
    date: str | None = None
    url: str | None = None  # where the article can be read (front matter `url`)


SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}

_KINDS = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}



# Discovery


def discover(root: Path, max_bytes: int) -> tuple[list[SourceFile], list[Skipped]]:
    """List the candidate files under ``root`` and the ones skipped, by source."""
    root = Path(root)
    if not root.is_dir():
        raise DocumentsFolderError(f"documents folder not found: {root}")
    base = Path(os.path.abspath(root))
    real_root = root.resolve()
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    candidates = 0
    pending: list[tuple[str, ...]] = [()]
    while pending:
        parts = pending.pop()
        try:
            entries = sorted(os.scandir(base.joinpath(*parts)), key=lambda e: e.name)
        except OSError as exc:
            if not parts:
                raise DocumentsFolderError(
                    f"documents folder cannot be read: {root} ({_os_reason(exc)})"
                ) from None
            skipped.append(Skipped(_posix(parts), f"unreadable: {_os_reason(exc)}"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = (*parts, entry.name)
            outcome = _classify(entry, rel, base, real_root, max_bytes)
            if outcome is None:
                pending.append(rel)
                continue
            candidates += _is_file_candidate(outcome)
            (files if isinstance(outcome, SourceFile) else skipped).append(outcome)
    if candidates == 0:
        raise DocumentsFolderError(f"documents folder is empty: {root}")
    files.sort(key=lambda f: f.source)
    skipped.sort(key=lambda s: s.path)
    return files, skipped


_NOT_REGULAR = "not a regular file"
_BROKEN_LINK = "unreadable: broken symbolic link"
_OUTSIDE_LINK = "symbolic link leading outside the documents folder"
_FOLDER_LINK = "symbolic link to a folder (not followed)"


def _is_file_candidate(outcome: SourceFile | Skipped) -> int:
    """1 when the outcome stands for a file (indexed or not), else 0."""
    if isinstance(outcome, SourceFile):
        return 1
    return int(outcome.reason not in {_NOT_REGULAR, _BROKEN_LINK, _FOLDER_LINK})


def _classify(
    entry: os.DirEntry[str],
    rel: tuple[str, ...],
    base: Path,
    real_root: Path,
    max_bytes: int,
) -> SourceFile | Skipped | None:
    """Decide what one directory entry is: a file, a skip, or (None) a folder to walk."""
    source = _posix(rel)
    try:
        if entry.is_symlink():
            return _classify_link(Path(entry.path), source, base, real_root, max_bytes)
        if entry.is_dir(follow_symlinks=False):
            return None
        info = entry.stat(follow_symlinks=False)
    except OSError as exc:
        return Skipped(source, f"unreadable: {_os_reason(exc)}")
    if not stat.S_ISREG(info.st_mode):
        return Skipped(source, _NOT_REGULAR)
    return _check_file(base.joinpath(*rel), source, info.st_size, max_bytes)


def _classify_link(
    link: Path, source: str, base: Path, real_root: Path, max_bytes: int
) -> SourceFile | Skipped:
    """Classify a symbolic link without ever reading through it."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return Skipped(source, _BROKEN_LINK)
    if not target.is_relative_to(real_root):
        return Skipped(source, _OUTSIDE_LINK)
    try:
        info = target.stat()
    except OSError as exc:
        return Skipped(source, f"unreadable: {_os_reason(exc)}")
    if stat.S_ISDIR(info.st_mode):
        return Skipped(source, _FOLDER_LINK)
    if not stat.S_ISREG(info.st_mode):
        return Skipped(source, _NOT_REGULAR)
    return _check_file(base / PurePosixPath(source), source, info.st_size, max_bytes)


def _check_file(path: Path, source: str, size: int, max_bytes: int) -> SourceFile | Skipped:
    """Apply the suffix and size rules to a regular file."""
    suffix = PurePosixPath(source).suffix.lower()
    if not suffix:
        return Skipped(source, "unsupported type (no extension)")
    if suffix not in SUPPORTED_SUFFIXES:
        return Skipped(source, f"unsupported type '{suffix}'")
    if size > max_bytes:
        return Skipped(source, f"larger than {_format_limit(max_bytes)} ({_format_size(size)})")
    return SourceFile(path=path, source=source, size=size)


_MB = 1024 * 1024
_KB = 1024


def _format_limit(n: int) -> str:
    """A size limit, e.g. ``20 MB``."""
    if n >= _MB:
        return f"{n / _MB:.1f}".removesuffix(".0") + " MB"
    if n >= _KB:
        return f"{n / _KB:.1f}".removesuffix(".0") + " KB"
    return f"{n} bytes"


def _format_size(n: int) -> str:
    """A file size, e.g. ``31.2 MB``."""
    if n >= _MB // 10:
        return f"{n / _MB:.1f} MB"
    if n >= _KB:
        return f"{n / _KB:.1f} KB"
    return f"{n} bytes"


def _posix(parts: tuple[str, ...]) -> str:
    """Relative POSIX path of path parts ("." for the root itself)."""
    return PurePosixPath(*parts).as_posix() if parts else "."


def _os_reason(exc: OSError) -> str:
    """Short text of an OS error, without the path."""
    return exc.strerror or str(exc) or type(exc).__name__


# Reading


def read(file: SourceFile) -> bytes | Skipped:
    """The raw bytes of a file, or why they could not be read."""
    try:
        return file.path.read_bytes()
    except OSError as exc:
        return Skipped(file.source, f"unreadable: {_os_reason(exc)}")


@dataclass
class _Meta:
    """Metadata gathered while loading a document."""

    title: str | None = None
    author: str | None = None
    outlet: str | None = None
    date: str | None = None
    url: str | None = None

    def fill(self, other: _Meta) -> None:
        """Take the fields of ``other`` that are still missing here."""
        self.title = self.title or other.title
        self.author = self.author or other.author
        self.outlet = self.outlet or other.outlet
        self.date = self.date or other.date


class _Skip(Exception):
    """Internal signal: the file is skipped for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load(file: SourceFile, data: bytes) -> Document | Skipped:
    """Turn the bytes of a file into a Document, or say why not. Never raises."""
    try:
        return _load(file, bytes(data))
    except _Skip as skip:
        return Skipped(file.source, skip.reason)
    except Exception as exc:  # any input must give a result
        return Skipped(file.source, f"could not extract text: {_short_error(exc)}")


def _load(file: SourceFile, data: bytes) -> Document:
    """Body of :func:`load`; raises _Skip for the expected failures."""
    source = file.source or file.path.name
    suffix = PurePosixPath(source).suffix.lower()
    kind = _KINDS.get(suffix)
    if kind is None:
        raise _Skip(f"unsupported type '{suffix}'" if suffix else "unsupported type (no extension)")
    if not data.strip(b" \t\r\n\x0b\x0c"):
        raise _Skip("empty file")
    if kind == "pdf":
        text, meta = _extract_pdf(data)
    else:
        raw = _decode(data, html=kind == "html")
        if not _strip(raw):
            raise _Skip("empty file")
        text, meta = _EXTRACTORS[kind](raw)
        if not text:
            raise _Skip("no text after cleaning")
    _finish_title(meta)
    meta.fill(_text_metadata(text))
    title = meta.title or PurePosixPath(source).stem
    return Document(
        source=source,
        title=title,
        text=text,
        kind=kind,
        outlet=meta.outlet,
        author=meta.author,
        date=meta.date,
        url=meta.url,
    )


def _short_error(exc: BaseException, limit: int = 120) -> str:
    """One-line, bounded description of an exception."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Decoding

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SUSPICIOUS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd\U000f0000-\U0010ffff]")
_BINARY_SHARE = 0.05
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
    rb"""|<\?xml[^>]{0,100}?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
_WESTERN = {"latin_1", "iso8859_1", "ascii", "cp1252"}


def _decode(data: bytes, html: bool) -> str:
    """Decode text bytes; raise _Skip('binary content') for binary data."""
    text = _decode_bom(data)
    if text is None and b"\x00" in data:
        text = _decode_utf16_without_bom(data)
        if text is None:
            raise _Skip("binary content")
    if text is None:
        text = _decode_plain(data, html)
    if _looks_binary(text):
        raise _Skip("binary content")
    return text


def _decode_bom(data: bytes) -> str | None:
    """Decode by byte order mark, if there is one."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                return data[len(bom) :].decode(encoding, errors="replace")
    return None


def _decode_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM: NULs almost all on one side of each pair."""
    if len(data) % 2:
        return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    half = len(data) // 2
    if odd >= half * 0.3 and even <= odd * 0.05:
        encoding = "utf-16-le"
    elif even >= half * 0.3 and odd <= even * 0.05:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text or _looks_binary(text) else text


def _decode_plain(data: bytes, html: bool) -> str:
    """UTF-8, else the HTML-declared charset, else cp1252, else latin-1."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if html:
        declared = _declared_charset(data)
        if declared and declared not in _WESTERN | {"utf_8"}:
            try:
                return data.decode(declared)
            except (UnicodeDecodeError, LookupError):
                pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _declared_charset(data: bytes) -> str | None:
    """Python codec name of the charset an HTML page declares, if known."""
    match = _META_CHARSET.search(data[:8192])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "replace")
    try:
        return codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None


def _looks_binary(text: str) -> bool:
    """A high share of control or private-use characters means it is not text."""
    if not text:
        return False
    controls = len(text) - len(_SUSPICIOUS.sub("", text))
    return controls > 0 and controls / len(text) > _BINARY_SHARE


# Cleaning

_NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_EDGE_SPACE = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$")
_STRAY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")

_BOILERPLATE = re.compile(
    r"^[\W_]*(?:"
    r"connect with us|click to comment|leave a (?:reply|comment)(?: cancel reply)?|cancel reply"
    r"|your email(?: address)? will not be published(?:\W+required fields are (?:marked|indicated)(?: with)?)?"
    r"|required fields are (?:marked|indicated)(?: with)?"
    r"|save my name,? email,? and website in this browser for the next time i comment"
    r"|latest news|latest stories|related (?:posts?|articles?|stories|news|content)"
    r"|you may also like|recommended(?: for you)?|more stories|trending(?: now)?|most (?:read|popular)"
    r"|read more|read next|continue reading|share this(?: article| story| post| page)?"
    r"|share (?:on|via) (?:facebook|twitter|x|linkedin|whatsapp|email)|share|tweet|print"
    r"|subscribe(?: now| today| to (?:our|the) newsletter)?|sign up for (?:our|the) newsletter"
    r"|advertisement|advertise with us|sponsored(?: content)?|skip to (?:main )?content"
    r"|all rights reserved"
    r")[\W_]*$",
    re.IGNORECASE,
)
_COOKIE = re.compile(
    r"^[\W_]*(?:we(?: and our partners)? use cookies|this (?:web)?site uses cookies"
    r"|by (?:continuing to (?:use|browse)|using) (?:this|our) (?:web)?site"
    r"|(?:accept|reject|manage) (?:all )?cookies|cookie (?:settings|policy|preferences|consent))",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"^(?:©|copyright\s*(?:©|\(c\))?\s*\d{4})", re.IGNORECASE)
_CREDIT_PHRASE = re.compile(
    r"\b(?:image|photo|picture|photograph|illustration)s?\s+(?:credit|courtesy|source)s?\b",
    re.IGNORECASE,
)
_CREDIT_LINE = re.compile(
    r"^[(\[]?\s*(?:(?:image|photo|picture|photograph)s?(?:\s+by)?|credit)\s*[:|]",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")
_FOOTER_WORDS = 8


def clean_plain_text(text: str) -> str:
    """Normalise whitespace and drop web boilerplate lines from article text."""
    lines = _lines(text)
    lines = _drop_boilerplate(lines)
    lines = _drop_footer(lines)
    return _join(lines)


def _lines(text: str) -> list[str]:
    """Lines with unified newlines, no control characters, stripped edges."""
    text = _STRAY_CONTROL.sub("", _NEWLINES.sub("\n", text))
    return [_strip(line) for line in text.split("\n")]


def _strip(text: str) -> str:
    """Strip whitespace, NBSP and zero-width characters at both ends."""
    return _EDGE_SPACE.sub("", text)


def _join(lines: list[str]) -> str:
    """Join lines, one blank line at most between paragraphs, none at the ends."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _is_boilerplate(line: str) -> bool:
    """Whether a whole line is web page furniture rather than article text."""
    flat = " ".join(line.split())
    words = len(flat.split())
    if _BOILERPLATE.match(flat):
        return True
    if words <= 80 and _COOKIE.match(flat):
        return True
    if words <= 20 and _COPYRIGHT.match(flat):
        return True
    return _is_credit(flat)


def _is_credit(line: str) -> bool:
    """An image or photo credit line."""
    words = len(line.split())
    if words <= 25 and _CREDIT_PHRASE.search(line):
        return True
    return words <= 12 and bool(_CREDIT_LINE.match(line))


def _drop_boilerplate(lines: list[str]) -> list[str]:
    """Remove boilerplate lines and image alt text repeated in a credit line."""
    following = _following_text_lines(lines)
    return [
        line
        for line, after in zip(lines, following)
        if not line or not (_is_boilerplate(line) or _is_alt_text(line, after))
    ]


def _following_text_lines(lines: list[str]) -> list[str]:
    """For each line, the next non-blank line after it ('' if none)."""
    following: list[str] = []
    after = ""
    for line in reversed(lines):
        following.append(after)
        if line:
            after = line
    following.reverse()
    return following


def _is_alt_text(line: str, following: str) -> bool:
    """Alt text: a line repeated by the next line with a credit appended."""
    return (
        len(following) > len(line)
        and following.startswith(line)
        and _is_credit(following)
        and not _is_credit(line)
    )


def _drop_footer(lines: list[str]) -> list[str]:
    """Drop short, unpunctuated lines after the last sentence of the text."""
    last = max((i for i, line in enumerate(lines) if _SENTENCE_END.search(line)), default=-1)
    if last < 0:
        return lines
    end = len(lines)
    while end - 1 > last and _is_footer_line(lines[end - 1]):
        end -= 1
    return lines[:end]


def _is_footer_line(line: str) -> bool:
    """Blank, or a short line that does not end a sentence (tables excepted)."""
    if not line:
        return True
    if line.startswith("|") and line.endswith("|"):
        return False
    return len(line.split()) < _FOOTER_WORDS and not _SENTENCE_END.search(line)


# Formats


def _extract_txt(raw: str) -> tuple[str, _Meta]:
    """Plain text: clean it; the first line is the title."""
    text = clean_plain_text(raw)
    return text, _Meta(title=_first_line(text))


def _extract_md(raw: str) -> tuple[str, _Meta]:
    """Markdown: front matter as metadata, the first '# ' heading as title."""
    body, meta = _front_matter(raw)
    text = clean_plain_text(body)
    if not meta.title:
        meta.title = _md_heading(text) or _plain_md(_first_line(text))
    return text, meta


def _extract_html(raw: str) -> tuple[str, _Meta]:
    """HTML: the article body (trafilatura, else lxml) and the page metadata."""
    body = _trafilatura_text(raw)
    if body:
        body = "\n\n".join(body.split("\n"))
    else:
        body = _html_fallback_text(raw)
    text = clean_plain_text(body)
    meta = _html_metadata(raw)
    if not meta.title:
        meta.title = _first_line(text)
    return text, meta


_EXTRACTORS = {"txt": _extract_txt, "md": _extract_md, "html": _extract_html}

_FRONT_KEYS = {
    "title": "title",
    "author": "author",
    "authors": "author",
    "by": "author",
    "date": "date",
    "published": "date",
    "pubdate": "date",
    "outlet": "outlet",
    "source": "outlet",
    "publication": "outlet",
    "publisher": "outlet",
    "sitename": "outlet",
    "site": "outlet",
    "url": "url",
}


def _front_matter(raw: str) -> tuple[str, _Meta]:
    """Split a YAML-style front matter block off a markdown text."""
    meta = _Meta()
    lines = _NEWLINES.sub("\n", raw).split("\n")
    if not lines or _strip(lines[0]) != "---":
        return raw, meta
    closing = next(
        (i for i, line in enumerate(lines[1:60], 1) if _strip(line) in {"---", "..."}), None
    )
    if closing is None:
        return raw, meta
    for line in lines[1:closing]:
        key, sep, value = line.partition(":")
        target = _FRONT_KEYS.get(key.strip().lower())
        value = _front_value(value)
        if not sep or not target or not value:
            continue
        if target == "url" and not value.lower().startswith(("http://", "https://")):
            continue
        if target == "date":
            found = _find_date(value)
            value = found[2] if found else ""
        if value and not getattr(meta, target):
            setattr(meta, target, value)
    return "\n".join(lines[closing + 1 :]), meta


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


_MD_HEADING = re.compile(r"^#\s+(.+?)(?:\s+#+)?$")


def _md_heading(text: str) -> str | None:
    """Text of the first level-one ATX heading."""
    for line in text.split("\n"):
        match = _MD_HEADING.match(line)
        if match:
            return _plain_md(match.group(1))
    return None


def _plain_md(line: str | None) -> str | None:
    """A markdown line without heading marks or surrounding emphasis."""
    if not line:
        return line
    line = re.sub(r"^#+\s*", "", line)
    line = re.sub(r"^(\*\*|__|\*|_)(.+)\1$", r"\2", line)
    return _strip(line) or None


def _first_line(text: str) -> str | None:
    """The first non-empty line of a text."""
    return next((line for line in text.split("\n") if line), None)


def _trafilatura_text(raw: str) -> str:
    """The main text of a page according to trafilatura ('' when none)."""
    try:
        import trafilatura  # needs lxml_html_clean; any import failure falls back to lxml

        found = trafilatura.extract(
            raw,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
            output_format="txt",
        )
    except Exception:  # fall back to lxml
        return ""
    return found.strip() if found else ""


def _html_metadata(raw: str) -> _Meta:
    """Title, author, site name and date from the page markup."""
    meta = _Meta()
    try:
        import trafilatura

        found = trafilatura.extract_metadata(raw)
    except Exception:  # metadata is optional
        found = None
    if found is not None:
        meta.title = _clean_field(found.title)
        meta.author = _clean_field(found.author)
        meta.outlet = _clean_field(found.sitename)
        date = _find_date(found.date or "")
        meta.date = date[2] if date else None
    if not meta.title:
        meta.title = _html_title(raw)
    return meta


def _clean_field(value: object) -> str | None:
    """A stripped single-line string, or None."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


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
            title = _clean_field(node.text_content())
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


def _extract_pdf(data: bytes) -> tuple[str, _Meta]:
    """PDF: page texts separated by blank lines, /Title as title."""
    if b"%PDF-" not in data[:1024]:
        raise _Skip("not a PDF file")
    reader = _open_pdf(data)
    pages, error = _pdf_pages(reader)
    raw = "\n\n".join(pages)
    if not _strip(raw):
        if error:
            raise _Skip(f"corrupt PDF: {error}")
        raise _Skip("no extractable text in PDF")
    text = clean_plain_text(raw)
    if not text:
        raise _Skip("no text after cleaning")
    return text, _Meta(title=_pdf_title(reader) or _first_line(text))


def _open_pdf(data: bytes) -> Any:
    """Open a PDF with pypdf, decrypting it with an empty password if needed."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except Exception as exc:  # any parser failure means corrupt
        raise _Skip(f"corrupt PDF: {_short_error(exc)}") from None
    try:
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise _Skip(f"corrupt PDF: {_short_error(exc)}") from None
    if encrypted:
        try:
            opened = reader.decrypt("")
        except Exception:  # unsupported or wrong password
            raise _Skip("encrypted PDF") from None
        if not opened:
            raise _Skip("encrypted PDF")
    return reader


def _pdf_pages(reader: Any) -> tuple[list[str], str | None]:
    """Text of each page, and the first error met (if any)."""
    try:
        pages = list(reader.pages)
    except Exception as exc:
        return [], _short_error(exc)
    texts: list[str] = []
    error: str | None = None
    for page in pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception as exc:  # keep the readable pages
            error = error or _short_error(exc)
    if not pages and error is None:
        error = "no pages"
    return texts, error


_PLACEHOLDER_TITLE = re.compile(
    r"^(?:untitled.*|microsoft (?:word|powerpoint) - .*|.*\.(?:docx?|pdf|txt|rtf|odt|pptx?))$",
    re.IGNORECASE,
)


def _pdf_title(reader: Any) -> str | None:
    """The document info /Title, unless empty or a placeholder."""
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except Exception:  # info is optional
        return None
    title = _clean_field(str(title)) if title is not None else None
    if not title or _PLACEHOLDER_TITLE.match(title):
        return None
    return title


# Metadata

_TITLE_BYLINE = re.compile(
    r"^(?P<title>.*?\S)\s*\(\s*(?P<author>[^()/]{2,60}?)\s*/\s*(?P<outlet>[^()/]{2,60}?)\s*\)$"
)
_BYLINE = re.compile(r"^(?:By|BY)[:\s]\s*(?P<name>[^,|•·–—(]+?)\s*(?:[,|•·–—(]\s*(?P<rest>.*))?$")
_NAME_LINKS = {"and", "de", "van", "von", "der", "den", "da", "di", "du", "del", "la", "le", "bin", "al", "&"}
_DATE_LABEL = re.compile(
    r"^(?:published|posted|date|dated|updated|last updated|first published|publication date)"
    r"(?:\s+on)?\s*[:\-–—]?\s*(?P<rest>.+)$",
    re.IGNORECASE,
)
_AGENCY = r"(AFP|Agence France-Presse|Reuters|Associated Press|AP)"
_AGENCY_MENTION = re.compile(
    rf"\(\s*{_AGENCY}\s*\)"
    rf"|\b(?:obtained|seen|reviewed|confirmed) by (?:the )?{_AGENCY}\b"
    rf"|\btold (?:the )?{_AGENCY}\b"
    rf"|\b{_AGENCY} news agency\b"
)
_AGENCY_NAMES = {
    "afp": "AFP",
    "agence france-presse": "AFP",
    "reuters": "Reuters",
    "ap": "AP",
    "associated press": "Associated Press",
}
_TOP_LINES = 15
_AGENCY_SPAN = 3000
_TITLE_LIMIT = 200


def _text_metadata(text: str) -> _Meta:
    """Metadata the text itself gives: 'By' line, dates, news agency."""
    meta = _Meta()
    lines = [line for line in text.split("\n") if line][:_TOP_LINES]
    for line in lines:
        _read_byline(line, meta)
        if not meta.date:
            meta.date = _labelled_date(line) or _dateline_date(line)
    meta.outlet = meta.outlet or _agency(text[:_AGENCY_SPAN])
    return meta


def _finish_title(meta: _Meta) -> None:
    """Split a '(Name / Outlet)' byline off the title and bound its length."""
    if not meta.title:
        return
    title = _strip(" ".join(meta.title.split()))
    match = _TITLE_BYLINE.match(title)
    if match and _looks_like_name(match.group("author")) and len(match.group("outlet").split()) <= 6:
        title = _strip(match.group("title"))
        meta.author = meta.author or _strip(match.group("author"))
        meta.outlet = meta.outlet or _strip(match.group("outlet"))
    if len(title) > _TITLE_LIMIT:
        title = title[:_TITLE_LIMIT].rsplit(" ", 1)[0].rstrip(" ,;:-–—") + "…"
    meta.title = title or None


def _read_byline(line: str, meta: _Meta) -> None:
    """Take author (and date or agency) from a 'By Jane Doe' line."""
    if meta.author:
        return
    match = _BYLINE.match(line)
    if not match:
        return
    name, rest = match.group("name"), match.group("rest") or ""
    agency = _AGENCY_NAMES.get(name.lower())
    if agency:
        meta.outlet = meta.outlet or agency
        return
    if not _looks_like_name(name):
        return
    meta.author = name
    found = _find_date(rest)
    if found and not meta.date:
        meta.date = found[2]
    agency = _AGENCY_NAMES.get(rest.strip(" .)").lower())
    if agency and not meta.outlet:
        meta.outlet = agency


def _looks_like_name(name: str) -> bool:
    """Two to eight capitalised words, as in a person's name."""
    words = name.split()
    if not 2 <= len(words) <= 8 or any(ch.isdigit() for ch in name):
        return False
    capitalised = [w for w in words if w[0].isupper()]
    return bool(capitalised) and all(w[0].isupper() or w.lower() in _NAME_LINKS for w in words)


def _labelled_date(line: str) -> str | None:
    """Date of a 'Published: March 3, 2021' style line."""
    match = _DATE_LABEL.match(line)
    if not match:
        return None
    found = _find_date(match.group("rest"))
    return found[2] if found and found[0] <= 20 else None


_DATELINE_PREFIX = re.compile(r"^[\s(]*(?:[A-Z][\w.'’-]*(?:[ ,]+[A-Z][\w.'’-]*)*)?[\s),:–—-]*$")
_DATELINE_AFTER = re.compile(r"^\s*(?:$|[-–—:|(/]|\d{1,2}:\d{2})")


def _dateline_date(line: str) -> str | None:
    """Date at the start of a dateline, e.g. 'WASHINGTON, March 3, 2021 —'."""
    found = _find_date(line)
    if not found:
        return None
    start, end, iso = found
    if start > 40 or not _DATELINE_PREFIX.match(line[:start]):
        return None
    return iso if _DATELINE_AFTER.match(line[end:]) else None


def _agency(text: str) -> str | None:
    """News agency a text credits, e.g. '(AFP)' or 'obtained by AFP'."""
    match = _AGENCY_MENTION.search(text)
    if not match:
        return None
    name = next(group for group in match.groups() if group)
    return _AGENCY_NAMES[name.lower()]


_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<year>\d{4})[-/.](?P<mon>\d{1,2})[-/.](?P<day>\d{1,2})(?!\d)"),
    re.compile(
        rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})(?!\d)",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?<!\d)(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?P<year>\d{{4}})(?!\d)",
        re.IGNORECASE,
    ),
)


def _find_date(text: str) -> tuple[int, int, str] | None:
    """The first valid calendar date in ``text``: (start, end, ISO date)."""
    best: tuple[int, int, str] | None = None
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            iso = _iso_date(match)
            if iso:
                if best is None or match.start() < best[0]:
                    best = (match.start(), match.end(), iso)
                break
    return best


def _iso_date(match: re.Match[str]) -> str | None:
    """ISO form of a date match, None when it is not a real date."""
    groups = match.groupdict()
    month = int(groups["mon"]) if groups.get("mon") else _MONTHS.index(groups["month"][:3].lower()) + 1
    try:
        day = dt.date(int(groups["year"]), month, int(groups["day"]))
    except ValueError:
        return None
    return day.isoformat() if 1900 <= day.year <= 2100 else None
