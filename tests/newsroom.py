"""A small news site on loopback for the tests of `attache add`, feeds and /add: articles
wrapped in site furniture, a feed that changes between syncs, redirects, a 404, a
non-HTML response, oversize responses and a redirect to a private address.

`python tests/newsroom.py` serves it until Ctrl-C (for trying the commands by hand).
"""

from __future__ import annotations

import hashlib
import html
import threading
from dataclasses import dataclass, field
from email.utils import format_datetime
from datetime import UTC, datetime
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    author: str
    date: str  # YYYY-MM-DD
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/news/{self.slug}.html"


KENYA = Story(
    "kenya-cyber-pact",
    "United States and Kenya sign cyber capacity pact",
    "Amina Otieno",
    "2026-11-18",
    (
        "The United States and Kenya signed a memorandum on cyber capacity building in "
        "Nairobi on Tuesday, the State Department said.",
        "The agreement commits $12 million over three years to train 400 Kenyan officials "
        "in incident response and the protection of undersea cable landing stations.",
        "Officials from both governments said the first training cohort would begin in "
        "Mombasa in February.",
    ),
)
CABLES = Story(
    "pacific-cables",
    "Pacific islands win funding to repair undersea cables",
    "Leilani Kahale",
    "2026-11-20",
    (
        "Five Pacific island states will share a $30 million fund to repair damaged undersea "
        "cables, the Quad partners announced in Suva.",
        "The fund will keep two cable repair ships on standby in Fiji for the next decade.",
    ),
)
QUANTUM = Story(
    "quantum-talks",
    "Allies open talks on quantum-safe encryption standards",
    "Henrik Dahl",
    "2026-11-22",
    (
        "Diplomats from nine allied countries opened talks in Oslo on common standards for "
        "quantum-safe encryption in government networks.",
        "The Oslo talks are expected to produce a joint migration timetable by June 2027.",
    ),
)
STORIES = (KENYA, CABLES, QUANTUM)

FURNITURE_WORDS = ("Subscribe to our newsletter", "We use cookies", "All rights reserved",
                   "Most read", "Home", "Sign in")


def article_page(story: Story) -> str:
    """A page with navigation, a cookie banner, an aside, a newsletter box and a footer
    around the article."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(story.title)} | The Meridian Ledger</title>
<meta property="og:site_name" content="The Meridian Ledger">
<meta property="og:title" content="{html.escape(story.title)}">
<meta name="author" content="{html.escape(story.author)}">
<meta property="article:published_time" content="{story.date}T09:30:00Z">
<script>window.analytics = {{track: function () {{}}}};</script>
<style>nav {{ display: flex; }}</style>
</head><body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
<button>Accept all cookies</button></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/tech">Technology</a></li><li><a href="/login">Sign in</a></li></ul></nav></header>
<main><article>
<h1>{html.escape(story.title)}</h1>
<p class="byline">By {html.escape(story.author)}</p>
{body}
</article>
<aside class="most-read"><h2>Most read</h2><ul><li><a href="/a">Celebrity chef opens
floating restaurant</a></li><li><a href="/b">Ten gadgets for the holidays</a></li></ul></aside>
<div class="newsletter"><p>Subscribe to our newsletter for the latest headlines.</p></div>
</main>
<footer><p>© 2026 The Meridian Ledger. All rights reserved.</p>
<a href="/privacy">Privacy policy</a> <a href="/terms">Terms of use</a></footer>
</body></html>"""


def rss(base: str, stories: list[Story], extra: list[tuple[str, str, str]] = ()) -> str:  # type: ignore[assignment]
    """An RSS 2.0 feed of `stories` (newest first), plus (guid, title, link) extras."""
    items = []
    for story in reversed(stories):
        stamp = format_datetime(datetime.fromisoformat(story.date).replace(hour=9, tzinfo=UTC))
        items.append(
            f"<item><title>{html.escape(story.title)}</title>"
            f"<link>{base}{story.path}</link><guid isPermaLink=\"false\">ledger-{story.slug}</guid>"
            f"<pubDate>{stamp}</pubDate></item>"
        )
    for guid, title, link in extra:
        items.append(f"<item><title>{html.escape(title)}</title><link>{html.escape(link)}</link>"
                     f"<guid isPermaLink=\"false\">{html.escape(guid)}</guid></item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>The Meridian Ledger: Cyber diplomacy</title>"
        f"<link>{base}/</link><description>News</description>{''.join(items)}</channel></rss>"
    )


@dataclass
class Newsroom:
    """The site: `url(path)`, `publish(story)` to change the feed, `hits` per path."""

    server: HTTPServer
    published: list[Story] = field(default_factory=lambda: [KENYA])
    feed_extras: list[tuple[str, str, str]] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    user_agents: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    not_modified: int = 0  # feed requests answered 304
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def publish(self, story: Story) -> None:
        with self._lock:
            self.published.append(story)

    def _count(self, request: Request) -> None:
        with self._lock:
            self.hits[request.path] = self.hits.get(request.path, 0) + 1
            self.user_agents.append(request.headers.get("User-Agent", ""))
            self.hosts.append(request.headers.get("Host", ""))

    def handle(self, request: Request) -> Response:
        self._count(request)
        path = request.path
        for story in STORIES:
            if path == story.path:
                return Response(article_page(story), content_type="text/html; charset=utf-8")
        if path == "/news/kenya-cyber-pact-copy.html":  # the same article at another address
            return Response(article_page(KENYA), content_type="text/html; charset=utf-8")
        if path == "/feed.xml":
            with self._lock:
                body = rss(self.base, list(self.published), list(self.feed_extras))
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == etag:
                with self._lock:
                    self.not_modified += 1
                return Response("", status=304, headers={"ETag": etag})
            return Response(body, content_type="application/rss+xml; charset=utf-8",
                            headers={"ETag": etag})
        if path == "/moved":
            return Response("", status=301, headers={"Location": KENYA.path})
        if path.startswith("/hop/"):
            n = int(path.rsplit("/", 1)[1])
            target = f"/hop/{n + 1}" if n < 10 else KENYA.path
            return Response("", status=302, headers={"Location": target})
        if path == "/to-private":
            return Response("", status=302,
                            headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        if path == "/to-ten":
            return Response("", status=307, headers={"Location": "http://10.20.30.40/intranet"})
        if path == "/down":
            return Response("Service Unavailable", status=503, content_type="text/plain")
        if path == "/logo.png":
            return Response(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png")
        if path == "/huge.html":  # declares its length
            return Response("<p>" + "spam " * 400_000 + "</p>", content_type="text/html")
        if path == "/endless.html":  # no length: streamed until the reader gives up
            def chunks() -> Any:
                yield b"<html><body><p>"
                for _ in range(4000):
                    yield b"more text " * 100
            return Response(chunks(), content_type="text/html")
        if path == "/statement.txt":
            return Response(
                "Joint statement on undersea cable security\n\n"
                "The governments of Chile and New Zealand agreed on 21 November 2026 to share "
                "warnings about threats to the Humboldt undersea cable within 24 hours.\n",
                content_type="text/plain; charset=utf-8",
            )
        if path == "/empty.html":
            return Response("<html><head><title>Nothing</title></head><body></body></html>",
                            content_type="text/html")
        return Response("<h1>Not Found</h1>", status=404, content_type="text/html")


def start() -> Newsroom:
    server = HTTPServer(host="127.0.0.1", port=0)
    newsroom = Newsroom(server)
    from pytest_httpserver.httpserver import URIPattern

    class Anything(URIPattern):
        def match(self, uri: str) -> bool:
            return True

    server.expect_request(Anything()).respond_with_handler(newsroom.handle)
    server.start()
    return newsroom


if __name__ == "__main__":
    import time

    site = start()
    print(f"serving the newsroom on {site.base} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        site.server.stop()
