"""The question log, gaps, stats and feedback export: real SQLite files, the real
embedding model, a real index of the seeds, the command line as a user runs it."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, cli_json

from attache.index.settings import Settings, load_settings
from attache.retrieval.gaps import cluster, find_gaps
from attache.retrieval.questionlog import (
    LOG_FILE,
    SALT_FILE,
    Origin,
    QuestionLog,
    parse_since,
    read_questions,
)
from attache.retrieval.service import Attache

# Three phrasings of one question the seeds don't answer, another such question, and two
# the seeds answer.
REPHRASINGS = [
    "How do I reset my password?",
    "I forgot my password, how can I change it?",
    "What are the steps to recover a lost password?",
]
OTHER_UNANSWERED = "What will the weather be like tomorrow?"
ANSWERABLE = ["Who created the State Department's cyber bureau?", "What does CSET stand for?"]


@pytest.fixture
def seeds_data(tmp_path: Path, seeds_index: Settings) -> Settings:
    """A copy of the seeds index in a data folder of this test's own."""
    data = tmp_path / "data"
    shutil.copytree(seeds_index.data_dir, data)
    _forget_log(data)
    return Settings(docs_dir=seeds_index.docs_dir, data_dir=data)


def _forget_log(data: Path) -> None:
    """No question log in `data` (a command-line test elsewhere may have asked the shared
    index a question, and so logged it)."""
    for path in [*data.glob(f"{LOG_FILE}*"), data / SALT_FILE]:
        path.unlink(missing_ok=True)


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {"ATTACHE_DATA_DIR": str(settings.data_dir),
            "ATTACHE_DOCS_DIR": str(settings.docs_dir), **extra}


def _log(tmp_path: Path, **kwargs: Any) -> QuestionLog:
    return QuestionLog(tmp_path / "log" / LOG_FILE, **kwargs)


def _record(log: QuestionLog, question: str, answered: bool = False, **kwargs: Any) -> int:
    values: dict[str, Any] = {
        "origin": Origin("cli"), "question": question, "resolved_question": None,
        "answered": answered, "confidence": None, "sources": ["a.txt"] if answered else [],
        "index_version": 1, "latency_ms": 10.0,
    }
    values.update(kwargs)
    row = log.record(**values)
    assert row is not None
    return row


# --------------------------------------------------------------------------- as a user


def test_gaps_and_stats_after_six_questions(seeds_data: Settings, run_cli: Any) -> None:
    questions = [*REPHRASINGS, OTHER_UNANSWERED, *ANSWERABLE]
    chat = run_cli("chat", "--json", env=_env(seeds_data), input="\n".join(questions) + "\n")
    answers = [json.loads(line) for line in chat.stdout.splitlines()]
    assert chat.returncode == 0, chat.stderr
    assert [a["answered"] for a in answers] == [False, False, False, False, True, True]

    gaps = cli_json(run_cli("gaps", "--json", env=_env(seeds_data)))["gaps"]
    assert [(g["count"], g["kind"]) for g in gaps] == [(3, "refused"), (1, "refused")]
    assert sorted(gaps[0]["examples"]) == sorted(REPHRASINGS)
    assert gaps[0]["question"] in REPHRASINGS
    assert gaps[1]["question"] == OTHER_UNANSWERED
    assert gaps[1]["examples"] == [OTHER_UNANSWERED]
    listed = {e for g in gaps for e in g["examples"]}
    assert not listed & set(ANSWERABLE)

    stats = cli_json(run_cli("stats", "--json", env=_env(seeds_data)))
    assert stats["questions"] == 6 and stats["refused"] == 4
    assert stats["refusal_rate"] == pytest.approx(4 / 6, abs=1e-3)
    assert stats["by_front_end"]["cli"]["questions"] == 6
    assert stats["votes_up"] == stats["votes_down"] == 0
    assert stats["top_sources"][0]["source"].endswith(".txt")
    assert 0 < stats["latency_ms_p50"] <= stats["latency_ms_p95"]

    # The human forms print the same figures.
    table = run_cli("gaps", env=_env(seeds_data))
    assert table.returncode == 0 and "weather" in table.stdout
    summary = run_cli("stats", env=_env(seeds_data))
    assert summary.returncode == 0 and "total" in summary.stdout

    # Since a date after everything: nothing.
    later = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert cli_json(run_cli("gaps", "--json", "--since", later, env=_env(seeds_data))) == {
        "gaps": []}
    bad = run_cli("stats", "--since", "last week", env=_env(seeds_data))
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_logging_off_stores_nothing(seeds_data: Settings, run_cli: Any,
                                    monkeypatch: pytest.MonkeyPatch, embedder: Any) -> None:
    env = _env(seeds_data, ATTACHE_LOG_QUESTIONS="false")
    assert run_cli("ask", "--json", OTHER_UNANSWERED, env=env).returncode == 0
    monkeypatch.setenv("ATTACHE_LOG_QUESTIONS", "false")
    monkeypatch.setenv("ATTACHE_DATA_DIR", str(seeds_data.data_dir))
    service = Attache(load_settings(), embedder=embedder)
    answer = service.ask(ANSWERABLE[0], origin=Origin("discord", user=1234))
    assert answer.answered and answer.log_id is None
    assert service.vote(1, 1234, up=False) is False
    assert not (seeds_data.data_dir / LOG_FILE).exists()
    assert not (seeds_data.data_dir / SALT_FILE).exists()
    assert cli_json(run_cli("stats", "--json", env=env))["questions"] == 0


def test_feedback_export_is_a_regression_set_for_eval(
    seeds_data: Settings, run_cli: Any, embedder: Any, tmp_path: Path
) -> None:
    service = Attache(seeds_data, embedder=embedder)
    liked = service.ask(ANSWERABLE[0], origin=Origin("discord", user=11))
    disliked = service.ask(ANSWERABLE[1], origin=Origin("discord", user=12))
    refused = service.ask(OTHER_UNANSWERED, origin=Origin("discord", user=13))
    unvoted = service.ask("When did Pompeo take office?", origin=Origin("cli"))
    assert liked.answered and disliked.answered and not refused.answered and unvoted.answered
    assert service.vote(liked.log_id, 11, up=True)
    assert service.vote(disliked.log_id, 12, up=False, comment="Wrong acronym")

    out = tmp_path / "feedback.jsonl"
    done = run_cli("feedback", "export", "--out", str(out), env=_env(seeds_data))
    assert done.returncode == 0, done.stderr
    assert "attache eval" in done.stdout
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_question = {r["question"]: r for r in rows}
    assert set(by_question) == {ANSWERABLE[0], ANSWERABLE[1], OTHER_UNANSWERED}
    confirmed = by_question[ANSWERABLE[0]]
    assert confirmed["kind"] == "confirmed"
    assert confirmed["expect_sources"] == list(dict.fromkeys(c.source for c in liked.citations))
    assert by_question[ANSWERABLE[1]]["kind"] == "downvoted"
    assert by_question[ANSWERABLE[1]]["comments"] == ["Wrong acronym"]
    assert by_question[OTHER_UNANSWERED] | {"recheck": True} == by_question[OTHER_UNANSWERED]
    printed = run_cli("feedback", "export", "--json", env=_env(seeds_data))
    assert [json.loads(line) for line in printed.stdout.splitlines()] == rows

    before = cli_json(run_cli("stats", "--json", env=_env(seeds_data)))["questions"]
    results = tmp_path / "results.jsonl"
    summary = cli_json(run_cli("eval", str(out), "--json", "--out", str(results),
                               env=_env(seeds_data)))
    assert summary["questions"] == 3 and summary["checked"] == 1 and summary["passed"] == 1
    verdicts = {json.loads(line)["question"]: json.loads(line)["verdict"]
                for line in results.read_text(encoding="utf-8").splitlines()}
    assert verdicts[OTHER_UNANSWERED] == {"answered": False}
    # Evaluation runs are not readers' questions: the log is unchanged.
    assert cli_json(run_cli("stats", "--json", env=_env(seeds_data)))["questions"] == before

    # The 👎 answer is a gap of its own kind, with what the reader said.
    gaps = service.gaps()
    downvoted = [g for g in gaps.gaps if g.kind == "downvoted"]
    assert [(g.question, g.count, g.comments) for g in downvoted] == [
        (ANSWERABLE[1], 1, ["Wrong acronym"])]
    assert all(ANSWERABLE[0] not in g.examples for g in gaps.gaps)


def test_purge_deletes_the_log_and_salt(seeds_data: Settings, run_cli: Any,
                                        embedder: Any) -> None:
    service = Attache(seeds_data, embedder=embedder)
    answer = service.ask(OTHER_UNANSWERED, origin=Origin("discord", user=5))
    assert service.vote(answer.log_id, 5, up=False)
    assert (seeds_data.data_dir / LOG_FILE).exists()
    assert (seeds_data.data_dir / SALT_FILE).exists()
    service.question_log.close()
    done = run_cli("gaps", "--purge", env=_env(seeds_data))
    assert done.returncode == 0, done.stderr
    assert "Deleted" in done.stdout
    assert not list(seeds_data.data_dir.glob("questions.sqlite3*"))
    assert not (seeds_data.data_dir / SALT_FILE).exists()
    assert cli_json(run_cli("gaps", "--json", env=_env(seeds_data))) == {"gaps": []}


def test_named_logs_must_exist_count_once_and_purge_takes_no_filters(
        seeds_data: Settings, run_cli: Any, embedder: Any) -> None:
    service = Attache(seeds_data, embedder=embedder)
    service.ask(OTHER_UNANSWERED, origin=Origin("cli"))
    service.question_log.close()
    log = str(seeds_data.data_dir / LOG_FILE)
    twice = cli_json(run_cli("stats", "--json", "--log", log, "--log", log, env=_env(seeds_data)))
    assert twice["questions"] == 1
    missing = run_cli("stats", "--log", log + ".typo", env=_env(seeds_data))
    assert missing.returncode == 2 and "no question log at" in missing.stderr
    for extra in (["--since", "2030-01-01"], ["--log", log]):
        refused = run_cli("gaps", "--purge", *extra, env=_env(seeds_data))
        assert refused.returncode == 2 and "takes no --since or --log" in refused.stderr
    assert (seeds_data.data_dir / LOG_FILE).exists()  # nothing deleted


# --------------------------------------------------------------------------- the log itself


def test_votes_one_per_reader_and_hashed_ids(tmp_path: Path) -> None:
    log = _log(tmp_path)
    row = _record(log, "Who approved it?", answered=True, origin=Origin("discord", 987654321))
    assert log.vote(row, 111222333, up=True)
    assert log.vote(row, 111222333, up=False, comment="It names the wrong person")
    assert log.vote(row, 444555666, up=True)
    assert log.vote(row + 100, 444555666, up=True) is False  # no such question
    [logged] = read_questions([log.path])
    assert (logged.votes_up, logged.votes_down) == (1, 1)
    assert logged.comments == ["It names the wrong person"]
    # Changing a 👎 to 👍 drops its comment; back to 👎 without a new one keeps none.
    assert log.vote(row, 111222333, up=True)
    [logged] = read_questions([log.path])
    assert (logged.votes_up, logged.votes_down, logged.comments) == (2, 0, [])

    log.close()
    raw = b"".join(p.read_bytes() for p in log.path.parent.glob("questions.sqlite3*"))
    for user in (b"987654321", b"111222333", b"444555666"):
        assert user not in raw
    salt = log.salt_path
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    # The same id hashes alike with the same salt, differently with another.
    assert log.user_hash(42) == QuestionLog(log.path).user_hash(42)
    assert log.user_hash(42) != QuestionLog(tmp_path / "other" / LOG_FILE).user_hash(42)
    with sqlite3.connect(log.path) as db:
        hashes = {r[0] for r in db.execute("SELECT user_hash FROM questions")}
    assert hashes == {log.user_hash(987654321)}


def test_untrusted_text_is_bounded(tmp_path: Path) -> None:
    log = _log(tmp_path)
    row = _record(log, "why?\x00\x1b[31m" + "x" * 10_000)
    assert log.vote(row, 1, up=False, comment="bad\x07" + "y" * 5_000)
    [logged] = read_questions([log.path])
    assert len(logged.question) == 4000 and "\x00" not in logged.question
    assert "\x1b" not in logged.question
    assert len(logged.comments[0]) == 500 and "\x07" not in logged.comments[0]


def test_rows_past_retention_are_deleted_as_rows_are_written(tmp_path: Path) -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    clock = [now - timedelta(days=91)]
    log = _log(tmp_path, retention_days=90, clock=lambda: clock[0])
    old = _record(log, "An old question")
    log.vote(old, 1, up=False)
    clock[0] = now - timedelta(days=89)
    _record(log, "A recent question")
    assert len(read_questions([log.path])) == 2
    clock[0] = now
    _record(log, "Today's question")
    assert [r.question for r in read_questions([log.path])] == [
        "A recent question", "Today's question"]
    with sqlite3.connect(log.path) as db:
        assert db.execute("SELECT COUNT(*) FROM votes").fetchone()[0] == 0
    since = read_questions([log.path], since=parse_since("2026-11-24"))
    assert [r.question for r in since] == ["Today's question"]


def test_writers_in_many_threads_and_processes_lose_nothing(tmp_path: Path) -> None:
    log = _log(tmp_path)
    other = QuestionLog(log.path)  # a second instance on the same file, as a second process

    def write(target: QuestionLog, n: int) -> None:
        for i in range(25):
            row = _record(target, f"question {n}-{i}")
            assert target.vote(row, n, up=i % 2 == 0)

    threads = [threading.Thread(target=write, args=(log if n % 2 else other, n))
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = read_questions([log.path])
    assert len(rows) == 200
    assert sum(r.votes_up for r in rows) == 8 * 13 and sum(r.votes_down for r in rows) == 8 * 12


def test_a_log_that_cannot_be_written_never_fails_an_answer(
    seeds_index: Settings, embedder: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / LOG_FILE).mkdir()  # a folder where the database file should be
    service = Attache(seeds_index, embedder=embedder,
                      question_log=QuestionLog(blocked / LOG_FILE))
    with caplog.at_level(logging.WARNING, logger="attache.questionlog"):
        first = service.ask(ANSWERABLE[0], origin=Origin("cli"))
        second = service.ask(OTHER_UNANSWERED, origin=Origin("cli"))
        assert service.vote(1, 7, up=True) is False
    assert first.answered and not second.answered
    assert first.log_id is None and second.log_id is None
    warnings = [r for r in caplog.records if r.name == "attache.questionlog"]
    assert len(warnings) == 1 and "answers go on" in warnings[0].getMessage()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_read_only_log_file(seeds_index: Settings, embedder: Any, tmp_path: Path) -> None:
    log = _log(tmp_path)
    _record(log, "first")
    log.close()
    log.path.chmod(0o400)
    service = Attache(seeds_index, embedder=embedder, question_log=QuestionLog(log.path))
    assert service.ask(ANSWERABLE[0]).answered


def test_stats_per_front_end_and_several_logs(tmp_path: Path, embedder: Any) -> None:
    one = QuestionLog(tmp_path / "one" / LOG_FILE)
    two = QuestionLog(tmp_path / "two" / LOG_FILE)
    for i, latency in enumerate([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]):
        target = one if i < 5 else two
        row = _record(target, f"question {i}", answered=i % 3 != 0,
                      origin=Origin("discord" if i % 2 else "cli", user=i),
                      latency_ms=float(latency), sources=["b.txt", "a.txt"] if i % 3 else [])
        if i == 1:
            target.vote(row, 1, up=True)
        if i == 2:
            target.vote(row, 1, up=False)
            target.vote(row, 2, up=False)
    settings = Settings(data_dir=tmp_path / "data")
    service = Attache(settings, embedder=embedder, question_log=None)
    report = service.stats(logs=[one.path, two.path, tmp_path / "missing.sqlite3"])
    assert (report.questions, report.refused) == (10, 4)  # i = 0, 3, 6, 9 refused
    assert report.refusal_rate == 0.4
    assert (report.votes_up, report.votes_down) == (1, 2)
    assert [(s.source, s.count) for s in report.top_sources] == [("a.txt", 6), ("b.txt", 6)]
    assert report.latency_ms_p50 == 50.0 and report.latency_ms_p95 == 100.0
    assert set(report.by_front_end) == {"cli", "discord"}
    assert report.by_front_end["cli"].questions == 5
    assert report.by_front_end["discord"].latency_ms_p50 == 60.0
    only_one = service.stats(logs=[one.path])
    assert only_one.questions == 5
    # Reading never creates a log.
    assert not (tmp_path / "data" / LOG_FILE).exists()
    assert service.stats().questions == 0


# --------------------------------------------------------------------------- grouping by meaning


def _rephrasings() -> list[dict[str, str]]:
    path = ROOT / "tests" / "data" / "rephrasings.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_grouping_on_rephrasings(embedder: Any) -> None:
    """On questions written in 3 or 4 phrasings each, some of them different questions
    about one subject: rephrasings group together and unrelated questions stay apart."""
    import numpy as np

    from attache.retrieval.gaps import question_kind

    rows = _rephrasings()
    texts = [r["question"] for r in rows]
    labels = [r["group"] for r in rows]
    vectors = np.stack([embedder.embed_query(t) for t in texts])
    groups = cluster(vectors, [1] * len(texts), [question_kind(t) for t in texts])
    found = {i: n for n, members in enumerate(groups) for i in members}
    pairs = [(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))]
    together = sum(found[i] == found[j] for i, j in pairs)
    right = sum(found[i] == found[j] and labels[i] == labels[j] for i, j in pairs)
    same = sum(labels[i] == labels[j] for i, j in pairs)
    precision, recall = right / together, right / same
    assert precision >= 0.75 and recall >= 0.65, (precision, recall)
    # Questions on subjects of their own come out exactly as written.
    distinct = {"nato", "password", "weather", "ransomware", "eu", "training", "election"}
    for name in distinct:
        members = {i for i, label in enumerate(labels) if label == name}
        assert [set(g) for g in groups if set(g) & members] == [members], name


def test_gaps_group_counts_and_representative(tmp_path: Path, embedder: Any) -> None:
    log = _log(tmp_path)
    for question in [REPHRASINGS[0], REPHRASINGS[0].upper(), REPHRASINGS[1], REPHRASINGS[2]]:
        _record(log, question)
    _record(log, OTHER_UNANSWERED)
    _record(log, ANSWERABLE[0], answered=True)
    liked = _record(log, ANSWERABLE[1], answered=True)
    log.vote(liked, 1, up=True)
    rows = read_questions([log.path])

    def embed(texts: list[str]) -> Any:
        import numpy as np

        return np.stack([embedder.embed_query(t) for t in texts])

    groups = find_gaps(rows, embed)
    assert [(g.count, g.kind) for g in groups] == [(4, "refused"), (1, "refused")]
    # Identical questions (case aside) are one phrasing counted twice, listed first.
    assert groups[0].texts[0] == REPHRASINGS[0] and groups[0].counts[0] == 2
    assert groups[0].representative() in REPHRASINGS


def test_a_log_that_is_not_a_database_is_reported_not_crashed_on(
    seeds_data: Settings, run_cli: Any, embedder: Any
) -> None:
    (seeds_data.data_dir / LOG_FILE).write_bytes(b"not a database, just bytes " * 100)
    done = run_cli("stats", "--json", env=_env(seeds_data))
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot read the question log") and "Traceback" not in (
        done.stderr)
    # Answers go on regardless.
    service = Attache(seeds_data, embedder=embedder)
    assert service.ask(ANSWERABLE[0], origin=Origin("cli")).answered


def test_feedback_rows_one_per_question_latest_wins(tmp_path: Path) -> None:
    from attache.retrieval.questionlog import feedback_rows

    log = _log(tmp_path)
    first = _record(log, "Who approved CSET?", answered=True, sources=["a.txt"])
    log.vote(first, 1, up=True)
    again = _record(log, "who approved  CSET?", answered=True, sources=["a.txt", "b.txt"])
    log.vote(again, 2, up=True)
    mixed = _record(log, "When was it founded?", answered=True, sources=["a.txt"])
    log.vote(mixed, 1, up=True)
    log.vote(mixed, 2, up=False)
    _record(log, "Unvoted answer", answered=True)
    rows = feedback_rows(read_questions([log.path]))
    assert [(r["question"], r["kind"]) for r in rows] == [
        ("who approved  CSET?", "confirmed"), ("When was it founded?", "downvoted")]
    assert rows[0]["expect_sources"] == ["a.txt", "b.txt"] and rows[0]["id"] == f"log-{again}"
    assert rows[1]["recheck"] is True and rows[1]["answered_with"] == ["a.txt"]
