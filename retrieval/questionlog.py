"""The local question log: one row per question asked, and readers' votes on answers.

A SQLite file in the data folder (`questions.sqlite3`), written by the service after
every answer, whatever the front end. Discord user ids are stored only as HMAC-SHA256
digests keyed by a random salt kept beside the log (`log_salt`, mode 0600). Rows older
than the retention period are deleted as new ones are written. A failure to write
(a locked or read-only file, a full disk) never fails an answer: it is logged once as
a warning and the answer goes on.

Reading (`stats`, `gap_candidates`, `feedback_rows`) accepts several log files, so
the logs of several instances sharing one Chroma server can be read together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger("attache.questionlog")

LOG_FILE = "questions.sqlite3"
SALT_FILE = "log_salt"
MAX_STORED_CHARS = 4000  # longer text (a question with its context) is cut before storing
MAX_COMMENT_CHARS = 500  # the "What was wrong?" text
MAX_SOURCES = 20
BUSY_SECONDS = 5.0  # how long a write waits for another writer of the same file
UP, DOWN = 1, -1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asked_at TEXT NOT NULL,
    front_end TEXT NOT NULL,
    user_hash TEXT,
    question TEXT NOT NULL,
    resolved_question TEXT,
    answered INTEGER NOT NULL,
    confidence REAL,
    sources TEXT NOT NULL,
    index_version INTEGER,
    latency_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at);
CREATE TABLE IF NOT EXISTS votes (
    question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    voter_hash TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    comment TEXT,
    voted_at TEXT NOT NULL,
    PRIMARY KEY (question_id, voter_hash)
);
"""


def now_utc() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """The stored form of a time: ISO 8601 in UTC, to the second, sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_since(text: str) -> datetime:
    """`--since`: a date (`2026-11-01`, midnight UTC) or a date and time (UTC unless
    it says otherwise)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def bound(text: str | None, limit: int) -> str | None:
    """Untrusted text made storable: no NUL or other control characters, at most
    `limit` characters."""
    if text is None:
        return None
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    cleaned = cleaned.strip()
    return cleaned[:limit] if cleaned else None


@dataclass(frozen=True)
class Origin:
    """Who asked: the front end ("cli", "discord", ...) and, when known, the user's
    id there (only ever stored as a salted hash)."""

    front_end: str = "cli"
    user: str | int | None = None


@dataclass(frozen=True)
class LoggedQuestion:
    """One row of the log, as read back."""

    id: int
    asked_at: str
    front_end: str
    question: str
    resolved_question: str | None
    answered: bool
    confidence: float | None
    sources: list[str]
    index_version: int | None
    latency_ms: float
    votes_up: int = 0
    votes_down: int = 0
    comments: list[str] = field(default_factory=list)
    log_file: str = ""


def _write_ahead(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode (a property of the file, kept once set). Two connections
    switching a new file at once make SQLite report "locked" at once, without waiting
    for the other: retry for up to `BUSY_SECONDS`."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class QuestionLog:
    """The question log of one data folder; safe to share between threads."""

    def __init__(self, path: Path, salt_path: Path | None = None, retention_days: int = 90,
                 clock: Any = now_utc) -> None:
        self.path = Path(path)
        self.salt_path = Path(salt_path) if salt_path else self.path.with_name(SALT_FILE)
        self.retention_days = retention_days
        self.clock = clock
        self._lock = threading.Lock()
        self._local = threading.local()
        self._salt: bytes | None = None
        self._warned = False
        self._ready = False

    @classmethod
    def for_data_dir(cls, data_dir: Path, retention_days: int = 90) -> QuestionLog:
        return cls(Path(data_dir) / LOG_FILE, Path(data_dir) / SALT_FILE, retention_days)

    # ------------------------------------------------------------------ connections

    def _connect(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # questions are private: readable by the owner only
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS,
                                         isolation_level=None)
            try:
                _write_ahead(connection)
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute("PRAGMA foreign_keys=ON")
            except BaseException:
                connection.close()
                raise
            self._local.connection = connection
        if not self._ready:
            with self._lock:
                if not self._ready:
                    connection.executescript(_SCHEMA)
                    self._ready = True
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        else:
            connection.execute("COMMIT")

    def _failed(self, what: str, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            log.warning("the question log (%s) could not be written, %s: %s; answers go on "
                        "without it", self.path, what, exc)
        else:
            log.debug("question log: %s failed: %s", what, exc)

    # ------------------------------------------------------------------ privacy

    def salt(self) -> bytes:
        """The random salt of this data folder, created once (mode 0600)."""
        if self._salt is None:
            with self._lock:
                if self._salt is None:
                    self._salt = self._load_or_create_salt()
        return self._salt

    def _load_or_create_salt(self) -> bytes:
        try:
            return bytes.fromhex(self.salt_path.read_text(encoding="ascii").strip())
        except FileNotFoundError:
            pass
        self.salt_path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_bytes(32)
        try:
            fd = os.open(self.salt_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return bytes.fromhex(self.salt_path.read_text(encoding="ascii").strip())
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value.hex() + "\n")
        return value

    def user_hash(self, user: str | int | None) -> str | None:
        """HMAC-SHA256 of a user id with this folder's salt; the id itself is never kept."""
        if user is None or str(user) == "":
            return None
        return hmac.new(self.salt(), str(user).encode(), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ writing

    def record(
        self,
        *,
        origin: Origin,
        question: str,
        resolved_question: str | None,
        answered: bool,
        confidence: float | None,
        sources: Sequence[str],
        index_version: int | None,
        latency_ms: float,
    ) -> int | None:
        """Store one question; its row id, or None when the log could not be written."""
        now = self.clock()
        question_text = bound(question, MAX_STORED_CHARS) or ""
        resolved = bound(resolved_question, MAX_STORED_CHARS)
        if resolved == question_text:
            resolved = None
        unique_sources = list(dict.fromkeys(str(s) for s in sources))[:MAX_SOURCES]
        try:
            user_hash = self.user_hash(origin.user)
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT INTO questions (asked_at, front_end, user_hash, question, "
                    "resolved_question, answered, confidence, sources, index_version, "
                    "latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (timestamp(now), bound(origin.front_end, 40) or "unknown", user_hash,
                     question_text, resolved, int(bool(answered)),
                     None if confidence is None else float(confidence),
                     json.dumps(unique_sources, ensure_ascii=False), index_version,
                     round(float(latency_ms), 2)),
                )
                row_id = cursor.lastrowid
                if self.retention_days > 0:
                    cutoff = timestamp(now - timedelta(days=self.retention_days))
                    db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
            return row_id
        except (sqlite3.Error, OSError, ValueError) as exc:
            self._failed("recording a question", exc)
            return None

    def vote(self, question_id: int, user: str | int, up: bool,
             comment: str | None = None) -> bool:
        """One vote per reader per answer: a second vote replaces the first (a 👎 keeps
        its comment unless a new one is given). False when the question is not in the log
        (expired or purged) or the log cannot be written."""
        now = timestamp(self.clock())
        try:
            voter = self.user_hash(user)
            with self._transaction() as db:
                if db.execute("SELECT 1 FROM questions WHERE id = ?",
                              (question_id,)).fetchone() is None:
                    return False
                db.execute(
                    "INSERT INTO votes (question_id, voter_hash, vote, comment, voted_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (question_id, voter_hash) DO UPDATE SET "
                    "vote = excluded.vote, voted_at = excluded.voted_at, "
                    "comment = CASE WHEN excluded.vote = 1 THEN NULL "
                    "ELSE COALESCE(excluded.comment, votes.comment) END",
                    (question_id, voter, UP if up else DOWN,
                     None if up else bound(comment, MAX_COMMENT_CHARS), now),
                )
            return True
        except (sqlite3.Error, OSError, ValueError) as exc:
            self._failed("recording a vote", exc)
            return False

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def purge(self) -> list[Path]:
        """Delete the log and its salt; the paths removed."""
        self.close()
        removed = []
        for path in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"),
                     self.salt_path):
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                pass
        with self._lock:
            self._salt = None
            self._ready = False
        return removed


# --------------------------------------------------------------------------- reading


def read_questions(paths: Iterable[Path], since: datetime | None = None) -> list[LoggedQuestion]:
    """Every question of the given log files (missing files are skipped), oldest first,
    with its votes. Opened read-only: reading never creates or changes a log."""
    rows: list[LoggedQuestion] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            continue
        try:
            rows.extend(_read_one(path, since))
        except sqlite3.Error as exc:
            from attache.errors import DataFolderError

            raise DataFolderError(f"cannot read the question log {path}: {exc}") from None
    rows.sort(key=lambda r: (r.asked_at, r.log_file, r.id))
    return rows


def _read_one(path: Path, since: datetime | None) -> list[LoggedQuestion]:
    rows: list[LoggedQuestion] = []
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=2.0)) as db:
        db.row_factory = sqlite3.Row
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        if "questions" not in tables:
            return rows
        cutoff = timestamp(since) if since else ""
        votes: dict[int, list[sqlite3.Row]] = {}
        for vote in db.execute(
            "SELECT v.question_id, v.vote, v.comment FROM votes v "
            "JOIN questions q ON q.id = v.question_id WHERE q.asked_at >= ? "
            "ORDER BY v.voted_at", (cutoff,)
        ):
            votes.setdefault(vote["question_id"], []).append(vote)
        for row in db.execute(
            "SELECT * FROM questions WHERE asked_at >= ? ORDER BY asked_at, id", (cutoff,)
        ):
            mine = votes.get(row["id"], [])
            rows.append(LoggedQuestion(
                id=row["id"], asked_at=row["asked_at"], front_end=row["front_end"],
                question=row["question"], resolved_question=row["resolved_question"],
                answered=bool(row["answered"]), confidence=row["confidence"],
                sources=json.loads(row["sources"] or "[]"),
                index_version=row["index_version"], latency_ms=row["latency_ms"],
                votes_up=sum(1 for v in mine if v["vote"] == UP),
                votes_down=sum(1 for v in mine if v["vote"] == DOWN),
                comments=[v["comment"] for v in mine if v["vote"] == DOWN and v["comment"]],
                log_file=str(path),
            ))
    return rows


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile (`q` in 0..1) of `values`, or None without any: the
    one definition `attache stats`, `attache eval` and `attache bench` report."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(q * 1000) * len(ordered) // 1000))  # ceil(q * n), exact for q in ‰
    return ordered[min(len(ordered), rank) - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def figures(rows: Sequence[LoggedQuestion], top: int = 5) -> dict[str, Any]:
    """Counts, refusal rate, votes, most cited documents and latency of some questions."""
    refused = sum(1 for r in rows if not r.answered)
    cited = Counter(s for r in rows if r.answered for s in r.sources)
    latencies = [r.latency_ms for r in rows]
    return {
        "questions": len(rows),
        "refused": refused,
        "refusal_rate": round(refused / len(rows), 4) if rows else None,
        "votes_up": sum(r.votes_up for r in rows),
        "votes_down": sum(r.votes_down for r in rows),
        "top_sources": [{"source": s, "count": n} for s, n in
                        sorted(cited.items(), key=lambda kv: (-kv[1], kv[0]))[:top]],
        "latency_ms_p50": _ms(percentile(latencies, 0.50)),
        "latency_ms_p95": _ms(percentile(latencies, 0.95)),
    }


def stats(rows: Sequence[LoggedQuestion]) -> dict[str, Any]:
    """`figures` in total and per front end."""
    by_front_end: dict[str, list[LoggedQuestion]] = {}
    for row in rows:
        by_front_end.setdefault(row.front_end, []).append(row)
    total = figures(rows)
    total["by_front_end"] = {name: figures(part) for name, part in sorted(by_front_end.items())}
    return total


def feedback_rows(rows: Sequence[LoggedQuestion]) -> list[dict[str, Any]]:
    """Rows `attache eval` reads: an answer voted 👍 (and never 👎) expects the same
    sources; a refused question, or an answer voted 👎, is listed to check again
    (`recheck`). Each distinct question once, its latest asking winning."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = " ".join(row.question.casefold().split())
        item: dict[str, Any] | None = None
        base = {"id": f"log-{row.id}", "question": row.question, "asked_at": row.asked_at}
        if not row.answered:
            item = {**base, "kind": "refused", "recheck": True}
        elif row.votes_down:
            item = {**base, "kind": "downvoted", "recheck": True,
                    "answered_with": row.sources}
            if row.comments:
                item["comments"] = row.comments
        elif row.votes_up and row.sources:
            item = {**base, "kind": "confirmed", "expect_sources": row.sources}
        if item is not None:
            latest.pop(key, None)
            latest[key] = item
    return list(latest.values())
