"""The service object every front end calls: answers, rebuild, status."""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attache.index.build import ProgressCallback
    from attache.index.embedding import Embedder
    from attache.index.settings import Settings
    from attache.index.sources.archive import Archive
    from attache.index.sources.fetch import Fetcher
    from attache.index.store import ChromaStore
    from attache.models import FeedbackRow, GapsReport, IndexStatus, RebuildReport, StatsReport
    from attache.retrieval.answer import Answer, Selection
    from attache.retrieval.conversation import Conversation
    from attache.retrieval.extractive import Idf
    from attache.retrieval.llm import ChatLLM
    from attache.retrieval.questionlog import QuestionLog
    from attache.retrieval.search import Passage, Retriever

from attache.errors import MAX_QUESTION_CHARS, QuestionTooLong, UsageError
from attache.retrieval.questionlog import Origin

log = logging.getLogger("attache.answers")
_SURROGATE = re.compile("[\ud800-\udfff]")  # a byte that was not UTF-8, undecoded
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

_FROM_SETTINGS: Any = object()


class Attache:
    """One instance per process: owns the store and the embedding model."""

    def __init__(
        self,
        settings: Settings,
        store: ChromaStore | None = None,
        embedder: Embedder | None = None,
        llm: ChatLLM | None = None,
        question_log: QuestionLog | None = _FROM_SETTINGS,
    ) -> None:
        """`question_log`: where questions are logged; by default the data folder's log
        when `ATTACHE_LOG_QUESTIONS` is on, and None logs nothing."""
        from attache.index.store import ChromaStore

        self.settings = settings
        self.store = store or ChromaStore(settings.data_dir, settings.chroma_url)
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._idf: tuple[Any, Idf] | None = None
        self._llm = llm
        self._lock = threading.Lock()
        self._archive: Archive | None = None
        from attache.retrieval.extractive import AnalysisCache

        self._analyses = AnalysisCache()
        if question_log is _FROM_SETTINGS:
            question_log = None
            if settings.log_questions:
                from attache.retrieval.questionlog import QuestionLog

                question_log = QuestionLog.for_data_dir(settings.data_dir, settings.log_days)
        self.question_log: QuestionLog | None = question_log

    @property
    def embedder(self) -> Embedder:
        with self._embedder_lock:
            if self._embedder is None:
                from attache.index.embedding import load_embedder

                self._embedder = load_embedder(self.settings)
            return self._embedder

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                from attache.retrieval.search import Retriever

                self._retriever = Retriever(
                    self.store,
                    self.embedder,
                    self.settings.data_dir,
                    refresh_seconds=self.settings.refresh_seconds,
                )
            return self._retriever

    @property
    def llm(self) -> ChatLLM | None:
        if self._llm is None and self.settings.llm_url:
            from attache.retrieval.llm import ChatLLM

            key = self.settings.llm_api_key
            self._llm = ChatLLM(
                self.settings.llm_url,
                self.settings.llm_model,
                key.get_secret_value() if key else None,
                timeout=self.settings.llm_timeout,
                max_reply_chars=self.settings.llm_max_reply_chars,
            )
        return self._llm

    def _idf_for(self, retriever: Retriever) -> Idf:
        from attache.retrieval.extractive import Idf

        lexical = retriever.lexical()
        with self._lock:
            if self._idf is None or self._idf[0] is not lexical:
                self._idf = (lexical, Idf(lexical))
            return self._idf[1]

    def warm_up(self) -> None:
        """Load the model and the current index (BM25 and each segment's vector index)
        now rather than on the first question."""
        retriever = self.retriever
        self._idf_for(retriever)
        retriever.warm_up(self.embedder.embed_query("warm up"))

    def ask(
        self, question: str, conversation: Conversation | None = None,
        origin: Origin | None = None,
    ) -> Answer:
        """Answer from the documents, citing them, or say plainly that they don't.

        Every answer is logged (when the question log is on) with `origin`: the front
        end and the asker; the answer's `log_id` is its row there."""
        if len(question) > MAX_QUESTION_CHARS:
            raise QuestionTooLong(
                f"the question is {len(question):,} characters long; the limit is "
                f"{MAX_QUESTION_CHARS:,}")
        answer = self._answer(question, conversation)
        if self.question_log is not None:
            answer = self._log(answer, origin or Origin())
        return answer

    def _log(self, answer: Answer, origin: Origin) -> Answer:
        from dataclasses import replace

        assert self.question_log is not None
        retriever = self._retriever
        confidence = getattr(answer, "confidence", None)
        row = self.question_log.record(
            origin=origin,
            question=answer.question,
            resolved_question=answer.resolved_question,
            answered=answer.answered,
            confidence=confidence,
            sources=[c.source for c in answer.citations],
            index_version=retriever.version if retriever is not None else None,
            latency_ms=answer.seconds * 1000,
        )
        return replace(answer, log_id=row) if row is not None else answer

    def vote(self, log_id: int, user: str | int, up: bool, comment: str | None = None) -> bool:
        """A reader's 👍 or 👎 on a logged answer (one per reader, the last one counts);
        False when the answer is no longer in the log or the log is off."""
        if self.question_log is None:
            return False
        return self.question_log.vote(log_id, user, up, comment)

    def _log_files(self, logs: list[Path] | None) -> list[Path]:
        from attache.retrieval.questionlog import LOG_FILE

        return list(logs) if logs else [self.settings.data_dir / LOG_FILE]

    def gaps(self, since: datetime | None = None, logs: list[Path] | None = None) -> GapsReport:
        """Refused and 👎 questions of the log(s), grouped by meaning, most asked first."""
        from attache.models import Gap, GapsReport
        from attache.retrieval.gaps import MAX_COMMENTS, MAX_EXAMPLES, find_gaps
        from attache.retrieval.questionlog import read_questions

        rows = read_questions(self._log_files(logs), since)
        groups = find_gaps(rows, self._embed_many)
        return GapsReport(gaps=[
            Gap(question=g.representative(), count=g.count, last_asked=g.last_asked,
                examples=g.texts[:MAX_EXAMPLES], kind=g.kind,
                comments=g.comments[-MAX_COMMENTS:])
            for g in groups
        ])

    def _embed_many(self, texts: Any) -> Any:
        import numpy as np

        embedder = self.embedder
        return np.stack([embedder.embed_query(text) for text in texts]) if texts else (
            np.zeros((0, 1)))

    def stats(self, since: datetime | None = None, logs: list[Path] | None = None) -> StatsReport:
        """Questions, refusals, votes, most cited documents and latency, per front end."""
        from attache.models import StatsReport
        from attache.retrieval.questionlog import read_questions, stats

        return StatsReport(**stats(read_questions(self._log_files(logs), since)))

    def feedback(self, since: datetime | None = None,
                 logs: list[Path] | None = None) -> list[FeedbackRow]:
        """The log as a regression set for `attache eval`."""
        from attache.models import FeedbackRow
        from attache.retrieval.questionlog import feedback_rows, read_questions

        rows = read_questions(self._log_files(logs), since)
        return [FeedbackRow(**row) for row in feedback_rows(rows)]

    def purge_log(self) -> list[Path]:
        """Delete this data folder's question log and its salt."""
        from attache.retrieval.questionlog import QuestionLog

        target = self.question_log or QuestionLog.for_data_dir(self.settings.data_dir)
        return target.purge()

    def _answer(self, question: str, conversation: Conversation | None) -> Answer:
        from attache.retrieval.answer import NO_ANSWER, Answer, cite

        started = time.perf_counter()
        # bytes that were not UTF-8 (a lone surrogate) read as U+FFFD; control characters
        # are not words
        question = _SURROGATE.sub("\ufffd", question)
        question = " ".join(_CONTROL.sub(" ", question).split())
        if not question:
            raise UsageError("the question is empty")
        context, resolved, note = "", question, ""
        if conversation is not None and conversation.turns:
            context = conversation.context_for(question)
            if context and self.llm is not None:
                try:
                    history = [(t.question, t.answer) for t in conversation.turns]
                    resolved, context = self.llm.condense(history, question), ""
                except Exception as exc:  # any failure: keep the offline resolution
                    log.warning("LLM follow-up resolution failed: %s", exc)
            if context:
                resolved = f"{question} ({context})"
        from attache.retrieval.question import comparison

        compared = comparison(resolved) if not context else None
        if compared is not None:
            answer = self._compare(question, resolved, compared, started)
            if conversation is not None:
                conversation.add(question, resolved, answer.answer, answer.answered,
                                 tuple(c.source for c in answer.citations))
            return answer
        prefer = conversation.sources_for(question) if context and conversation else frozenset()
        selection = self.select(resolved if not context else question, resolved, context,
                                prefer=prefer)
        answered = selection.answered
        text, citations = cite(selection.sentences) if answered else ("", [])
        if self.llm is not None and answered:
            # the extractive selection decides whether to answer; the LLM writes it
            try:
                answered, text, citations = self._llm_answer(resolved, selection)
            except Exception as exc:  # LLMError and anything unexpected: fall back
                note = f"{exc}; showing the extractive answer instead"
                log.warning("LLM answer failed: %s", exc)
        if not answered:
            text, citations = NO_ANSWER, []
        answer = Answer(
            question=question,
            answered=answered,
            answer=text,
            citations=citations,
            passages=selection.passages,
            seconds=time.perf_counter() - started,
            resolved_question=resolved,
            note=note,
            evidence=selection.evidence,
            confidence=selection.confidence,
            missing=None if answered else selection.missing,
        )
        if conversation is not None:
            conversation.add(question, resolved, text, answered,
                             tuple(c.source for c in citations))
        return answer

    def _compare(self, question: str, resolved: str, compared: Any, started: float) -> Answer:
        """A comparison: each side searched and answered on its own, one cited sentence
        per side, labelled; a side no document supports is said so."""
        from attache.retrieval.answer import (
            SIDE_PASSAGES,
            SPECIFIC_TOPIC_TERMS,
            Answer,
            compose_comparison,
            merge_passages,
            pick_side,
        )
        from attache.retrieval.extractive import content_terms

        sides = []
        for label, query in zip(compared.labels, compared.sides):
            side_question = compared.question_for(query)
            selection = self.select(side_question, k=SIDE_PASSAGES)
            taken = [s.sentence for s in sides if s.sentence is not None]
            # "differ in what they do with Executive Order 13694": a topic of its own
            specific = len(content_terms(compared.topic)) >= SPECIFIC_TOPIC_TERMS
            sides.append(pick_side(label, query, selection, taken, specific=specific,
                                   asked=bool(compared.asked)))
        answered, text, citations, missing = compose_comparison(sides)
        confidences = [s.confidence for s in sides if s.sentence is not None]
        return Answer(
            question=question,
            answered=answered,
            answer=text,
            citations=citations,
            passages=merge_passages([s.passages for s in sides]),
            seconds=time.perf_counter() - started,
            resolved_question=resolved,
            confidence=min(confidences) if confidences else 0.0,
            missing=missing,
            sides=[s.label for s in sides],
        )

    def select(self, question: str, query: str | None = None, context: str = "",
               k: int | None = None, prefer: frozenset[str] = frozenset()) -> Selection:
        """Retrieve passages for `query` (default: the question) and select the answer
        sentences for `question` from the best `k` (default `answer.PASSAGES`), with
        their confidence; passages of the documents in `prefer` (a follow-up's previous
        answer) first, each group in its order, and only their sentences join the best."""
        from attache.retrieval.answer import PASSAGES, select
        from attache.retrieval.search import CANDIDATES

        query = query or question
        retriever = self.retriever
        vector = self.embedder.embed_query(query)
        passages = retriever.search(query, CANDIDATES, vector=vector)
        if prefer:
            passages = sorted(passages, key=lambda p: p.source not in prefer)
        return select(
            question,
            passages,
            self._idf_for(retriever),
            k=k or PASSAGES,
            context=context,
            query_vector=vector,
            cache=self._analyses,
            min_confidence=self.settings.min_confidence,
            within=prefer,
        )

    def _llm_answer(self, question: str, selection: Selection) -> tuple[bool, str, list[Any]]:
        """The LLM's answer, its markers renumbered to citations quoting the documents."""
        from attache.models import Citation
        from attache.retrieval.answer import place, provenance
        from attache.retrieval.llm import MARKER

        assert self.llm is not None
        reply = self.llm.answer(question, selection.passages)
        if not reply.answered:
            return False, "", []
        citations: list[Citation] = []
        numbers: dict[int, int] = {}
        for n in reply.cited:
            passage: Passage = selection.passages[n - 1]
            quote = next((c for c in selection.ranked if c.passage.id == passage.id), None)
            start, end, text = (
                (quote.start, quote.end, quote.text) if quote
                else (passage.start, passage.end, passage.text)
            )
            numbers[n] = len(citations) + 1
            heading, page = place(passage, start)
            citations.append(Citation(
                n=numbers[n], source=passage.source, title=passage.title,
                quote=text, start=start, end=end, heading=heading or None, page=page,
                **provenance(passage.metadata),
            ))
        text = MARKER.sub(lambda m: f"[{numbers[int(m.group(1))]}]", reply.text)
        return True, text, citations

    def rebuild(self, progress: ProgressCallback | None = None) -> RebuildReport:
        """Bring the index up to date with the documents folder."""
        from attache.index.build import Indexer

        report = Indexer(self.settings, self.store, lambda: self.embedder, progress).rebuild()
        if self._retriever is not None:
            self._retriever.refresh()
        return report

    def status(self) -> IndexStatus:
        """The indexed documents and how the index was built."""
        from attache.index.catalog import Catalog
        from attache.models import DocumentInfo, IndexStatus

        pointer = self.store.pointer()
        if pointer is None:
            return IndexStatus(
                documents=[], chunks=0, embedding_model=None, built_at=None, version=None,
                store=self.store.location,
            )
        manifest = Catalog(self.settings.data_dir).manifest(self.store, pointer)
        documents = [
            DocumentInfo(
                source=entry.source, title=entry.title, chunks=entry.chunks, kind=entry.kind,
                outlet=entry.outlet, author=entry.author, date=entry.date, sha256=entry.sha256,
                url=entry.url,
            )
            for entry in manifest.values()
        ]
        return IndexStatus(
            documents=documents,
            chunks=sum(d.chunks for d in documents),
            embedding_model=pointer.embedding_model,
            built_at=pointer.built_at,
            version=pointer.version,
            chunk_size=pointer.chunk_size,
            chunk_overlap=pointer.chunk_overlap,
            store=self.store.location,
        )

    def archive(self, fetcher: Fetcher | None = None) -> Archive:
        """Adding articles (URLs, uploads, feed items) to the documents folder, each add
        followed by an incremental rebuild; one per service, so its per-host pauses hold."""
        from attache.index.sources.archive import Archive

        with self._lock:
            if self._archive is None or fetcher is not None:
                self._archive = Archive(self.settings, fetcher=fetcher, rebuild=self.rebuild)
            return self._archive
