"""`attache index watch` as a user runs it: a subprocess on a documents folder, files
dropped in, feeds synced on a schedule, Ctrl-C."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import subprocess_env
from newsroom import KENYA, start

from attache.index.sources.watch import describe, relevant

DEADLINE = 180.0  # seconds; generous for a busy machine, never a measured figure


def _lines(stream, into: queue.Queue) -> None:  # type: ignore[no-untyped-def]
    for line in stream:
        into.put(line.rstrip("\n"))
    into.put(None)


def wait_for(check, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_watch_indexes_dropped_files_and_feed_items_then_stops_on_ctrl_c(
    run_cli, seeds_copy: Path, tmp_path: Path, make_settings
) -> None:
    from attache.index.sources.archive import Archive

    site = start()
    env = {"ATTACHE_DOCS_DIR": str(seeds_copy), "ATTACHE_DATA_DIR": str(tmp_path / "data"),
           "ATTACHE_FETCH_ALLOW_PRIVATE": "true"}
    Archive(make_settings(fetch_allow_private=True, data_dir=tmp_path / "data",
                          docs_dir=seeds_copy)).follow(site.url("/feed.xml"))
    process = subprocess.Popen(
        [sys.executable, "-m", "attache.bot.cli", "index", "watch", "--settle", "0.5",
         "--feeds", "10m"],
        env=subprocess_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    seen: list[str] = []

    def saw(text: str) -> bool:
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                return any(text in s for s in seen)
            if line is not None:
                seen.append(line)

    def answer(question: str) -> dict | None:
        result = run_cli("ask", question, "--json", env=env)
        data = json.loads(result.stdout) if result.returncode == 0 else None
        return data if data and data["answered"] else None

    try:
        wait_for(lambda: saw("watching"), "the watcher to start")
        dropped = seeds_copy / "notes" / "reykjavik.txt"
        dropped.parent.mkdir()
        dropped.write_text(
            "Nordic ministers meet in Reykjavik\n\nThe Nordic foreign ministers agreed in "
            "Reykjavik on 23 November 2026 to open a joint cyber attaché office in Tallinn.\n",
            encoding="utf-8")
        found = wait_for(lambda: answer("Where will the Nordic joint cyber attaché office open?"),
                         "the dropped file to be answerable")
        assert "Tallinn" in found["answer"]
        assert found["citations"][0]["source"] == "notes/reykjavik.txt"

        # the feed was synced at start; its item was saved and indexed like a dropped file
        found = wait_for(lambda: answer("How much money does the Kenya cyber agreement commit?"),
                         "the feed item to be answerable")
        assert "$12 million" in found["answer"]
        assert found["citations"][0]["url"] == site.url(KENYA.path)
        assert wait_for(lambda: saw("feeds synced: 1 feeds, 1 new articles saved"), "the sync line")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            status = process.wait(60)
        except subprocess.TimeoutExpired:
            saw("")
            raise AssertionError(f"the watcher did not stop on Ctrl-C; it printed {seen}") from None
        finally:
            if process.poll() is None:
                process.kill()
            site.server.stop()
    reader.join(10)
    saw("")
    stderr = process.stderr.read() if process.stderr else ""
    assert status == 0, stderr
    assert "Traceback" not in stderr
    assert seen[-2].endswith("stopping (Ctrl-C again to interrupt a rebuild)")
    assert seen[-1].endswith("stopped watching")
    rebuilds = [line for line in seen if " rebuilt in " in line]
    assert 2 <= len(rebuilds) <= 4, seen  # the start, the dropped file, the feed item
    assert all(line.split(" ", 1)[0].count(":") == 2 for line in seen)  # HH:MM:SS stamps


def test_what_the_watcher_looks_at(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    assert relevant(docs, str(docs / "a.txt")) and relevant(docs, str(docs / "web" / "x" / "b.md"))
    assert relevant(docs, str(docs / "new-folder"))
    assert not relevant(docs, str(docs / ".attache-123.tmp"))
    assert not relevant(docs, str(docs / ".git" / "index"))
    assert not relevant(docs, str(docs / "image.png"))
    from attache.models import RebuildReport, SkippedFile

    report = RebuildReport(added=1, updated=0, removed=2, unchanged=3,
                           skipped=[SkippedFile(path="x.png", reason="unsupported type")],
                           documents=4, chunks=20, seconds=1.25, embedded=5, version=7,
                           switched=True)
    assert describe(report) == ("rebuilt in 1.2s: 1 added, 0 updated, 2 removed, 1 skipped; "
                                "4 documents, 20 chunks, 5 embedded; version 7")
    report.switched = False
    assert describe(report) == "index up to date: 4 documents, 20 chunks, 1 skipped"


def test_a_stop_during_a_rebuild_lets_it_finish_then_ends_the_watch(tmp_path: Path) -> None:
    """Ctrl-C sets the stop event (as SIGTERM does): a rebuild under way is never cut
    short, and no further one starts."""
    from attache.index.sources.watch import Watcher
    from attache.models import RebuildReport

    docs = tmp_path / "docs"
    docs.mkdir()
    said: list[str] = []
    finished: list[int] = []
    stop = threading.Event()

    def rebuild() -> RebuildReport:
        if len(finished) == 1:
            stop.set()  # as the Ctrl-C handler does, in the middle of the second rebuild
            time.sleep(0.5)
        finished.append(1)
        return RebuildReport(documents=len(finished))

    watcher = Watcher(docs, rebuild, said.append, settle=0.1, stop=stop)
    runner = threading.Thread(target=watcher.run)
    runner.start()
    wait_for(lambda: any(line.startswith("watching") for line in said), "the watcher to start")

    def dropped() -> bool:  # again until seen: the watch may not have begun at "watching"
        (docs / "a.txt").write_text(f"A new document, {time.monotonic()}.\n", encoding="utf-8")
        return not runner.is_alive()

    wait_for(dropped, "the watcher to stop after the rebuild")
    runner.join(DEADLINE)
    assert not runner.is_alive()
    assert len(finished) == 2 and watcher.rebuilds == 2
    assert said[-1] == "stopped watching"

    # stopped during the catch-up rebuild: it finishes, and watching never starts
    said.clear()
    finished.clear()
    stop.clear()
    finished.append(1)  # the next rebuild is the "second": it sets stop
    Watcher(docs, rebuild, said.append, settle=0.1, stop=stop).run()
    assert len(finished) == 2
    assert said == ["index up to date: 2 documents, 0 chunks", "stopped watching"]
