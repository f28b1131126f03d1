"""From a fetched page to a Markdown file with front matter in the documents folder.

HTML goes through trafilatura (the article body, without navigation, asides, footers
or cookie text, and the page's title, author, site name and date); PDF and plain text
through the same loader as files in the folder. The article is saved as
`web/<outlet>/<date>-<slug>.md`:

    ---
    title: "…"
    url: "https://…"
    outlet: "…"
    author: "…"
    date: "2026-11-20"
    fetched_at: "2026-11-24T15:02:11+00:00"
    content_sha256: "…"
    ---

    The article's paragraphs, one blank line apart.

Values are JSON strings on one line (valid YAML too), so nothing a page says can add a
key or end the front matter. File and folder names are made of `a-z`, `0-9` and `-`.
`Library` knows what the folder already holds (by URL and by content hash) so that
nothing is saved twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from attache.index.sources.fetch import Fetched

WEB_FOLDER = "web"
MAX_SLUG = 60
MAX_TITLE = 300
MAX_FIELD = 200
FRONT_MATTER_SCAN = 8192  # bytes of a file read to find its front matter
FRONT_FIELDS = ("title", "url", "outlet", "author", "date", "fetched_at", "content_sha256")
# query parameters that only track where a click came from
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|mc_cid|mc_eid|igshid|ref_src)$", re.I)


class NoArticle(Exception):
    """Nothing usable on the page, with a short reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Article:
    url: str
    title: str
    text: str  # paragraphs separated by blank lines
    outlet: str
    author: str | None
    date: str | None  # published, YYYY-MM-DD
    fetched_at: str

    @property
    def content_sha256(self) -> str:
        return content_hash(self.text)


def content_hash(text: str) -> str:
    """SHA-256 of a text with its whitespace normalised."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def normalise_url(url: str) -> str:
    """The form of a URL used to tell whether it was seen: scheme and host lower-case,
    no default port, no fragment, no tracking parameters."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        netloc = f"[{host}]" + netloc[len(host):]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _line(value: object, limit: int = MAX_FIELD) -> str | None:
    """One line of printable text, bounded, or None."""
    if not isinstance(value, str):
        return None
    text = "".join(ch if ch.isprintable() else " " for ch in value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def slug(text: str, limit: int = MAX_SLUG) -> str:
    """`a-z0-9-` only: 'Pompeo approves CSET!' -> 'pompeo-approves-cset'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0] if "-" in words[:limit] else words[:limit]
    return words.strip("-")


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _paragraphs(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    return "\n\n".join(line for line in lines if line)


def _decode(fetched: Fetched) -> str | bytes:
    if fetched.charset:
        try:
            return fetched.body.decode(fetched.charset, errors="replace")
        except LookupError:
            pass
    return fetched.body  # trafilatura detects the encoding


def _from_html(fetched: Fetched) -> tuple[str, dict[str, str | None]]:
    import trafilatura

    html = _decode(fetched)
    found = None
    for precise in (True, False):  # precision first; recall when that finds nothing
        found = trafilatura.bare_extraction(
            html,
            url=fetched.url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            favor_precision=precise,
            favor_recall=not precise,
        )
        if found is not None and (found.text or "").strip():
            break
    if found is None or not (found.text or "").strip():
        raise NoArticle("no article text found on the page")
    meta = {
        "title": _line(found.title, MAX_TITLE),
        "author": _line(found.author),
        "outlet": _line(found.sitename),
        "date": found.date if isinstance(found.date, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", found.date or "") else None,
    }
    text = _paragraphs(found.text)
    first, _, rest = text.partition("\n\n")
    if rest and meta["title"] and first.strip().lower() == meta["title"].lower():
        text = rest  # the headline is the title, not the first paragraph
    return text, meta


def _from_file(fetched: Fetched) -> tuple[str, dict[str, str | None]]:
    from attache.index.documents import Skipped, SourceFile, load

    name = PurePosixPath(urlsplit(fetched.url).path).name or "document"
    suffix = ".pdf" if fetched.kind == "pdf" else ".txt"
    source = slug(PurePosixPath(name).stem) + suffix if slug(PurePosixPath(name).stem) else "document" + suffix
    doc = load(SourceFile(Path(source), source, len(fetched.body)), fetched.body)
    if isinstance(doc, Skipped):
        raise NoArticle(doc.reason)
    title = doc.title if doc.title != PurePosixPath(source).stem else None
    return _paragraphs(doc.text), {
        "title": _line(title, MAX_TITLE), "author": _line(doc.author),
        "outlet": _line(doc.outlet), "date": doc.date,
    }


def extract(fetched: Fetched, now: datetime | None = None) -> Article:
    """The article in a fetched response, or NoArticle."""
    if fetched.kind == "html":
        text, meta = _from_html(fetched)
    elif fetched.kind in ("pdf", "text"):
        text, meta = _from_file(fetched)
    else:
        raise NoArticle(f"not an article: {fetched.kind}")
    if not text.strip():
        raise NoArticle("no article text found")
    host = _host(fetched.url)
    title = meta["title"] or _line(text.split("\n\n", 1)[0], 120) or host
    return Article(
        url=fetched.url,
        title=title,
        text=text,
        outlet=meta["outlet"] or host,
        author=meta["author"],
        date=meta["date"],
        fetched_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
    )


def render(article: Article) -> str:
    """The Markdown file: front matter, a blank line, the paragraphs."""
    fields = {
        "title": article.title,
        "url": article.url,
        "outlet": article.outlet,
        "author": article.author,
        "date": article.date,
        "fetched_at": article.fetched_at,
        "content_sha256": article.content_sha256,
    }
    lines = ["---"]
    for key, value in fields.items():
        if value:
            lines.append(f"{key}: {json.dumps(_line(value, 2048), ensure_ascii=False)}")
    lines.append("---")
    body = "\n\n".join(escape_markdown(p) for p in article.text.strip().split("\n\n"))
    return "\n".join(lines) + "\n\n" + body + "\n"


# Characters that start inline Markdown (emphasis, code, links, HTML, entities, tables,
# strikethrough, escapes), and what makes a paragraph's start a block (a heading, a
# quote, a list item, a thematic break, a fence).
_INLINE = re.compile(r"([\\`*_\[\]<>&|~!])")
_BLOCK_START = re.compile(r"^(\s*)([#>+\-=]|(\d{1,9})([.)]))")


def escape_markdown(paragraph: str) -> str:
    """A paragraph of plain article text as Markdown that reads back as the same text:
    "# 1 priority", "*not emphasis*", "<b>" and "&amp;" stay as written."""
    text = _INLINE.sub(r"\\\1", paragraph)

    def block(match: re.Match[str]) -> str:
        indent, marker, number, delimiter = match.groups()
        return indent + (f"{number}\\{delimiter}" if number else "\\" + marker)

    return _BLOCK_START.sub(block, text)


def read_front_matter(path: Path) -> dict[str, str]:
    """The front matter fields of a Markdown file written by `render` (or by hand)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(FRONT_MATTER_SCAN).decode("utf-8", errors="replace")
    except OSError:
        return {}
    lines = head.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if line.strip() in ("---", "..."):
            return fields
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep or key not in FRONT_FIELDS or not value:
            continue
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                value = value.strip('"')
        fields[key] = str(value).strip()
    return {}  # no closing line: not front matter


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a hidden temporary file in the same folder (never
    seen half-written by a rebuild or a watcher, which ignore hidden files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".attache-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class Library:
    """What the documents folder holds already, by URL and by content hash: read from
    the front matter of its Markdown files on first use, then kept up to date."""

    def __init__(self, docs_dir: Path) -> None:
        self.docs_dir = docs_dir
        self._urls: dict[str, str] | None = None
        self._hashes: dict[str, str] = {}
        self._lock = threading.RLock()

    def _markdown_files(self) -> Iterator[Path]:
        if not self.docs_dir.is_dir():
            return
        for folder, dirs, files in os.walk(self.docs_dir):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith(".") and name.lower().endswith((".md", ".markdown")):
                    yield Path(folder) / name

    def _load(self) -> dict[str, str]:
        if self._urls is None:
            self._urls, self._hashes = {}, {}
            for path in self._markdown_files():
                fields = read_front_matter(path)
                source = path.relative_to(self.docs_dir).as_posix()
                if fields.get("url"):
                    self._urls.setdefault(normalise_url(fields["url"]), source)
                if fields.get("content_sha256"):
                    self._hashes.setdefault(fields["content_sha256"], source)
        return self._urls

    def refresh(self) -> None:
        with self._lock:
            self._urls = None

    def _exists(self, source: str | None) -> str | None:
        return source if source and (self.docs_dir / source).is_file() else None

    def by_url(self, url: str) -> str | None:
        """The document saved from `url`, if any (its path in the folder)."""
        with self._lock:
            return self._exists(self._load().get(normalise_url(url)))

    def by_content(self, sha: str) -> str | None:
        with self._lock:
            self._load()
            return self._exists(self._hashes.get(sha))

    def path_for(self, article: Article) -> Path:
        """A new file name: web/<outlet>/<date>-<slug>.md, numbered if taken."""
        outlet = slug(article.outlet, 40) or "unknown"
        date = article.date or article.fetched_at[:10]
        stem = f"{date}-{slug(article.title) or 'article'}"
        folder = self.docs_dir / WEB_FOLDER / outlet
        path = folder / f"{stem}.md"
        number = 2
        while path.exists():
            path = folder / f"{stem}-{number}.md"
            number += 1
        return path

    def save(self, article: Article) -> str:
        """Write the article; returns its path relative to the documents folder."""
        with self._lock:
            self._load()
            path = self.path_for(article)
            write_atomic(path, render(article).encode("utf-8"))
            source = path.relative_to(self.docs_dir).as_posix()
            assert self._urls is not None
            self._urls[normalise_url(article.url)] = source
            self._hashes[article.content_sha256] = source
            return source

    def remember(self, url: str, source: str) -> None:
        """Note that `url` leads to the document `source` (a redirect's first URL)."""
        with self._lock:
            self._load()
            assert self._urls is not None
            self._urls.setdefault(normalise_url(url), source)
