"""Extraction with a time budget: each file is loaded and chunked in a worker process.

Extraction libraries (trafilatura, lxml, pypdf, tokenising) cannot be interrupted from a
thread, and a rebuild also runs in a worker thread of the Discord bot, so signals are no
option. An :class:`Extractor` starts one child process for the whole rebuild (a fresh
interpreter, ``python -m attache.index.documents.worker``: nothing of the parent's
threads or main module is copied), hands it one file at a time over a pipe, and waits at
most ``seconds`` for the answer. A child that overruns is killed and replaced, and the
file is skipped with a reason; the rebuild goes on with the next one.

The protocol is one JSON line per message; a request's line is followed by the file's
bytes. The child's own output goes nowhere (libraries' warnings would repeat the one
warning line the rebuild gives per skipped file).
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from attache.index.documents.base import Document, Skipped, SourceFile, short_error
from attache.index.documents.limits import MAX_TEXT_CHARS
from attache.index.documents.structure import Heading, Link, ListItem, PageMark

Extracted = tuple[Document, list[Any]]
# The document's structure: tuples of flat records, sent as lists of their fields.
_STRUCTURE = {"headings": Heading, "items": ListItem, "links": Link, "pages": PageMark}
# Every other field of a Document is a plain value, sent as it is.
_DOC_FIELDS = tuple(f.name for f in dataclasses.fields(Document) if f.name not in _STRUCTURE)
_READY = b"ready\n"
# Starting the worker (an interpreter importing the extraction libraries) is not part of
# any file's budget, but is bounded too.
_START_SECONDS = 120.0


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
        headings = {h.start for h in doc.headings}
        return doc, chunk_text(doc.text, chunk_size, overlap, headings=headings)
    except Exception as exc:  # any input must give a result
        return Skipped(file.source, f"could not split into chunks: {short_error(exc)}")


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
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def extract(self, file: SourceFile, data: bytes) -> Extracted | Skipped:
        """The document and chunks of one file, or why it is skipped."""
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        request = {
            "source": file.source,
            "name": file.path.name,
            "max_chars": self.max_chars,
            "chunk_size": self.chunk_size,
            "overlap": self.overlap,
            "length": len(data),
        }
        try:
            process.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            process.stdin.write(data)
            process.stdin.flush()
            line = _read_line(process.stdout, time.monotonic() + self.seconds)
        except (OSError, ValueError):
            line = b""
        if line is None:
            self._stop()
            return Skipped(file.source, f"extraction took longer than {self.seconds:g} s (stopped)")
        if not line:
            code = process.poll()
            self._stop()
            detail = f" (exit status {code})" if code is not None else ""
            return Skipped(file.source, f"could not extract text: the worker process died{detail}")
        return _decode_result(file, json.loads(line))

    def close(self) -> None:
        """Stop the worker: it ends by itself when its input closes."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._stop()
            process = subprocess.Popen(
                [sys.executable, "-m", "attache.index.documents.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
            self._process = process
            assert process.stdout is not None
            if _read_line(process.stdout, time.monotonic() + _START_SECONDS) != _READY:
                self._stop()
                raise RuntimeError("the document extraction worker process did not start")
        return self._process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def _read_line(stream: IO[bytes], deadline: float) -> bytes | None:
    """One line from the worker; None past the deadline, b'' when it died."""
    fd = stream.fileno()
    parts: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        block = os.read(fd, 1 << 20)
        if not block:
            return b""
        parts.append(block)
        if block.endswith(b"\n"):
            return b"".join(parts)


def _decode_result(file: SourceFile, message: dict[str, Any]) -> Extracted | Skipped:
    from attache.index.chunking import Chunk

    if "skipped" in message:
        return Skipped(file.source, str(message["skipped"]))
    fields: dict[str, Any] = {key: message["doc"].get(key) for key in _DOC_FIELDS}
    for key, kind in _STRUCTURE.items():
        fields[key] = tuple(kind(*row) for row in message["doc"].get(key, ()))
    doc = Document(**fields)
    chunks = [
        Chunk(position, start, end, doc.text[start:end], tokens)
        for position, start, end, tokens in message["chunks"]
    ]
    return doc, chunks


def _encode_result(result: Extracted | Skipped) -> dict[str, Any]:
    if isinstance(result, Skipped):
        return {"skipped": result.reason}
    doc, chunks = result
    return {
        "doc": {
            **{key: getattr(doc, key) for key in _DOC_FIELDS},
            **{key: [dataclasses.astuple(x) for x in getattr(doc, key)] for key in _STRUCTURE},
        },
        "chunks": [[c.position, c.start, c.end, c.tokens] for c in chunks],
    }


def _read_exactly(stream: IO[bytes], length: int) -> bytes:
    parts: list[bytes] = []
    while length > 0:
        block = stream.read(min(length, 1 << 20))
        if not block:
            raise EOFError
        parts.append(block)
        length -= len(block)
    return b"".join(parts)


def _serve() -> None:
    """The worker's loop: one request in, one result out, until its input closes."""
    from attache.index.documents.warm import warm

    warm()  # the libraries and the tokenizer, loaded once

    requests, replies = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    # Anything a library prints must not mix with the replies.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    replies.write(_READY)
    replies.flush()
    while True:
        line = requests.readline()
        if not line:
            return
        request = json.loads(line)
        try:
            data = _read_exactly(requests, int(request["length"]))
        except EOFError:
            return
        file = SourceFile(path=Path(request["name"]), source=request["source"], size=len(data))
        try:
            result = work(
                file, data, request["max_chars"], request["chunk_size"], request["overlap"]
            )
        except BaseException as exc:  # noqa: BLE001 - report, never die silently
            result = Skipped(file.source, f"could not extract text: {short_error(exc)}")
        replies.write(json.dumps(_encode_result(result)).encode("utf-8") + b"\n")
        replies.flush()


if __name__ == "__main__":
    _serve()
