"""The typed contracts of every `--json` output, as pydantic models.

`attache schema NAME` prints the JSON Schema of each; front ends build these and
render them, and nothing reads a result back by string key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Citation(_Frozen):
    """A verbatim quote: `quote == clean_text[start:end]` of document `source`."""

    n: int = Field(description="the [n] marker in the answer")
    source: str = Field(description="the document's path relative to the documents folder")
    title: str
    quote: str = Field(description="verbatim text of the document")
    start: int = Field(description="offset of the quote in the document's clean text")
    end: int
    heading: str | None = Field(
        default=None, description="the heading path at the quote, 'Charter › Priorities'"
    )
    page: int | None = Field(default=None, description="PDF: the 1-based page of the quote's start")
    url: str | None = Field(default=None, description="where the document can be read, if known")
    outlet: str | None = Field(default=None, description="the document's outlet, if known")
    date: str | None = Field(default=None, description="the document's date (YYYY-MM-DD), if known")


class PassageRef(_Frozen):
    """A retrieved passage: `text == clean_text[start:end]` of document `source`."""

    source: str
    title: str
    text: str
    score: float
    start: int
    end: int


class AskResult(_Frozen):
    """`attache ask --json`, one line of `attache chat --json`, one row of `eval --out`."""

    question: str
    answered: bool
    answer: str
    citations: list[Citation]
    passages: list[PassageRef] = Field(description="the top passages, in rank order")
    seconds: float
    resolved_question: str | None = Field(
        default=None, description="a follow-up question as it was understood"
    )
    note: str | None = Field(default=None, description="why the LLM answer was not used")
    confidence: float | None = Field(
        default=None,
        description="the estimated probability that the answer is right (calibrated; "
        "for a refusal, that the best candidate sentence would have been)",
    )
    missing: str | None = Field(
        default=None, description="for a refusal: what no document supports, when known"
    )
    sides: list[str] | None = Field(
        default=None, description="a comparison's two sides, in the order they are cited"
    )
    id: str | None = Field(default=None, description="the question's id (eval --out only)")


class EvalRow(AskResult):
    """One line of `attache eval --out`: the answer and how it was judged."""

    verdict: dict[str, bool] | None = Field(
        default=None, description="hit_at_1, hit_at_5, answer_hit, passed: whichever apply"
    )


class SkippedFile(_Frozen):
    path: str = Field(description="relative to the documents folder")
    reason: str


class RebuildReport(BaseModel):
    """`attache index rebuild --json`."""

    model_config = ConfigDict(extra="forbid")

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    seconds: float = 0.0
    embedded: int = Field(default=0, description="chunk texts that had to be embedded")
    version: int | None = None
    switched: bool = Field(default=False, description="whether a new version was published")
    segments: int = Field(default=0, description="segments of the version (0: unchanged)")

    @field_serializer("seconds")
    def _milliseconds(self, seconds: float) -> float:
        return round(seconds, 3)


class DocumentInfo(_Frozen):
    source: str
    title: str
    chunks: int
    kind: str
    outlet: str | None = None
    author: str | None = None
    date: str | None = None
    sha256: str
    url: str | None = None


class IndexStatus(_Frozen):
    """`attache index status --json`."""

    documents: list[DocumentInfo]
    chunks: int
    embedding_model: str | None
    built_at: str | None
    version: int | None
    chunk_size: int | None = None
    chunk_overlap: int | None = None
    store: str


class EvalSummary(_Frozen):
    """`attache eval --json`: the scores of one run."""

    questions: int
    refused: int
    refusal_rate: float | None
    median_answer_chars: float | None
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    latency_ms_mean: float | None
    hit_at_1: float | None = None
    hit_at_5: float | None = None
    answer_hit: float | None = None
    passed: int | None = None
    checked: int | None = None
    pass_rate: float | None = None
    answerable: int | None = Field(default=None, description="questions with an answer to find")
    answerable_right: float | None = Field(
        default=None, description="share of answerable questions answered right"
    )
    unanswerable: int | None = Field(
        default=None, description='questions marked "impossible" or "expect_refusal"'
    )
    unanswerable_refused: float | None = Field(
        default=None, description="share of unanswerable questions refused"
    )
    comparisons: int | None = Field(default=None, description="questions with expect_sources")
    comparisons_passed: int | None = None
    overall_accuracy: float | None = Field(
        default=None, description="answerable answered right, unanswerable refused and "
        "comparisons passed, over all three"
    )
    ece: float | None = Field(
        default=None, description="expected calibration error of `confidence` over the "
        "answers given (10 bins)"
    )


class BenchReport(BaseModel):
    """`attache bench --json`: sections of figures, each a mapping of measure to value."""

    model_config = ConfigDict(extra="allow")


class Gap(_Frozen):
    """One group of refused (or 👎) questions that mean the same thing."""

    question: str = Field(description="the group's most central question")
    count: int = Field(description="how many times the group's questions were asked")
    last_asked: str = Field(description="when one was last asked, ISO 8601 UTC")
    examples: list[str] = Field(description="distinct phrasings, most asked first (at most 5)")
    kind: Literal["refused", "downvoted"]
    comments: list[str] = Field(
        default_factory=list, description="what readers said was wrong (👎 only; latest 5)"
    )


class GapsReport(_Frozen):
    """`attache gaps --json`: what the documents could not answer, most asked first."""

    gaps: list[Gap]


class SourceCount(_Frozen):
    source: str
    count: int = Field(description="answers citing it")


class UsageFigures(_Frozen):
    questions: int
    refused: int
    refusal_rate: float | None
    votes_up: int
    votes_down: int
    top_sources: list[SourceCount] = Field(description="the most cited documents (top 5)")
    latency_ms_p50: float | None
    latency_ms_p95: float | None


class StatsReport(UsageFigures):
    """`attache stats --json`: usage in total and per front end."""

    by_front_end: dict[str, UsageFigures]


class FeedbackRow(_Frozen):
    """One line of `attache feedback export`: a question for `attache eval`."""

    id: str = Field(description="log-ROW")
    question: str
    asked_at: str
    kind: Literal["confirmed", "refused", "downvoted"]
    expect_sources: list[str] | None = Field(
        default=None, description="confirmed (👍): the sources the answer must cite again"
    )
    recheck: bool | None = Field(
        default=None, description="refused or 👎: to check again once documents are added"
    )
    answered_with: list[str] | None = Field(default=None, description="👎: the sources cited")
    comments: list[str] | None = Field(default=None, description="👎: what was wrong")


class AddedDocument(_Frozen):
    url: str | None = Field(default=None, description="the article's URL, after redirects")
    file: str | None = Field(default=None, description="the uploaded file's name")
    path: str = Field(description="where it was saved, relative to the documents folder")
    title: str
    feed: str | None = Field(default=None, description="the feed it came from")


class NotAdded(_Frozen):
    url: str | None = None
    file: str | None = None
    reason: str
    feed: str | None = None


class AddResult(_Frozen):
    """`attache add --json`: what was saved, what was not and why, and the rebuild."""

    added: list[AddedDocument]
    skipped: list[NotAdded]
    index: RebuildReport | None = Field(description="the rebuild, when something was added")
    index_error: str | None = Field(
        default=None, description="why the index was not brought up to date")


class FeedSync(_Frozen):
    url: str
    new: int = Field(description="items not seen before")
    seen: int = Field(description="items handled by an earlier sync")
    errors: list[str]
    not_modified: bool = Field(
        default=False,
        description="the server answered the conditional GET with 304: nothing was read")


class SyncResult(AddResult):
    """`attache feeds sync --json`."""

    feeds: list[FeedSync]


class FeedInfo(_Frozen):
    url: str
    title: str | None
    added_at: str | None
    last_sync: str | None
    last_error: str | None
    seen: int = Field(description="items handled so far")


class FeedList(_Frozen):
    """`attache feeds list --json`."""

    feeds: list[FeedInfo]


class FeedFollowed(_Frozen):
    """`attache feeds add --json`."""

    url: str
    title: str | None
    items: int = Field(description="items in the feed now")
    added: bool = Field(description="false when the feed was followed already")


SCHEMAS: dict[str, type[BaseModel]] = {
    "ask": AskResult,
    "chat": AskResult,
    "rebuild": RebuildReport,
    "status": IndexStatus,
    "eval": EvalSummary,
    "eval-row": EvalRow,
    "bench": BenchReport,
    "gaps": GapsReport,
    "stats": StatsReport,
    "feedback": FeedbackRow,
    "add": AddResult,
    "feeds-add": FeedFollowed,
    "feeds-list": FeedList,
    "feeds-sync": SyncResult,
}


# Keys an answer leaves out when they have no value (a question that needed no
# resolving, an answer with no note, a question without an id).
_OMITTED_WHEN_EMPTY = ("resolved_question", "note", "id", "verdict", "missing", "sides")
# Keys of added and skipped entries left out when empty (an upload has no url, an added
# URL no file name, only feed items have a feed), and of an add without an index error.
_ADD_OMITTED = ("url", "file", "feed")


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as the JSON object the command line prints."""
    data = model.model_dump(mode="json")
    if isinstance(model, AskResult | FeedbackRow):
        for key in _OMITTED_WHEN_EMPTY + ("expect_sources", "recheck", "answered_with",
                                          "comments"):
            if data.get(key) is None:
                data.pop(key, None)
    if isinstance(model, AddResult):
        for entry in data["added"] + data["skipped"]:
            for key in _ADD_OMITTED:
                if entry.get(key) is None:
                    entry.pop(key, None)
        if data.get("index_error") is None:
            data.pop("index_error", None)
    return data
