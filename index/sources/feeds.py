"""RSS and Atom feeds: parsing (feedparser, always from bytes fetched here: feedparser
never opens a URL itself) and the state of the followed feeds in the data folder.

`feeds.json` holds, per feed, its title, when it was added and last synced, its last
error, and the items already handled, keyed by guid and by link (`guid:…`, `link:…`):
an item is new only when neither key was seen. Items whose fetch failed for a reason
that may pass (a timeout, a 5xx) are tried again at the next syncs, `MAX_ATTEMPTS` in
all. Every change is a read-modify-write under a file lock, so `feeds add` in one
process and `feeds sync` in another never lose each other's changes.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attache.index.sources.article import _line, normalise_url, write_atomic

FEEDS_FILE = "feeds.json"
MAX_SEEN = 5000  # item keys remembered per feed (oldest forgotten first)
MAX_ATTEMPTS = 3
MAX_ITEMS = 500  # entries read from one feed document


class NotAFeed(Exception):
    """The response is not an RSS or Atom feed."""


@dataclass(frozen=True)
class FeedItem:
    guid: str | None
    link: str | None
    title: str | None
    published: str | None  # YYYY-MM-DD

    @property
    def keys(self) -> list[str]:
        keys = []
        if self.guid:
            keys.append(f"guid:{self.guid}")
        if self.link:
            keys.append(f"link:{normalise_url(self.link)}")
        return keys


def parse_feed(body: bytes, url: str) -> tuple[str | None, list[FeedItem]]:
    """The feed's title and its items, in the feed's order."""
    import feedparser

    parsed = feedparser.parse(bytes(body), response_headers={"content-location": url})
    if not parsed.get("version") and not parsed.entries:
        raise NotAFeed("not an RSS or Atom feed")
    items = []
    for entry in parsed.entries[:MAX_ITEMS]:
        link = entry.get("link")
        if not (isinstance(link, str) and link.lower().startswith(("http://", "https://"))):
            link = None
        guid = entry.get("id")
        guid = _line(guid, 500) if isinstance(guid, str) else None
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = (
            datetime.fromtimestamp(calendar.timegm(stamp), UTC).date().isoformat()
            if stamp else None
        )
        if guid or link:
            items.append(FeedItem(guid, _line(link, 2000), _line(entry.get("title")), published))
    return _line(parsed.feed.get("title")), items


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedState:
    """The followed feeds, in `data_dir/feeds.json`."""

    def __init__(self, data_dir: Path, clock: Callable[[], str] = _now) -> None:
        self.path = data_dir / FEEDS_FILE
        self._clock = clock

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock", timeout=30):
            data = self._read()
            yield data
            write_atomic(self.path, (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode())

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"cannot read {self.path}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("feeds"), dict):
            data = {"feeds": {}}
        return data

    def feeds(self) -> list[dict[str, Any]]:
        """Every followed feed, in the order they were added."""
        return list(self._read()["feeds"].values())

    def get(self, url: str) -> dict[str, Any] | None:
        return self._read()["feeds"].get(normalise_url(url))

    def add(self, url: str, title: str | None) -> bool:
        """Follow a feed; False when it was followed already."""
        key = normalise_url(url)
        with self._locked() as data:
            if key in data["feeds"]:
                return False
            data["feeds"][key] = {
                "url": url, "title": title, "added_at": self._clock(),
                "last_sync": None, "last_error": None, "items": {},
            }
            return True

    def remove(self, url: str) -> bool:
        with self._locked() as data:
            return data["feeds"].pop(normalise_url(url), None) is not None

    def pending(self, url: str, item: FeedItem) -> bool:
        """Whether an item is still to be fetched: not seen by guid or link, or tried
        fewer than MAX_ATTEMPTS times and failed only for reasons that may pass."""
        feed = self.get(url) or {}
        entries = [feed.get("items", {}).get(k) for k in item.keys]
        known = [e for e in entries if e]
        if not known:
            return True
        return all(e.get("status") == "retry" and e.get("attempts", 0) < MAX_ATTEMPTS
                   for e in known)

    def record(self, url: str, item: FeedItem, status: str, detail: str) -> None:
        """Note what became of an item: 'added', 'skipped' or 'retry'."""
        with self._locked() as data:
            feed = data["feeds"].get(normalise_url(url))
            if feed is None:  # removed meanwhile
                return
            items: dict[str, Any] = feed.setdefault("items", {})
            attempts = max((items.get(k, {}).get("attempts", 0) for k in item.keys), default=0)
            entry = {"item": item.keys[0], "status": status, "detail": detail[:300],
                     "at": self._clock(), "attempts": attempts + 1}
            for key in item.keys:
                items.pop(key, None)  # re-inserted last: the newest are kept
                items[key] = entry
            while len(items) > MAX_SEEN:
                items.pop(next(iter(items)))

    def synced(self, url: str, title: str | None, error: str | None,
               validators: dict[str, str] | None = None) -> None:
        """A sync of the feed ended; `validators` (ETag, Last-Modified) make the next
        fetch conditional (None keeps those it has)."""
        with self._locked() as data:
            feed = data["feeds"].get(normalise_url(url))
            if feed is None:
                return
            feed["last_sync"] = self._clock()
            feed["last_error"] = error
            if title:
                feed["title"] = title
            if validators is not None:
                feed["validators"] = validators

    def validators(self, url: str) -> dict[str, str]:
        feed = self.get(url) or {}
        found = feed.get("validators")
        return {k: v for k, v in found.items() if isinstance(v, str)} \
            if isinstance(found, dict) else {}


def parse_every(text: str) -> float:
    """Seconds in '90s', '15m', '1h', '1d' (or a bare number of seconds)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip().lower()
    factor = units.get(value[-1:], None)
    number = value[:-1] if factor else value
    try:
        seconds = float(number) * (factor or 1)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (for example 30m, 1h, 1d)") from None
    if not seconds >= 10:  # also refuses nan
        raise ValueError("feeds are synced at most every 10 seconds (for example 30m, 1h)")
    return seconds
