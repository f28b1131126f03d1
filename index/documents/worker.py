"""Extraction with a time budget: each file is loaded and chunked in a worker process.

Extraction libraries (trafilatura, lxml, pypdf, markdown parsing, tokenising) cannot be
interrupted from a thread, and a rebuild also runs in a worker thread of the Discord
bot, so signals are no option. An :class:`Extractor` keeps one child process for the
whole rebuild (forked from a fork server that has the extraction code imported, so
starting one is cheap and never copies the parent's threads), hands it one file at a
time, and waits at most ``seconds``. A child that overruns is killed and replaced, and
the file is skipped with a reason; the rebuild goes on with the next one.
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

from attache.index.documents.base import Document, Skipped, SourceFile, short_error
from attache.index.documents.limits import MAX_TEXT_CHARS

_WARM = "attache.index.documents.warm"
_preload_lock = threading.Lock()
_preloaded = False

Extracted = tuple[Document, list[Any]]


def work(
    file: SourceFile, data: bytes, max_chars: int, chunk_size: int, overlap: int
) -> Extracted | Skipped:
    """Load one file and chunk its text (what the worker runs). Never raises."""
    from attache.index.chunking import chunk_text
    from attache.index.documents.loader import load

    doc = load(file, data, max_chars)
    if isinstance(doc, Skipped):
        return doc
    try:
        return doc, chunk_text(doc.text, chunk_size, overlap)
    except Exception as exc:  # any input must give a result
        return Skipped(file.source, f"could not split into chunks: {short_error(exc)}")


def _serve(conn: Connection) -> None:
    """The worker's loop: one request in, one result out, until the pipe closes."""
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result: object = work(*request)
        except BaseException as exc:  # noqa: BLE001 - report, never die silently
            result = Skipped(request[0].source, f"could not extract text: {short_error(exc)}")
        conn.send(result)


def _context() -> Any:
    """The fork-server context, with the extraction code imported in the server once."""
    global _preloaded
    context = multiprocessing.get_context("forkserver")
    with _preload_lock:
        if not _preloaded:
            context.set_forkserver_preload([_WARM])
            _preloaded = True
    return context


class Extractor:
    """Loads and chunks files in a child process, at most ``seconds`` per file."""

    def __init__(
        self,
        seconds: float,
        chunk_size: int,
        overlap: int,
        max_chars: int = MAX_TEXT_CHARS,
    ) -> None:
        self.seconds = seconds
        self.chunk_size = chunk_size
        self.overlap = overlap
        self.max_chars = max_chars
        self._process: Any = None
        self._conn: Connection | None = None

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def extract(self, file: SourceFile, data: bytes) -> Extracted | Skipped:
        """The document and chunks of one file, or why it is skipped."""
        conn = self._start()
        try:
            conn.send((file, data, self.max_chars, self.chunk_size, self.overlap))
            if not conn.poll(self.seconds):
                self._kill()
                return Skipped(
                    file.source, f"extraction took longer than {self.seconds:g} s (stopped)"
                )
            result = conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            code = self._process.exitcode if self._process is not None else None
            self._kill()
            detail = f" (exit {code})" if code is not None else ""
            return Skipped(file.source, f"could not extract text: the worker process died{detail}")
        return result

    def close(self) -> None:
        """Stop the worker (it also stops by itself when the pipe closes)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process = None

    def _start(self) -> Connection:
        if self._conn is None:
            context = _context()
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child,), daemon=True,
                                      name="attache-extract")
            process.start()
            child.close()
            self._process, self._conn = process, parent
        return self._conn

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
