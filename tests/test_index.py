"""The write path end to end: real files, the real model, real Chroma."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, cli_json, subprocess_env, write_corpus

from attache.index.build import EMBED_GROUP, STEPS
from attache.index.catalog import Catalog, version_records, version_state
from attache.index.documents import discover, load, read
from attache.index.store import ChromaStore, Record

BOILERPLATE = (
    "Connect with us",
    "Click to comment",
    "Leave a Reply",
    "Your email address will not be published",
    "Latest News",
)


def chunks_by_source(service) -> dict[str, list[Record]]:
    pointer = service.store.pointer()
    grouped: dict[str, list[Record]] = {}
    for record in version_records(service.store, pointer):
        grouped.setdefault(record.metadata["source"], []).append(record)
    return grouped


def test_seeds_index_cleanly_with_exact_offsets(make_service, seeds_copy):
    service = make_service(docs_dir=seeds_copy)
    report = service.rebuild()
    assert (report.added, report.documents, report.skipped) == (2, 2, [])
    assert report.chunks == report.embedded > 0

    status = service.status()
    sources = {d.source: d for d in status.documents}
    assert set(sources) == {"000_a92a2212d4dbd9c6.txt", "004_703d1c81ffbf0c84.txt"}
    assert sources["000_a92a2212d4dbd9c6.txt"].title.startswith("Mike Pompeo Approves")
    assert status.embedding_model == "all-MiniLM-L6-v2-int8"
    assert status.chunks == report.chunks

    for source, records in chunks_by_source(service).items():
        file = next(f for f in discover(seeds_copy, 10**7)[0] if f.source == source)
        text = load(file, read(file)).text
        for record in records:
            for phrase in BOILERPLATE:
                assert phrase.lower() not in record.text.lower()
            meta = record.metadata
            assert text[meta["start"] : meta["end"]] == record.text
            assert meta["title"] == sources[source].title
    # the BM25 index of the version finds the Pompeo article for its own words
    lexical = Catalog(service.settings.data_dir).lexical(service.store, service.store.pointer())
    best_id, _ = lexical.search("Bureau of Cyberspace Security and Emerging Technologies", 1)[0]
    assert best_id in {r.id for r in chunks_by_source(service)["000_a92a2212d4dbd9c6.txt"]}


def test_add_edit_delete_and_idempotent_rerun(make_service, tmp_path):
    docs = tmp_path / "docs"
    paths = write_corpus(docs, documents=4, paragraphs=3)
    service = make_service(docs_dir=docs)
    first = service.rebuild()
    assert (first.added, first.documents) == (4, 4)
    ids_before = {r.id for rs in chunks_by_source(service).values() for r in rs}

    again = service.rebuild()
    assert (again.embedded, again.switched, again.unchanged) == (0, False, 4)
    assert {r.id for rs in chunks_by_source(service).values() for r in rs} == ids_before

    # add one
    shutil.copy(ROOT / "seeds" / "004_703d1c81ffbf0c84.txt", docs / "added.txt")
    added = service.rebuild()
    assert (added.added, added.unchanged, added.updated, added.removed) == (1, 4, 0, 0)
    new_chunks = len(chunks_by_source(service)["added.txt"])
    assert added.embedded == new_chunks

    # edit one paragraph of one document: only its new chunk texts are embedded
    text = paths[0].read_text(encoding="utf-8")
    paths[0].write_text(text + "\nA new paragraph about the Geneva talks on norms.\n", "utf-8")
    edited = service.rebuild()
    assert (edited.updated, edited.unchanged, edited.added) == (1, 4, 0)
    assert 0 < edited.embedded <= len(chunks_by_source(service)[paths[0].name])
    assert any("Geneva talks" in r.text for r in chunks_by_source(service)[paths[0].name])

    # delete one: its chunks leave Chroma and the BM25 index
    paths[1].unlink()
    removed = service.rebuild()
    assert (removed.removed, removed.embedded, removed.documents) == (1, 0, 4)
    assert paths[1].name not in chunks_by_source(service)
    pointer = service.store.pointer()
    lexical = Catalog(service.settings.data_dir).lexical(service.store, pointer)
    assert len(list(version_records(service.store, pointer))) == removed.chunks == len(
        lexical.ids)
    # only the segments of the current and the previous version are kept
    previous = service.store.state(pointer.version - 1)
    kept = set(version_state(service.store, pointer).names) | {n for n, _ in previous["segments"]}
    assert set(service.store.version_collections()) == kept


def test_cli_rebuild_json_and_status(run_cli, seeds_copy, tmp_path):
    env = {"ATTACHE_DOCS_DIR": str(seeds_copy), "ATTACHE_DATA_DIR": str(tmp_path / "data")}
    first = cli_json(run_cli("index", "rebuild", "--json", env=env))
    assert set(first) >= {"added", "updated", "removed", "unchanged", "skipped", "documents",
                          "chunks", "seconds"}
    assert first["added"] == 2 and first["skipped"] == []
    assert all(isinstance(first[k], int) for k in ("added", "updated", "removed", "unchanged",
                                                   "documents", "chunks"))
    second = cli_json(run_cli("index", "rebuild", "--json", env=env))
    assert second["embedded"] == 0 and second["unchanged"] == 2
    status = cli_json(run_cli("index", "status", "--json", env=env))
    assert {d["source"] for d in status["documents"]} == {
        "000_a92a2212d4dbd9c6.txt", "004_703d1c81ffbf0c84.txt"}
    assert status["chunks"] == first["chunks"] and status["built_at"]
    assert all(d["chunks"] > 0 and d["title"] for d in status["documents"])
    human = run_cli("index", "status", env=env)
    assert human.returncode == 0 and "000_a92a2212d4dbd9c6.txt" in human.stdout


def test_mixed_folder_indexes_good_files_and_reports_bad_ones(run_cli, tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    article = "Envoys met in Geneva to discuss norms for state behaviour in cyberspace."
    (docs / "plain.txt").write_text(f"Geneva talks\n\n{article}\n", encoding="utf-8")
    (docs / "bom.txt").write_bytes("\ufeffBOM title\n\nThe café hosted the envoy.\n".encode("utf-8"))
    (docs / "wide.txt").write_bytes("Wide title\n\nThe Senate voted on the envoy.\n".encode("utf-16"))
    (docs / "legacy.txt").write_bytes("Legacy title\n\n“Quoted” café costs €5.\n".encode("cp1252"))
    (docs / "sub" / "notes.md").write_text("# Notes\n\nThe bureau opened in 2022.\n", "utf-8")
    (docs / "empty.txt").write_text("")
    (docs / "blank.md").write_text("   \n\n  ")
    (docs / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR" + bytes(range(256)))
    (docs / "report.docx").write_bytes(b"PK\x03\x04 not supported")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n garbage without objects")
    (docs / "huge.txt").write_text("word " * 300_000)
    outside = tmp_path / "outside.txt"
    outside.write_text("secret outside the folder")
    (docs / "link.txt").symlink_to(outside)
    env = {"ATTACHE_DOCS_DIR": str(docs), "ATTACHE_DATA_DIR": str(tmp_path / "data"),
           "ATTACHE_MAX_FILE_MB": "1"}
    result = run_cli("index", "rebuild", "--json", env=env)
    report = cli_json(result)
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {"empty.txt", "blank.md", "binary.txt", "report.docx", "broken.pdf",
                            "huge.txt", "link.txt"}
    assert "binary" in reasons["binary.txt"] and "unsupported" in reasons["report.docx"]
    assert "PDF" in reasons["broken.pdf"] and "MB" in reasons["huge.txt"]
    assert "outside" in reasons["link.txt"]
    assert report["documents"] == report["added"] == 5
    # one warning line per skipped file
    warnings = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert len(warnings) == 7
    status = cli_json(run_cli("index", "status", "--json", env=env))
    assert {d["source"] for d in status["documents"]} == {
        "plain.txt", "bom.txt", "wide.txt", "legacy.txt", "sub/notes.md"}
    store = ChromaStore(tmp_path / "data")
    texts = " ".join(r.text for r in store.records(store.pointer().collection))
    assert "“Quoted” café costs €5." in texts and "secret" not in texts


def test_missing_or_empty_folder_exits_2_and_keeps_the_index(run_cli, seeds_copy, tmp_path):
    data = tmp_path / "data"
    env = {"ATTACHE_DOCS_DIR": str(seeds_copy), "ATTACHE_DATA_DIR": str(data)}
    cli_json(run_cli("index", "rebuild", "--json", env=env))
    before = ChromaStore(data).pointer()
    for folder in (tmp_path / "nowhere", tmp_path / "empty"):
        if folder.name == "empty":
            folder.mkdir()
        result = run_cli("index", "rebuild", env={**env, "ATTACHE_DOCS_DIR": str(folder)})
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and str(folder) in result.stderr
    assert ChromaStore(data).pointer() == before
    status = cli_json(run_cli("index", "status", "--json", env=env))
    assert len(status["documents"]) == 2


def _start_rebuild(docs: Path, data: Path) -> subprocess.Popen[str]:
    env = subprocess_env(ATTACHE_DOCS_DIR=str(docs), ATTACHE_DATA_DIR=str(data))
    return subprocess.Popen(
        [sys.executable, "-c", _PROGRESS_SCRIPT], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


# A rebuild that prints each progress step, so the test can kill it mid-way.
_PROGRESS_SCRIPT = """
import sys
from attache.index.settings import load_settings
from attache.retrieval.service import Attache
def progress(stage, done, total):
    print(stage, done, total, flush=True)
Attache(load_settings()).rebuild(progress)
print("finished", flush=True)
"""


def _wait_for_line(process: subprocess.Popen[str], prefix: str, minimum: int) -> None:
    deadline = time.monotonic() + 300
    assert process.stdout is not None
    for line in process.stdout:
        parts = line.split()
        if parts and parts[0] == prefix and int(parts[1]) >= minimum:
            return
        assert time.monotonic() < deadline
    raise AssertionError(f"rebuild ended before {prefix} {minimum}: {process.stderr.read()}")


def test_rebuild_killed_midway_keeps_old_index_and_next_run_finishes(
    make_service, seeds_copy, tmp_path
):
    data = tmp_path / "data"
    service = make_service(docs_dir=seeds_copy, data_dir=data)
    service.rebuild()
    before = service.status()

    write_corpus(seeds_copy, documents=40, paragraphs=10)
    process = _start_rebuild(seeds_copy, data)
    _wait_for_line(process, "embedding", EMBED_GROUP + 1)  # past the first written group
    process.send_signal(signal.SIGKILL)
    process.wait(30)

    reader = make_service(docs_dir=seeds_copy, data_dir=data)
    assert reader.status() == before
    pointer = reader.store.pointer()
    query = reader.embedder.embed_query("Who approved the cyberspace security bureau?")
    hits = reader.store.query(pointer.collection, query, 3)
    assert hits and hits[0].metadata["source"] in {d.source for d in before.documents}

    finished = make_service(docs_dir=seeds_copy, data_dir=data).rebuild()
    assert finished.switched and finished.documents == 42
    # the killed run had written its first group of vectors: they are reused
    assert finished.embedded <= finished.chunks - before.chunks - EMBED_GROUP
    assert make_service(docs_dir=seeds_copy, data_dir=data).status().chunks == finished.chunks


class _FailingEmbedder:
    """The real model, failing after `after` batches as a full disk or a bug would."""

    def __init__(self, real, after: int, error: Exception) -> None:
        self.name, self._real, self._left, self._error = real.name, real, after, error

    def embed_documents(self, texts, progress=None):
        if self._left == 0:
            raise self._error
        self._left -= 1
        return self._real.embed_documents(texts, progress)

    def embed_query(self, text):
        return self._real.embed_query(text)


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), RuntimeError("bug")])
def test_rebuild_failing_midway_keeps_old_index(make_settings, embedder, seeds_copy, error):
    from attache.retrieval.service import Attache

    settings = make_settings(docs_dir=seeds_copy)
    Attache(settings, embedder=embedder).rebuild()
    before = Attache(settings, embedder=embedder).status()
    write_corpus(seeds_copy, documents=30, paragraphs=10)
    failing = Attache(settings, embedder=_FailingEmbedder(embedder, 1, error))
    with pytest.raises(type(error)):
        failing.rebuild()
    assert Attache(settings, embedder=embedder).status() == before
    after = Attache(settings, embedder=embedder).rebuild()
    assert after.switched and after.documents == 32


def test_second_writer_is_refused_at_once(run_cli, seeds_copy, tmp_path):
    data = tmp_path / "data"
    write_corpus(seeds_copy, documents=40, paragraphs=12)  # several seconds of embedding
    first = _start_rebuild(seeds_copy, data)
    try:
        _wait_for_line(first, "embedding", 1)
        started = time.monotonic()
        second = run_cli("index", "rebuild", env={
            "ATTACHE_DOCS_DIR": str(seeds_copy), "ATTACHE_DATA_DIR": str(data)})
        assert second.returncode == 3
        assert "another rebuild is running" in second.stderr
        assert time.monotonic() - started < 30
        assert first.poll() is None  # the first one is still working, undisturbed
    finally:
        first.wait(300)
    assert first.returncode == 0
    status = cli_json(run_cli("index", "status", "--json", env={
        "ATTACHE_DOCS_DIR": str(seeds_copy), "ATTACHE_DATA_DIR": str(data)}))
    assert len(status["documents"]) == 42


def test_writes_respect_chromas_batch_limit(tmp_path):
    store = ChromaStore(tmp_path / "data")
    store.create("attache-v000001", "test-model")
    n = store.max_batch * 2 + 17
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(n, 8)).astype(np.float32)
    records = [Record(f"id{i}", f"text {i}", {"source": "s", "position": i, "text_sha": str(i)})
               for i in range(n)]
    store.add("attache-v000001", records, vectors)
    store.create("attache-v000002", "test-model")
    store.copy("attache-v000001", "attache-v000002", [r.id for r in records])
    assert store.count("attache-v000002") == n
    store.delete("attache-v000002", [r.id for r in records[: n - 5]])
    assert store.count("attache-v000002") == 5


def test_changing_the_model_reembeds_everything_in_a_new_collection(
    make_service, seeds_copy, httpserver
):
    """An OpenAI-compatible embeddings endpoint stands in for a remote model."""
    import hashlib

    from werkzeug import Response

    def embeddings(request):
        body = json.loads(request.data)
        data = []
        for i, text in enumerate(body["input"]):
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            vector = np.random.default_rng(seed).normal(size=16).tolist()
            data.append({"index": i, "embedding": vector, "object": "embedding"})
        return Response(json.dumps({"data": data, "model": body["model"]}),
                        content_type="application/json")

    httpserver.expect_request("/v1/embeddings", method="POST").respond_with_handler(embeddings)
    default = make_service(docs_dir=seeds_copy)
    first = default.rebuild()
    remote = make_service(docs_dir=seeds_copy, embed_url=httpserver.url_for("/v1"),
                          embed_model="toy-embedder")
    remote._embedder = None  # load the endpoint the settings name, not the shared model
    switched = remote.rebuild()
    assert switched.updated == 2 and switched.embedded == switched.chunks == first.chunks
    pointer = remote.store.pointer()
    assert pointer.embedding_model.startswith("openai:toy-embedder@")
    assert remote.store.model_of(pointer.collection) == pointer.embedding_model
    assert remote.store.model_of(pointer.previous) == "all-MiniLM-L6-v2-int8"
    # and back: the default model is embedded afresh, not mixed with the toy vectors
    back = make_service(docs_dir=seeds_copy).rebuild()
    assert back.embedded == back.chunks


def test_chroma_server_and_a_second_instance_with_an_empty_data_folder(
    make_service, seeds_copy, chroma_server, tmp_path
):
    writer = make_service(docs_dir=seeds_copy, chroma_url=chroma_server,
                          data_dir=tmp_path / "writer")
    report = writer.rebuild()
    assert report.switched
    reader = make_service(docs_dir=tmp_path / "absent", chroma_url=chroma_server,
                          data_dir=tmp_path / "reader")
    status = reader.status()
    assert {d.source for d in status.documents} == {
        "000_a92a2212d4dbd9c6.txt", "004_703d1c81ffbf0c84.txt"}
    assert status.chunks == report.chunks
    lexical = Catalog(tmp_path / "reader").lexical(reader.store, reader.store.pointer())
    assert len(lexical.ids) == report.chunks
    hit_id, _ = lexical.search("Ned Price fundamentally new era", 1)[0]
    assert reader.store.get(reader.store.pointer().collection, [hit_id])[0].metadata[
        "source"] == "004_703d1c81ffbf0c84.txt"
    assert (tmp_path / "reader" / "cache").is_dir()
    assert not (tmp_path / "reader" / "chroma").exists()


def test_network_beyond_loopback_fails_in_tests():
    import socket

    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("93.184.216.34", 80), timeout=2)
    with pytest.raises(OSError, match="blocked"):
        socket.getaddrinfo("example.com", 443)
    probe = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('1.1.1.1', 53), 2)"],
        env=subprocess_env(), capture_output=True, text=True)
    assert probe.returncode != 0 and "blocked" in probe.stderr


def test_tiktoken_loads_offline_without_a_cache_variable(monkeypatch):
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    probe = subprocess.run(
        [sys.executable, "-c", "from attache.index.chunking import count_tokens; "
         "print(count_tokens('Secretary Blinken announced a new bureau.'))"],
        env=subprocess_env(), capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert int(probe.stdout) > 5
    assert "TIKTOKEN_CACHE_DIR" not in os.environ


# A rebuild that stops at one step (a progress stage reaching a count) and waits there
# to be killed, saying so.
_STOP_SCRIPT = """
import sys, time
from attache.index.settings import load_settings
from attache.retrieval.service import Attache
stage, count = sys.argv[1], int(sys.argv[2])
def progress(name, done, total):
    if name == stage and done == count:
        print("at", name, done, flush=True)
        time.sleep(600)
Attache(load_settings()).rebuild(progress)
print("finished", flush=True)
"""

POMPEO = "000_a92a2212d4dbd9c6.txt"
# every step of a rebuild, and inside publish the moment between the version's state
# record and the pointer
KILL_POINTS = [*[(step, 0) for step in STEPS], ("merging", 0), ("publish", 1)]


@pytest.mark.parametrize("shared", [False, True], ids=["embedded", "server"])
def test_rebuild_killed_at_every_step_keeps_the_old_version_serving(
    make_service, seeds_copy, tmp_path, request, shared
):
    writer_dir = tmp_path / "writer"
    server = request.getfixturevalue("chroma_server") if shared else None
    extra = {"chroma_url": server} if server else {}
    service = make_service(docs_dir=seeds_copy, data_dir=writer_dir, **extra)
    service.rebuild()
    before = service.status()
    # the change: one document removed (its segment is then rewritten), one added
    (seeds_copy / POMPEO).unlink()
    write_corpus(seeds_copy, documents=3, paragraphs=4)
    env = subprocess_env(ATTACHE_DOCS_DIR=str(seeds_copy), ATTACHE_DATA_DIR=str(writer_dir),
                         **({"ATTACHE_CHROMA_URL": server} if server else {}))
    question = "Who approved the creation of the Bureau of Cyberspace Security?"
    for stage, count in KILL_POINTS:
        child = subprocess.Popen([sys.executable, "-c", _STOP_SCRIPT, stage, str(count)],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.split() == ["at", stage, str(count)], child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        # a new reader (on a shared server: elsewhere, with an empty data folder) still
        # has the old version, whole
        reader = make_service(docs_dir=tmp_path / "none", **extra, data_dir=tmp_path / (
            f"r-{stage}{count}" if shared else "writer"))
        assert reader.status().model_dump(exclude={"store"}) == before.model_dump(
            exclude={"store"})
        answer = reader.ask(question)
        assert answer.answered and "Pompeo" in answer.answer
        assert {c.source for c in answer.citations} == {POMPEO}
    finished = make_service(docs_dir=seeds_copy, data_dir=writer_dir, **extra).rebuild()
    assert finished.switched and (finished.added, finished.removed) == (3, 1)
    assert finished.version == before.version + 1
    reader = make_service(docs_dir=tmp_path / "none", **extra,
                          data_dir=tmp_path / ("after" if shared else "writer"))
    assert {d.source for d in reader.status().documents} == {
        "004_703d1c81ffbf0c84.txt", "briefing_000.txt", "briefing_001.txt", "briefing_002.txt"}
    assert all(p.source != POMPEO for p in reader.retriever.search(question, 10))


def test_unchanged_files_are_not_read_and_touched_ones_are_hashed_once(
    make_service, tmp_path, monkeypatch
):
    import attache.index.build as build

    docs = tmp_path / "docs"
    paths = write_corpus(docs, documents=3, paragraphs=2)
    past = time.time_ns() - 60 * 10**9
    for path in paths:
        os.utime(path, ns=(past, past))
    service = make_service(docs_dir=docs)
    service.rebuild()
    reads: list[str] = []
    real_read = build.read
    monkeypatch.setattr(
        build, "read", lambda file, *rest: reads.append(file.source) or real_read(file, *rest))
    again = service.rebuild()
    assert (again.switched, again.unchanged, reads) == (False, 3, [])
    # touched, same bytes: read and hashed, still unchanged, and remembered
    os.utime(paths[0], ns=(past + 10**9, past + 10**9))
    touched = service.rebuild()
    assert (touched.switched, touched.unchanged, reads) == (False, 3, [paths[0].name])
    assert service.rebuild().unchanged == 3 and reads == [paths[0].name]
    # same size, new bytes, new time: a change
    text = paths[1].read_text(encoding="utf-8")
    paths[1].write_text(text.replace("Briefing 1", "Briefing 9"), encoding="utf-8")
    changed = service.rebuild()
    assert (changed.switched, changed.updated, changed.unchanged) == (True, 1, 2)


def test_a_file_that_is_skipped_again_publishes_no_new_version(make_service, tmp_path):
    docs = tmp_path / "docs"
    write_corpus(docs, documents=2, paragraphs=2)
    (docs / "empty.txt").write_text("")
    service = make_service(docs_dir=docs)
    first = service.rebuild()
    assert (first.added, [s.path for s in first.skipped]) == (2, ["empty.txt"])
    collections = set(service.store.version_collections())
    again = service.rebuild()
    assert (again.switched, again.version, again.documents) == (False, first.version, 2)
    assert [s.path for s in again.skipped] == ["empty.txt"]
    assert set(service.store.version_collections()) == collections  # nothing left behind
    # a document that becomes unreadable is a change: it leaves the index
    (docs / "briefing_000.txt").write_text("")
    gone = service.rebuild()
    assert (gone.switched, gone.removed, gone.documents) == (True, 1, 1)


def test_a_file_extraction_skipped_is_not_read_again_until_it_changes(
        make_service, tmp_path, monkeypatch):
    import attache.index.build as build

    docs = tmp_path / "docs"
    write_corpus(docs, documents=2, paragraphs=2)
    broken = docs / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj\n")  # cut short: extraction fails
    past = time.time_ns() - 60 * 10**9
    for path in docs.iterdir():
        os.utime(path, ns=(past, past))
    service = make_service(docs_dir=docs)
    first = service.rebuild()
    [skip] = first.skipped
    assert skip.path == "broken.pdf" and "corrupt PDF" in skip.reason
    reads: list[str] = []
    real_read = build.read
    monkeypatch.setattr(
        build, "read", lambda file, *rest: reads.append(file.source) or real_read(file, *rest))
    again = service.rebuild()
    assert (again.switched, reads, again.skipped) == (False, [], [skip])  # said, not read
    # new bytes and time: read again
    broken.write_bytes(b"%PDF-1.4\n2 0 obj\n")
    os.utime(broken, ns=(past + 10**9, past + 10**9))
    assert [s.path for s in service.rebuild().skipped] == ["broken.pdf"]
    assert set(reads) == {"broken.pdf"}
    count = len(reads)
    assert service.rebuild().skipped and len(reads) == count  # remembered again
    # other settings may change the verdict: read again under them
    before = len(reads)
    looser = make_service(docs_dir=docs, extract_seconds=60)
    assert [s.path for s in looser.rebuild().skipped] == ["broken.pdf"]
    assert len(reads) > before and set(reads) == {"broken.pdf"}


def test_a_new_pipeline_reads_unchanged_files_again(make_service, tmp_path, monkeypatch):
    """When what the write path makes of a file changes (`build.PIPELINE`), a rebuild
    reads every file again into a new collection, as for a new model: sentence vectors
    follow the sentence offsets it made, so none is taken over."""
    import attache.index.build as build

    docs = tmp_path / "docs"
    paths = write_corpus(docs, documents=2, paragraphs=2)
    service = make_service(docs_dir=docs)
    first = service.rebuild()
    assert service.store.pointer().pipeline == build.PIPELINE
    assert service.rebuild().switched is False
    reads: list[str] = []
    real_read = build.read
    monkeypatch.setattr(
        build, "read", lambda file, *rest: reads.append(file.source) or real_read(file, *rest))
    monkeypatch.setattr(build, "PIPELINE", build.PIPELINE + 1)
    again = service.rebuild()
    assert set(reads) == {p.name for p in paths}
    assert (again.switched, again.updated) == (True, 2)
    assert again.embedded == again.chunks == first.chunks
    assert service.store.pointer().pipeline == build.PIPELINE
    assert service.rebuild().switched is False


# A rebuild in a new process, as `attache index rebuild --json` runs it, then which of the
# heavy libraries it imported.
_HEAVY = ("chromadb", "onnxruntime", "fastembed", "llama_index")
_REBUILD_AND_MODULES = f"""
import json, sys
from attache.bot.cli import main
status = main(["index", "rebuild", "--json"])
print(json.dumps([m for m in {_HEAVY!r} if m in sys.modules]))
sys.exit(status)
"""


def _rebuild_in_new_process(env: dict[str, str]) -> tuple[dict, list[str]]:
    done = subprocess.run([sys.executable, "-c", _REBUILD_AND_MODULES], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report, modules = done.stdout.strip().splitlines()[-2:]
    return json.loads(report), json.loads(modules)


def test_noop_rebuild_in_a_new_process_opens_neither_chroma_nor_the_model(
    make_service, seeds_copy, tmp_path
):
    data = tmp_path / "data"
    make_service(docs_dir=seeds_copy, data_dir=data).rebuild()
    env = subprocess_env(ATTACHE_DOCS_DIR=str(seeds_copy), ATTACHE_DATA_DIR=str(data))
    report, modules = _rebuild_in_new_process(env)
    assert (report["switched"], report["unchanged"], report["embedded"]) == (False, 2, 0)
    assert modules == []
    # touched, same bytes: hashed, still nothing to do, still without the store
    path = seeds_copy / POMPEO
    os.utime(path, ns=(time.time_ns() - 10**10,) * 2)
    report, modules = _rebuild_in_new_process(env)
    assert (report["switched"], report["unchanged"], modules) == (False, 2, [])
    # a change is written the usual way
    write_corpus(seeds_copy, documents=1, paragraphs=2)
    report, modules = _rebuild_in_new_process(env)
    assert (report["switched"], report["added"]) == (True, 1)
    assert {"chromadb", "onnxruntime"} <= set(modules)


def test_noop_check_without_the_store_is_not_fooled(seeds_copy, tmp_path):
    """Deciding "nothing changed" without opening Chroma relies on the writer's copy of
    the pointer: a Chroma folder deleted, or a rebuild that died between switching the
    pointer and copying it, must not leave a copy that lies. (Each rebuild runs in a new
    process, as a user's would: one process keeps an embedded store it has opened.)"""
    data = tmp_path / "data"
    env = subprocess_env(ATTACHE_DOCS_DIR=str(seeds_copy), ATTACHE_DATA_DIR=str(data))
    first, _ = _rebuild_in_new_process(env)
    # the Chroma folder deleted, the cache kept: everything is indexed again
    shutil.rmtree(data / "chroma")
    again, _ = _rebuild_in_new_process(env)
    assert (again["switched"], again["added"], again["chunks"]) == (True, 2, first["chunks"])
    # a rebuild adding a document dies right after switching the pointer
    added = write_corpus(seeds_copy, documents=1, paragraphs=2)[0]
    dies = subprocess.run([sys.executable, "-c", _DIES_AFTER_SWITCHING], env=env,
                          capture_output=True, text=True, timeout=600)
    assert "died after switching" in dies.stderr
    # the folder is back as the previous version had it (same files, same times)
    added.unlink()
    undone, _ = _rebuild_in_new_process(env)
    assert (undone["switched"], undone["removed"], undone["documents"]) == (True, 1, 2)


_DIES_AFTER_SWITCHING = """
from attache.index.settings import load_settings
from attache.index.store import ChromaStore
from attache.retrieval.service import Attache
def dies(self, pointer):
    raise SystemExit("died after switching")
ChromaStore.record_published = dies
Attache(load_settings()).rebuild()
"""


def test_merge_policy():
    from attache.index.build import merges
    from attache.index.catalog import VersionState

    base = ("attache-v000001", 100_000)
    small = [(f"attache-v00000{i}", 50) for i in range(2, 6)]
    assert merges(VersionState([base, *small[:3]])) == []
    # four segments of one size tier become one; the big one is left alone
    assert merges(VersionState([base, *small])) == [[n for n, _ in small]]
    # a segment with more than a quarter of its chunks removed is rewritten
    removed = {"attache-v000002": [f"x{i}" for i in range(20)]}
    assert merges(VersionState([base, small[0]], removed)) == [["attache-v000002"]]
    assert merges(VersionState([base, small[0]], {base[0]: ["a"] * 5000})) == []
    # never more than ten segments
    many = [base] + [(f"attache-v{i:06d}", 10 ** (1 + i % 4)) for i in range(2, 14)]
    groups = merges(VersionState(many))
    assert len(many) - sum(len(g) - 1 for g in groups) <= 10


def test_bm25_over_segments_weighs_terms_over_the_whole_version():
    from attache.index.catalog import lexical_texts
    from attache.index.lexical import LexicalIndex, VersionLexical

    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    paragraphs = [p for t in texts for p in t.split("\n\n") if len(p) > 80]
    ids = [f"p{i}" for i in range(len(paragraphs))]
    whole = LexicalIndex.build(ids, paragraphs)
    cut = len(ids) * 2 // 3
    split = VersionLexical([("a", LexicalIndex.build(ids[:cut], paragraphs[:cut])),
                            ("b", LexicalIndex.build(ids[cut:], paragraphs[cut:]))], {})
    assert sorted(split.ids) == sorted(ids)
    assert split.document_frequencies() == whole.document_frequencies()
    for query in ("Bureau of Cyberspace Security", "Ned Price new era", "Blinken reorganization"):
        assert split.search(query, 1)[0][0] == whole.search(query, 1)[0][0]
        assert {c for c, _ in split.search(query, 5)} & {c for c, _ in whole.search(query, 5)}
    # removed chunks score nothing
    best = whole.search("Bureau of Cyberspace Security", 1)[0][0]
    part = "a" if ids.index(best) < cut else "b"
    without = VersionLexical(split.segments, {part: {best}})
    assert best not in {c for c, _ in without.search("Bureau of Cyberspace Security", 50)}
    assert best not in without.ids
    assert lexical_texts([]) == ([], [])
