"""`attache add`, `attache feeds …` and `attache index watch`: parse, call the service's
archive, render. Everything shown from the web (titles, URLs, reasons) is printed as
plain text, never as rich markup."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from attache.errors import EXIT_BUSY, EXIT_FAULT, EXIT_USAGE, DocumentsFolderError, UsageError

EXIT_SKIPPED = EXIT_FAULT  # some URLs could not be added (reasons printed)
_BENIGN = ("already saved as ", "same content as ")


def _plain(console: Any, text: str, style: str | None = None) -> None:
    """Untrusted text (titles, URLs, reasons) on the terminal: no markup, no control codes."""
    from attache.bot.cli import escape_terminal

    for line in text.split("\n"):
        console.print(escape_terminal(line), markup=False, emoji=False, highlight=False,
                      style=style, soft_wrap=True)


def _index_line(index: Any) -> str | None:
    if index is None:
        return None
    from attache.index.sources.watch import describe

    return "Index " + describe(index)


def _status(report: Any) -> int:
    if report.index_error:
        from attache.bot.cli import escape_terminal

        print(f"error: the index was not brought up to date: "
              f"{escape_terminal(report.index_error)}", file=sys.stderr)
        return EXIT_BUSY if report.index_busy else EXIT_USAGE
    failed = [s for s in report.skipped if not s["reason"].startswith(_BENIGN)]
    return EXIT_SKIPPED if failed else 0


def _render_added(console: Any, report: Any) -> None:
    for item in report.added:
        where = item.get("url") or item.get("file", "")
        _plain(console, f"Added “{item['title']}” from {where}\n  saved as {item['path']}")
    for item in report.skipped:
        where = item.get("url") or item.get("file", "")
        _plain(console, f"Skipped {where}: {item['reason']}", "yellow")
    line = _index_line(report.index)
    if line:
        _plain(console, line)


def cmd_add(args: argparse.Namespace) -> int:
    cli = args.cli  # the running command line module (`python -m` runs it as __main__)
    service = cli._service(args)
    report = service.archive().add(args.urls)
    if args.json:
        cli._print_json(report.to_result())
    else:
        console = cli._console()
        _render_added(console, report)
        if not report.added and not report.skipped:
            _plain(console, "Nothing to add.")
    return _status(report)


def cmd_feeds_add(args: argparse.Namespace) -> int:
    from attache.index.sources.archive import FeedError

    cli = args.cli
    try:
        result = cli._service(args).archive().follow(args.url)
    except FeedError as exc:
        raise FeedError(f"cannot follow {args.url}: {exc}") from None
    if args.json:
        from attache.models import FeedFollowed

        cli._print_json(FeedFollowed(**result))
        return 0
    title = f" ({result['title']})" if result["title"] else ""
    verb = "Following" if result["added"] else "Already following"
    _plain(cli._console(), f"{verb} {result['url']}{title}, {result['items']} items in it now; "
                           "`attache feeds sync` fetches the new ones.")
    return 0


def cmd_feeds_list(args: argparse.Namespace) -> int:
    cli = args.cli
    feeds = cli._service(args).archive().feeds()
    if args.json:
        from attache.models import FeedList

        cli._print_json(FeedList(feeds=feeds))
        return 0
    console = cli._console()
    if not feeds:
        _plain(console, "No feeds yet. Add one: attache feeds add URL")
        return 0
    from rich.table import Table
    from rich.text import Text

    from attache.bot.cli import escape_terminal

    table = Table(title="Followed feeds")
    for column in ("url", "title", "seen", "last sync", "last error"):
        table.add_column(column, overflow="fold")
    for feed in feeds:  # a feed's address, title and error come from the network
        table.add_row(*(Text("" if v is None else escape_terminal(str(v))) for v in (
            feed["url"], feed["title"], feed["seen"], feed["last_sync"] or "never",
            feed["last_error"])))
    console.print(table)
    return 0


def cmd_feeds_remove(args: argparse.Namespace) -> int:
    cli = args.cli
    if not cli._service(args).archive().unfollow(args.url):
        raise UsageError(f"not following {args.url} (see `attache feeds list`)")
    _plain(cli._console(), f"No longer following {args.url}; saved articles stay.")
    return 0


def cmd_feeds_sync(args: argparse.Namespace) -> int:
    cli = args.cli
    report = cli._service(args).archive().sync()
    if args.json:
        cli._print_json(report.to_result())
        return _status(report) if report.index_error else 0
    console = cli._console()
    if not report.feeds:
        _plain(console, "No feeds yet. Add one: attache feeds add URL")
    for feed in report.feeds:
        if feed.get("not_modified"):
            _plain(console, f"{feed['url']}: not modified since the last sync")
            continue
        _plain(console, f"{feed['url']}: {feed['new']} new, {feed['seen']} seen before")
        for error in feed["errors"]:
            _plain(console, f"  error: {error}", "yellow")
    _render_added(console, report)
    return _status(report) if report.index_error else 0


def cmd_index_watch(args: argparse.Namespace) -> int:
    from attache.index.sources.feeds import parse_every
    from attache.index.sources.watch import Watcher

    cli = args.cli
    every = None
    if args.feeds:
        try:
            every = parse_every(args.feeds)
        except ValueError as exc:
            raise UsageError(f"--feeds: {exc}") from None
    service = cli._service(args)
    docs = Path(service.settings.docs_dir)
    if not docs.is_dir():
        raise DocumentsFolderError(f"documents folder not found: {docs}")

    def stamped(line: str) -> str:
        return f"{datetime.now():%H:%M:%S} {line}\n"

    def say(line: str) -> None:
        sys.stdout.write(stamped(line))
        sys.stdout.flush()

    import signal
    import threading

    # Ctrl-C and SIGTERM (a service manager) stop between rebuilds, never inside one; a
    # second Ctrl-C interrupts the rebuild under way (the index keeps its last version).
    stop = threading.Event()

    def stopping(*_: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        # straight to the descriptor: the handler may run inside a buffered write
        line = stamped("stopping (Ctrl-C again to interrupt a rebuild)")
        try:
            os.write(sys.stdout.fileno(), line.encode())
        except (OSError, ValueError, AttributeError):
            pass  # no descriptor to write to: stop all the same

    signal.signal(signal.SIGINT, stopping)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    archive = service.archive() if every else None
    Watcher(
        docs,
        service.rebuild,
        say,
        settle=args.settle,
        sync=(lambda stop: archive.sync(reindex=False, stop=stop)) if archive else None,
        every=every,
        stop=stop,
    ).run()
    return 0


def _settle(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("seconds, for example 1 or 0.5") from None
    if not 0.05 <= value <= 60:
        raise argparse.ArgumentTypeError("between 0.05 and 60 seconds")
    return value


def register(commands: Any, index_commands: Any, cli: Any) -> None:
    """Add the commands to the `attache` parser; `cli` is the command line module, whose
    helpers (settings, service, errors, JSON output) the handlers use."""
    add = commands.add_parser("add", help="fetch articles from URLs into the documents folder")
    add.add_argument("urls", nargs="+", metavar="URL", help="web pages, PDFs or text files")
    add.add_argument("--json", action="store_true", help="print one JSON report")
    add.add_argument("--docs", metavar="DIR", help="documents folder (ATTACHE_DOCS_DIR)")
    add.set_defaults(handler=cmd_add, cli=cli)

    feeds = commands.add_parser("feeds", help="follow RSS and Atom feeds")
    feed_commands = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    follow = feed_commands.add_parser("add", help="follow a feed")
    follow.add_argument("url", metavar="URL")
    follow.add_argument("--json", action="store_true", help="print JSON")
    follow.set_defaults(handler=cmd_feeds_add, cli=cli)
    listing = feed_commands.add_parser("list", help="the followed feeds")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=cmd_feeds_list, cli=cli)
    remove = feed_commands.add_parser("remove", help="stop following a feed")
    remove.add_argument("url", metavar="URL")
    remove.set_defaults(handler=cmd_feeds_remove, cli=cli)
    sync = feed_commands.add_parser("sync", help="fetch the new items of every feed")
    sync.add_argument("--json", action="store_true", help="print one JSON report")
    sync.add_argument("--docs", metavar="DIR", help="documents folder (ATTACHE_DOCS_DIR)")
    sync.set_defaults(handler=cmd_feeds_sync, cli=cli)

    watch = index_commands.add_parser(
        "watch", help="rebuild whenever the documents folder changes (Ctrl-C stops)"
    )
    watch.add_argument("--docs", metavar="DIR", help="documents folder (ATTACHE_DOCS_DIR)")
    watch.add_argument("--feeds", metavar="EVERY",
                       help="also sync the feeds on this schedule, e.g. 30m, 1h, 1d")
    watch.add_argument("--settle", type=_settle, default=1.0, metavar="SECONDS",
                       help="wait until nothing changed for this long (default 1)")
    watch.set_defaults(handler=cmd_index_watch, cli=cli)
