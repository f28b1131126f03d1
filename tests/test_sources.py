"""Keeping the archive current: fetching safely, saving articles, feeds, uploads, and the
`add` / `feeds` commands, against a real news site on loopback (tests/newsroom.py)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import cli_json
from newsroom import CABLES, FURNITURE_WORDS, KENYA, QUANTUM, Newsroom

from attache.index.sources.archive import Archive
from attache.index.sources.article import Library, normalise_url, read_front_matter, slug
from attache.index.sources.feeds import parse_every
from attache.index.sources.fetch import (
    FetchFailed,
    Fetcher,
    HostRateLimiter,
    address_problem,
)

LOOPBACK_ONLY = ["127.0.0.1/32"]


def fetcher(**options: Any) -> Fetcher:
    values: dict[str, Any] = {"host_interval": 0.0, "timeout": 10.0}
    values.update(options)
    return Fetcher(**values)


def refusal(call: Any) -> str:
    with pytest.raises(FetchFailed) as caught:
        call()
    return caught.value.reason


# ------------------------------------------------------------------ addresses


@pytest.mark.parametrize("address, problem", [
    ("127.0.0.1", "a loopback address"),
    ("::1", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.9", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("fd00::5", "a private address"),
    ("::ffff:10.0.0.1", "a private address"),
    ("::ffff:127.0.0.1", "a loopback address"),
    ("2002:7f00:1::", "a loopback address"),  # 6to4 around 127.0.0.1
    ("100.64.0.1", "not a public address"),  # carrier-grade NAT
    ("0.0.0.0", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("93.184.216.34", None),
    ("2606:4700::1111", None),
])
def test_address_classes(address: str, problem: str | None) -> None:
    assert address_problem(ipaddress.ip_address(address)) == problem


def test_loopback_is_refused_without_the_setting_and_never_contacted(newsroom: Newsroom) -> None:
    reason = refusal(lambda: fetcher().fetch(newsroom.url(KENYA.path)))
    assert reason.startswith("refused: 127.0.0.1 is a loopback address")
    assert "ATTACHE_FETCH_ALLOW_PRIVATE" in reason
    assert newsroom.hits == {}


def test_a_name_is_checked_on_every_address_it_resolves_to(newsroom: Newsroom) -> None:
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return {"ledger.test": ["127.0.0.1"], "mixed.test": ["93.184.216.34", "10.0.0.7"]}[host]

    port = newsroom.server.port
    reason = refusal(lambda: fetcher(resolver=resolver).fetch(f"http://ledger.test:{port}/x"))
    assert reason.startswith("refused: ledger.test (127.0.0.1) is a loopback address")
    reason = refusal(lambda: fetcher(resolver=resolver, allow_networks=LOOPBACK_ONLY)
                     .fetch(f"http://mixed.test:{port}/x"))
    assert reason.startswith("refused: mixed.test (10.0.0.7) is a private address")
    assert newsroom.hits == {}


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    newsroom: Newsroom,
) -> None:
    """The test network guard fails any lookup of `ledger.test` by the system resolver, so
    this fetch succeeds only because the connection is made to the address checked here,
    resolved once."""
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    port = newsroom.server.port
    got = fetcher(resolver=resolver, allow_networks=LOOPBACK_ONLY).fetch(
        f"http://ledger.test:{port}{KENYA.path}")
    assert got.kind == "html" and got.url == f"http://ledger.test:{port}{KENYA.path}"
    assert lookups == ["ledger.test"]
    assert newsroom.hosts == [f"ledger.test:{port}"]
    assert newsroom.user_agents[0].startswith("Attache/")


def test_every_redirect_is_checked_again(newsroom: Newsroom) -> None:
    trusting_loopback = fetcher(allow_networks=LOOPBACK_ONLY)
    reason = refusal(lambda: trusting_loopback.fetch(newsroom.url("/to-private")))
    assert reason.startswith("refused: 169.254.169.254 is a link-local address")
    reason = refusal(lambda: trusting_loopback.fetch(newsroom.url("/to-ten")))
    assert reason.startswith("refused: 10.20.30.40 is a private address")
    # with the setting, the redirect is followed (and fails to connect: nothing is there)
    assert newsroom.hits == {"/to-private": 1, "/to-ten": 1}


def test_redirects_404_types_and_sizes(newsroom: Newsroom) -> None:
    web = fetcher(allow_private=True, max_bytes=200_000)
    moved = web.fetch(newsroom.url("/moved"))
    assert moved.url == newsroom.url(KENYA.path) and moved.requested == newsroom.url("/moved")
    assert refusal(lambda: web.fetch(newsroom.url("/hop/0"))) == "more than 5 redirects"
    assert newsroom.hits["/hop/5"] == 1 and "/hop/6" not in newsroom.hits
    assert refusal(lambda: web.fetch(newsroom.url("/missing"))) == "HTTP 404 NOT FOUND"
    assert refusal(lambda: web.fetch(newsroom.url("/logo.png"))).startswith(
        "unsupported content type 'image/png'")
    assert refusal(lambda: web.fetch(newsroom.url("/huge.html"))).startswith(
        "too large: 1.9 MB, more than the 195 KB limit")
    assert refusal(lambda: web.fetch(newsroom.url("/endless.html"))).startswith(
        "too large: more than the 195 KB limit")
    assert refusal(lambda: web.fetch("ftp://127.0.0.1/file")) == "only http and https URLs are fetched"
    assert refusal(lambda: web.fetch("http://user:pw@127.0.0.1/")).startswith("URLs with a user name")
    assert refusal(lambda: web.fetch(newsroom.url("/feed.xml"))).startswith(
        "unsupported content type 'application/rss+xml'")


def test_host_rate_limit_spaces_requests_to_one_host() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = HostRateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    limiter.wait("a.example")
    limiter.wait("b.example")
    limiter.wait("a.example")
    now[0] += 0.5
    limiter.wait("a.example")
    assert slept == [2.0, 1.5]


def test_urls_slugs_and_durations() -> None:
    assert normalise_url("HTTPS://Example.COM:443/a?utm_source=x&id=3#top") == "https://example.com/a?id=3"
    assert normalise_url("http://example.com") == "http://example.com/"
    assert slug("Pompeo approves CSET! — Ünïcode/../..") == "pompeo-approves-cset-unicode"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert parse_every("1h") == 3600 and parse_every("30m") == 1800 and parse_every("90") == 90
    for bad in ("soon", "1s", "nan", "-1h"):
        with pytest.raises(ValueError):
            parse_every(bad)


# -------------------------------------------------------------------- articles


def test_add_saves_the_article_without_site_furniture(newsroom: Newsroom, make_settings) -> None:
    settings = make_settings(fetch_allow_private=True, fetch_host_interval=0)
    report = Archive(settings).add([newsroom.url(KENYA.path)], reindex=False)
    assert report.skipped == [] and report.index is None
    [added] = report.added
    assert added["title"] == KENYA.title and added["url"] == newsroom.url(KENYA.path)
    assert added["path"] == (
        "web/the-meridian-ledger/2026-11-18-united-states-and-kenya-sign-cyber-capacity-pact.md")
    saved = settings.docs_dir / added["path"]
    fields = read_front_matter(saved)
    assert {k: fields[k] for k in ("title", "url", "outlet", "author", "date")} == {
        "title": KENYA.title, "url": newsroom.url(KENYA.path), "outlet": "The Meridian Ledger",
        "author": KENYA.author, "date": KENYA.date}
    assert fields["fetched_at"][:2] == "20" and len(fields["content_sha256"]) == 64
    body = saved.read_text(encoding="utf-8").split("---\n", 2)[2]
    assert [p.strip() for p in body.split("\n\n") if p.strip()] == list(KENYA.paragraphs)
    for furniture in FURNITURE_WORDS:
        assert furniture not in body

    # the documents loader reads it back with its url, outlet, author and date
    from attache.index.documents import discover, load, read

    [file], _ = discover(settings.docs_dir, settings.max_file_bytes)
    doc = load(file, read(file))
    assert (doc.title, doc.url, doc.outlet, doc.author, doc.date) == (
        KENYA.title, newsroom.url(KENYA.path), "The Meridian Ledger", KENYA.author, KENYA.date)
    assert doc.text.startswith(KENYA.paragraphs[0])


def test_nothing_is_saved_twice(newsroom: Newsroom, make_settings) -> None:
    settings = make_settings(fetch_allow_private=True, fetch_host_interval=0)
    archive = Archive(settings)
    first = archive.add([newsroom.url(KENYA.path), newsroom.url(KENYA.path)], reindex=False)
    path = first.added[0]["path"]
    assert first.skipped == [{"url": newsroom.url(KENYA.path), "reason": f"already saved as {path}"}]
    assert newsroom.hits[KENYA.path] == 1  # a saved URL is not fetched again

    # a new process (nothing in memory) reads what the folder holds from the front matter
    again = Archive(settings).add([
        newsroom.url(KENYA.path),  # the same URL
        newsroom.url("/moved"),  # a redirect to it
        newsroom.url("/news/kenya-cyber-pact-copy.html"),  # the same article elsewhere
    ], reindex=False)
    assert again.added == []
    assert [s["reason"] for s in again.skipped] == [
        f"already saved as {path}", f"already saved as {path}", f"same content as {path}"]
    assert newsroom.hits[KENYA.path] == 2  # once more, through the redirect
    assert len(list(settings.docs_dir.rglob("*.md"))) == 1

    # a file removed by hand can be added again
    (settings.docs_dir / path).unlink()
    assert Archive(settings).add([newsroom.url(KENYA.path)], reindex=False).added


def test_text_pages_and_empty_pages(newsroom: Newsroom, make_settings) -> None:
    settings = make_settings(fetch_allow_private=True, fetch_host_interval=0)
    report = Archive(settings).add(
        [newsroom.url("/statement.txt"), newsroom.url("/empty.html"), "not a url at all"],
        reindex=False)
    [added] = report.added
    assert added["title"] == "Joint statement on undersea cable security"
    assert added["path"].startswith("web/127-0-0-1/") and added["path"].endswith(
        "-joint-statement-on-undersea-cable-security.md")
    assert [s["reason"] for s in report.skipped] == [
        "no article text found on the page", "only http and https URLs are fetched"]


def test_front_matter_cannot_be_forged_by_page_text(tmp_path: Path) -> None:
    from attache.index.sources.article import Article, render

    hostile = Article(
        url="http://x.example/a", title='Evil"\n---\nurl: "http://attacker.example/"',
        text="Body.\n---\nurl: http://attacker.example/", outlet="X\x1b[31m", author=None,
        date=None, fetched_at="2026-11-24T00:00:00+00:00")
    path = tmp_path / "a.md"
    path.write_text(render(hostile), encoding="utf-8")
    fields = read_front_matter(path)
    assert fields["url"] == "http://x.example/a"
    assert fields["title"] == 'Evil" --- url: "http://attacker.example/"'
    assert fields["outlet"] == "X [31m"
    assert Library(tmp_path).by_url("http://attacker.example/") is None


def test_saved_article_text_reads_back_as_written_not_as_markdown(tmp_path: Path) -> None:
    from attache.index.documents import SourceFile, load
    from attache.index.sources.article import Article, render

    paragraphs = [
        "# 1 priority is *not* emphasis, [a](b) <b>bold</b> &amp; a_b `code` ~~x~~ | \\ !",
        "1. not a list", "2) nor this", "- not a bullet", "> not a quote", "--- no rule",
        "Ordinary text, 3.5 percent.",
    ]
    article = Article(url="http://x.example/a", title="Notes", text="\n\n".join(paragraphs),
                      outlet="X", author=None, date=None,
                      fetched_at="2026-11-24T00:00:00+00:00")
    data = render(article).encode()
    doc = load(SourceFile(tmp_path / "a.md", "a.md", len(data)), data)
    assert doc.text.split("\n\n") == paragraphs


def test_hand_written_front_matter_gives_a_url_only_when_it_is_a_web_address(tmp_path: Path) -> None:
    from attache.index.documents import SourceFile, load

    def url_of(value: str) -> str | None:
        data = f"---\ntitle: Notes\nurl: {value}\n---\n\nThe envoy met the minister.\n".encode()
        return load(SourceFile(tmp_path / "n.md", "n.md", len(data)), data).url

    assert url_of("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert url_of('"https://example.org/quoted"') == "https://example.org/quoted"
    assert url_of("javascript:alert(1)") is None
    assert url_of("file:///etc/passwd") is None


# ------------------------------------------------------------------------ feeds


def test_feed_syncs_add_each_new_item_once(newsroom: Newsroom, make_settings) -> None:
    settings = make_settings(fetch_allow_private=True, fetch_host_interval=0)
    archive = Archive(settings)
    followed = archive.follow(newsroom.url("/feed.xml"))
    assert followed == {"url": newsroom.url("/feed.xml"),
                        "title": "The Meridian Ledger: Cyber diplomacy", "items": 1, "added": True}
    assert archive.follow(newsroom.url("/feed.xml"))["added"] is False

    first = archive.sync(reindex=False)
    assert [a["title"] for a in first.added] == [KENYA.title]
    assert first.feeds == [{"url": newsroom.url("/feed.xml"), "new": 1, "seen": 0, "errors": [],
                            "not_modified": False}]

    newsroom.publish(CABLES)
    newsroom.feed_extras.extend([
        # a new guid for an item already fetched: matched by its link
        ("ledger-kenya-again", "Kenya pact (updated)", newsroom.url(KENYA.path)),
        # the same article at another address: fetched, matched by its content
        ("ledger-kenya-copy", "Kenya pact (copy)", newsroom.url("/news/kenya-cyber-pact-copy.html")),
        ("ledger-gone", "Withdrawn story", newsroom.url("/news/withdrawn.html")),
    ])
    second = Archive(settings).sync(reindex=False)  # a new process
    assert [a["title"] for a in second.added] == [CABLES.title]
    assert sorted(s["reason"].split(" as ")[0] for s in second.skipped) == [
        "HTTP 404 NOT FOUND", "same content"]
    assert second.feeds[0]["new"] == 3 and second.feeds[0]["seen"] == 2

    newsroom.publish(QUANTUM)
    third = Archive(settings).sync(reindex=False)
    assert [a["title"] for a in third.added] == [QUANTUM.title]
    assert third.skipped == [] and third.feeds[0]["seen"] == 5
    for path in (KENYA.path, CABLES.path, QUANTUM.path, "/news/kenya-cyber-pact-copy.html",
                 "/news/withdrawn.html"):
        assert newsroom.hits[path] == 1, path
    assert newsroom.hits["/feed.xml"] == 5  # follow twice, sync three times
    assert len(list(settings.docs_dir.rglob("*.md"))) == 3

    # nothing published since: the GET is conditional, the server answers 304, no item
    # is read
    unchanged = Archive(settings).sync(reindex=False)
    assert newsroom.not_modified == 1
    assert unchanged.feeds == [{"url": newsroom.url("/feed.xml"), "new": 0, "seen": 0,
                                "errors": [], "not_modified": True}]
    assert unchanged.added == [] and unchanged.skipped == []

    listed = archive.feeds()
    assert [(f["url"], f["seen"], f["last_error"]) for f in listed] == [
        (newsroom.url("/feed.xml"), 5, None)]
    assert archive.unfollow(newsroom.url("/feed.xml")) and archive.feeds() == []


def test_a_failing_item_is_retried_a_few_times_only(newsroom: Newsroom, make_settings) -> None:
    settings = make_settings(fetch_allow_private=True, fetch_host_interval=0)
    archive = Archive(settings)
    archive.follow(newsroom.url("/feed.xml"))
    newsroom.feed_extras.append(("ledger-down", "Server error", newsroom.url("/down")))
    reports = [archive.sync(reindex=False) for _ in range(4)]
    assert [len(r.feeds[0]["errors"]) for r in reports] == [1, 1, 1, 0]
    assert reports[0].feeds[0]["errors"][0].endswith("HTTP 503 SERVICE UNAVAILABLE")


def test_a_feed_that_is_not_one_is_not_followed(newsroom: Newsroom, make_settings) -> None:
    from attache.index.sources.archive import FeedError

    archive = Archive(make_settings(fetch_allow_private=True, fetch_host_interval=0))
    with pytest.raises(FeedError, match="unsupported content type 'text/html'"):
        archive.follow(newsroom.url(KENYA.path))
    with pytest.raises(FeedError, match="refused: 127.0.0.1 is a loopback address"):
        Archive(make_settings()).follow(newsroom.url("/feed.xml"))
    assert archive.feeds() == []


# ---------------------------------------------------------------------- uploads


def test_uploads_have_the_limits_of_files_in_the_folder(make_settings) -> None:
    settings = make_settings(max_file_mb=0.01)
    archive = Archive(settings)
    text = b"Port strike ends\n\nDock workers in Antwerp returned to work on Monday.\n"
    report = archive.upload("../../Port Strike.TXT", text, reindex=False)
    assert report.added == [{"file": "Port Strike.TXT", "path": "uploads/port-strike.txt",
                             "title": "Port strike ends"}]
    assert (settings.docs_dir / "uploads" / "port-strike.txt").read_bytes() == text
    outcomes = [
        archive.upload("again.txt", text, reindex=False),
        archive.upload("tool.exe", b"MZ\x90\x00", reindex=False),
        archive.upload("big.txt", b"word " * 4000, reindex=False),
        archive.upload("blank.md", b"  \n\n ", reindex=False),
        archive.upload("noise.txt", bytes(range(256)) * 8, reindex=False),
    ]
    assert [o.skipped[0]["reason"] for o in outcomes] == [
        "already saved as uploads/port-strike.txt",
        "unsupported type '.exe': send a .txt, .md, .html or .pdf file",
        "larger than the 0.01 MB limit (ATTACHE_MAX_FILE_MB)",
        "empty file",
        "binary content",
    ]
    assert [p.name for p in (settings.docs_dir / "uploads").iterdir()] == ["port-strike.txt"]


# ------------------------------------------------------------- index, citations


def test_added_articles_are_indexed_and_cited_with_their_url(
    newsroom: Newsroom, make_service, seeds_copy
) -> None:
    service = make_service(docs_dir=seeds_copy, fetch_allow_private=True, fetch_host_interval=0)
    report = service.archive().add([newsroom.url(KENYA.path)])
    assert report.index is not None and report.index.added == 3 and report.index.switched
    answer = service.ask("How much money does the Kenya cyber agreement commit?")
    assert answer.answered and "$12 million" in answer.answer
    cited = answer.citations[0]
    assert (cited.url, cited.outlet, cited.date) == (
        newsroom.url(KENYA.path), "The Meridian Ledger", KENYA.date)
    from attache.models import dump

    data = dump(answer.to_result())["citations"][0]
    assert (data["url"], data["outlet"], data["date"]) == (
        newsroom.url(KENYA.path), "The Meridian Ledger", KENYA.date)
    seeds_answer = service.ask("Who approved the creation of CSET?")
    assert seeds_answer.answered and all(c.url is None for c in seeds_answer.citations)
    status = service.status()
    urls = {d.source: d.url for d in status.documents}
    assert urls[report.added[0]["path"]] == newsroom.url(KENYA.path)


def test_cli_add_ask_and_feeds_as_a_user_would(newsroom: Newsroom, run_cli, seeds_copy,
                                                tmp_path: Path) -> None:
    env = {"ATTACHE_DOCS_DIR": str(seeds_copy), "ATTACHE_DATA_DIR": str(tmp_path / "data")}
    allow = {**env, "ATTACHE_FETCH_ALLOW_PRIVATE": "true"}
    import jsonschema

    schemas = {name: json.loads(run_cli("schema", name).stdout)
               for name in ("add", "feeds-sync", "feeds-list", "feeds-add")}
    refused = run_cli("add", newsroom.url(KENYA.path), "--json", env=env)
    assert refused.returncode == 1
    jsonschema.validate(json.loads(refused.stdout), schemas["add"])
    assert json.loads(refused.stdout) == {"added": [], "skipped": [{
        "url": newsroom.url(KENYA.path),
        "reason": "refused: 127.0.0.1 is a loopback address "
                  "(set ATTACHE_FETCH_ALLOW_PRIVATE=true to allow it)"}], "index": None}

    added = run_cli("add", newsroom.url(KENYA.path), newsroom.url("/missing"), env=allow)
    assert added.returncode == 1, added.stderr
    assert (f"Added “{KENYA.title}” from {newsroom.url(KENYA.path)}\n  saved as web/"
            "the-meridian-ledger/2026-11-18-united-states-and-kenya-sign-cyber-capacity-pact.md\n"
            ) in added.stdout
    assert f"Skipped {newsroom.url('/missing')}: HTTP 404 NOT FOUND" in added.stdout
    assert "Index rebuilt" in added.stdout and "3 added" in added.stdout

    asked = run_cli("ask", "Where will the first training cohort begin?", env=env)
    assert asked.returncode == 0 and "Mombasa" in asked.stdout
    assert newsroom.url(KENYA.path) in asked.stdout
    assert "The Meridian Ledger, 2026-11-18" in asked.stdout

    followed = cli_json(run_cli("feeds", "add", newsroom.url("/feed.xml"), "--json", env=allow))
    jsonschema.validate(followed, schemas["feeds-add"])
    assert (followed["items"], followed["added"]) == (1, True)
    newsroom.publish(CABLES)
    synced = cli_json(run_cli("feeds", "sync", "--json", env=allow))
    jsonschema.validate(synced, schemas["feeds-sync"])
    assert synced["feeds"] == [{"url": newsroom.url("/feed.xml"), "new": 2, "seen": 0,
                                "errors": [], "not_modified": False}]
    assert [a["title"] for a in synced["added"]] == [CABLES.title]
    assert [s["reason"].split(" as ")[0] for s in synced["skipped"]] == ["already saved"]
    assert synced["index"]["added"] == 1 and synced["index"]["switched"]
    again = cli_json(run_cli("feeds", "sync", "--json", env=allow))
    assert (again["added"], again["skipped"], again["index"]) == ([], [], None)
    assert again["feeds"][0]["not_modified"] and again["feeds"][0]["seen"] == 0
    assert "not modified since the last sync" in run_cli("feeds", "sync", env=allow).stdout
    listed = cli_json(run_cli("feeds", "list", "--json", env=env))
    jsonschema.validate(listed, schemas["feeds-list"])
    assert [f["url"] for f in listed["feeds"]] == [newsroom.url("/feed.xml")]
    assert run_cli("feeds", "remove", newsroom.url("/feed.xml"), env=env).returncode == 0
    missing = run_cli("feeds", "remove", newsroom.url("/feed.xml"), env=env)
    assert missing.returncode == 2 and "not following" in missing.stderr
    assert newsroom.hits[KENYA.path] == 1


def test_feeds_list_shows_what_a_feed_says_without_obeying_it(run_cli, tmp_path: Path) -> None:
    from attache.index.sources.feeds import FeedState

    data = tmp_path / "data"
    state = FeedState(data)
    state.add("https://feeds.example/rss", "News \x1b[2J\x1b]8;;https://evil.example\x07 [bold]x")
    result = run_cli("feeds", "list", env={"ATTACHE_DATA_DIR": str(data), "COLUMNS": "400"})
    assert result.returncode == 0, result.stderr
    assert "\x1b[2J" not in result.stdout and "\x1b]8" not in result.stdout
    assert "News \\x1b[2J\\x1b]8;;https://evil.example\\x07 [bold]x" in result.stdout
