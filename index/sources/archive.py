"""Keeping the archive current: articles from URLs, uploaded files and feed items go
into the documents folder, then the index is brought up to date (incrementally).

Front ends call one `Archive` (through `Attache.archive()`); it owns the fetcher (and so
the per-host pauses), knows what the folder holds already, and reports what was added,
what was skipped and why, and the rebuild.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from attache.errors import DocumentsFolderError, NoUsableDocuments, RebuildBusy, UsageError
from attache.index.sources.article import (
    Library,
    NoArticle,
    _line,
    content_hash,
    extract,
    slug,
    write_atomic,
)
from attache.index.sources.feeds import FeedItem, FeedState, NotAFeed, parse_feed
from attache.index.sources.fetch import FEED_KINDS, FetchFailed, Fetcher, NotModified

if TYPE_CHECKING:
    from attache.index.settings import Settings
    from attache.models import AddResult, RebuildReport, SyncResult

log = logging.getLogger("attache.sources")

UPLOADS_FOLDER = "uploads"
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
MAX_NEW_PER_FEED = 20  # items fetched from one feed per sync; the rest wait for the next
MAX_URLS = 50  # URLs in one `add`


@dataclass
class AddReport:
    """What an add, an upload or a sync did."""

    added: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    index: RebuildReport | None = None  # the rebuild, when one ran
    index_error: str | None = None  # why the index was not brought up to date
    index_busy: bool = False  # another rebuild held the lock

    def to_result(self) -> AddResult:
        """The `add --json` contract."""
        from attache.models import AddResult

        return AddResult(added=self.added, skipped=self.skipped, index=self.index,  # type: ignore[arg-type]
                         index_error=self.index_error)


@dataclass
class SyncReport(AddReport):
    feeds: list[dict[str, Any]] = field(default_factory=list)

    def to_result(self) -> SyncResult:  # type: ignore[override]
        """The `feeds sync --json` contract."""
        from attache.models import SyncResult

        return SyncResult(feeds=self.feeds, added=self.added, skipped=self.skipped,  # type: ignore[arg-type]
                          index=self.index, index_error=self.index_error)


class FeedError(UsageError):
    """A feed that cannot be followed, with a reason for people."""

    public_message = "That URL cannot be followed as a feed."


@dataclass(frozen=True)
class _Outcome:
    status: str  # added, skipped, retry
    entry: dict[str, str]


class Archive:
    """Adds documents to `settings.docs_dir` and keeps the index current."""

    def __init__(
        self,
        settings: Settings,
        fetcher: Fetcher | None = None,
        rebuild: Callable[[], RebuildReport] | None = None,
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher or Fetcher.from_settings(settings)
        self._rebuild = rebuild
        self.library = Library(settings.docs_dir)
        self.feed_state = FeedState(settings.data_dir)
        self._lock = threading.Lock()  # one add or sync at a time in this process

    # --------------------------------------------------------------- articles

    def add(self, urls: Iterable[str], reindex: bool = True) -> AddReport:
        """Fetch and save each URL, then bring the index up to date."""
        report = AddReport()
        urls = [u.strip() for u in urls if u and u.strip()]
        with self._lock:
            self.library.refresh()  # files may have been added or removed by hand
            for number, url in enumerate(urls):
                shown = _line(url, 2000) or ""
                if number >= MAX_URLS:
                    report.skipped.append({"url": shown, "reason": f"more than {MAX_URLS} URLs at once"})
                    continue
                outcome = self._add_one(url)
                (report.added if outcome.status == "added" else report.skipped).append(outcome.entry)
            if reindex:
                self._reindex(report)
        return report

    def _add_one(self, url: str, title_hint: str | None = None) -> _Outcome:
        shown = _line(url, 2000) or ""
        saved = self.library.by_url(url)
        if saved:
            return _Outcome("skipped", {"url": shown, "reason": f"already saved as {saved}"})
        try:
            fetched = self.fetcher.fetch(url)
            article = extract(fetched)
        except FetchFailed as failed:
            status = "retry" if failed.transient else "skipped"
            return _Outcome(status, {"url": shown, "reason": failed.reason})
        except NoArticle as empty:
            return _Outcome("skipped", {"url": shown, "reason": empty.reason})
        saved = self.library.by_url(fetched.url)
        if saved:
            self.library.remember(url, saved)
            return _Outcome("skipped", {"url": shown, "reason": f"already saved as {saved}"})
        saved = self.library.by_content(article.content_sha256)
        if saved:
            return _Outcome("skipped", {"url": shown, "reason": f"same content as {saved}"})
        path = self.library.save(article)
        self.library.remember(url, path)
        log.debug("saved %s as %s", fetched.url, path)
        return _Outcome("added", {"url": fetched.url, "path": path, "title": article.title})

    # ---------------------------------------------------------------- uploads

    def upload(self, filename: str, data: bytes, reindex: bool = True) -> AddReport:
        """Save an uploaded file (.txt, .md, .html, .pdf) under `uploads/`, with the same
        limits as files in the folder, then bring the index up to date."""
        from attache.index.documents import Skipped, SourceFile, load

        report = AddReport()
        name = _line(PurePosixPath(filename.replace("\\", "/")).name, 200) or "upload"
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            report.skipped.append({"file": name, "reason": (
                f"unsupported type '{suffix}': send a .txt, .md, .html or .pdf file"
                if suffix else "unsupported type (no extension): send a .txt, .md, .html or .pdf file"
            )})
            return report
        if len(data) > self.settings.max_file_bytes:
            report.skipped.append({"file": name, "reason": (
                f"larger than the {self.settings.max_file_mb:g} MB limit (ATTACHE_MAX_FILE_MB)"
            )})
            return report
        stem = slug(PurePosixPath(name).stem) or "upload"
        doc = load(SourceFile(Path(stem + suffix), stem + suffix, len(data)), data)
        if isinstance(doc, Skipped):
            report.skipped.append({"file": name, "reason": doc.reason})
            return report
        with self._lock:
            self.library.refresh()
            folder = self.settings.docs_dir / UPLOADS_FOLDER
            digest = hashlib.sha256(data).hexdigest()
            same = _same_bytes(folder, digest, len(data)) or self.library.by_content(
                content_hash(doc.text))
            if same:
                report.skipped.append({"file": name, "reason": f"already saved as {same}"})
                return report
            path = folder / f"{stem}{suffix}"
            number = 2
            while path.exists():
                path = folder / f"{stem}-{number}{suffix}"
                number += 1
            write_atomic(path, data)
            source = path.relative_to(self.settings.docs_dir).as_posix()
            log.debug("saved upload %s as %s", name, source)
            report.added.append({"file": name, "path": source, "title": doc.title})
            if reindex:
                self._reindex(report)
        return report

    # ------------------------------------------------------------------ feeds

    def feeds(self) -> list[dict[str, Any]]:
        """The followed feeds: url, title, added_at, last_sync, last_error, seen."""
        return [
            {
                "url": feed["url"], "title": feed.get("title"),
                "added_at": feed.get("added_at"), "last_sync": feed.get("last_sync"),
                "last_error": feed.get("last_error"),
                "seen": len({v.get("item") for v in feed.get("items", {}).values()}),
            }
            for feed in self.feed_state.feeds()
        ]

    def follow(self, url: str) -> dict[str, Any]:
        """Start following a feed, after checking that the URL serves one."""
        url = url.strip()
        title, items, _ = self._read_feed(url)
        added = self.feed_state.add(url, title)
        return {"url": url, "title": title, "items": len(items), "added": added}

    def unfollow(self, url: str) -> bool:
        return self.feed_state.remove(url.strip())

    def _read_feed(
        self, url: str, validators: dict[str, str] | None = None
    ) -> tuple[str | None, list[FeedItem], dict[str, str]]:
        """The feed's title and items, and the validators for a conditional GET next
        time; NotModified when `validators` still hold."""
        try:
            fetched = self.fetcher.fetch(url, kinds=FEED_KINDS, validators=validators)
            return (*parse_feed(fetched.body, fetched.url), fetched.validators)
        except NotModified:
            raise
        except FetchFailed as failed:
            raise FeedError(failed.reason) from None
        except NotAFeed as exc:
            raise FeedError(str(exc)) from None

    def sync(self, reindex: bool = True, stop: threading.Event | None = None) -> SyncReport:
        """Fetch every new item of every followed feed as `add` does, then bring the
        index up to date once. `stop` ends it between two items."""
        report = SyncReport()
        stop = stop or threading.Event()
        with self._lock:
            self.library.refresh()
            for feed in self.feed_state.feeds():
                if stop.is_set():
                    break
                report.feeds.append(self._sync_feed(feed["url"], report, stop))
            if reindex:
                self._reindex(report)
        return report

    def _sync_feed(self, url: str, report: SyncReport, stop: threading.Event) -> dict[str, Any]:
        summary: dict[str, Any] = {"url": url, "new": 0, "seen": 0, "errors": [],
                                   "not_modified": False}
        try:
            title, items, validators = self._read_feed(url, self.feed_state.validators(url))
        except NotModified:
            summary["not_modified"] = True  # the server says nothing changed: no items read
            self.feed_state.synced(url, None, None)
            return summary
        except FeedError as exc:
            summary["errors"].append(str(exc))
            self.feed_state.synced(url, None, str(exc))
            log.warning("feed %s: %s", url, exc)
            return summary
        fresh = []
        for item in items:
            if self.feed_state.pending(url, item):
                fresh.append(item)
            else:
                summary["seen"] += 1
        summary["new"] = len(fresh)
        for item in fresh[:MAX_NEW_PER_FEED]:
            if stop.is_set():
                break
            if not item.link:
                self.feed_state.record(url, item, "skipped", "the item has no link")
                continue
            outcome = self._add_one(item.link)
            self.feed_state.record(url, item, outcome.status, outcome.entry.get("reason", ""))
            if outcome.status == "added":
                report.added.append({**outcome.entry, "feed": url})
            else:
                report.skipped.append({**outcome.entry, "feed": url})
                if outcome.status == "retry":
                    summary["errors"].append(f"{outcome.entry['url']}: {outcome.entry['reason']}")
        if len(fresh) > MAX_NEW_PER_FEED:
            log.info("feed %s: %d more new items wait for the next sync",
                     url, len(fresh) - MAX_NEW_PER_FEED)
        # validators only when every item was handled: otherwise a 304 next time would
        # hide the items still to retry
        complete = not summary["errors"] and len(fresh) <= MAX_NEW_PER_FEED \
            and not stop.is_set()
        self.feed_state.synced(url, title, "; ".join(summary["errors"])[:500] or None,
                               validators if complete else {})
        return summary

    # ------------------------------------------------------------------ index

    def _reindex(self, report: AddReport) -> None:
        """Bring the index up to date when something was added."""
        if not report.added or self._rebuild is None:
            return
        try:
            report.index = self._rebuild()
        except RebuildBusy as exc:
            report.index_error, report.index_busy = str(exc), True
        except (DocumentsFolderError, NoUsableDocuments) as exc:
            report.index_error = str(exc)


def _same_bytes(folder: Path, digest: str, size: int) -> str | None:
    """A file in `folder` with exactly these bytes, as a path relative to its parent."""
    if not folder.is_dir():
        return None
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False) and entry.stat().st_size == size:
            with open(entry.path, "rb") as handle:
                if hashlib.sha256(handle.read()).hexdigest() == digest:
                    return f"{folder.name}/{entry.name}"
    return None
