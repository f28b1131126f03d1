"""`attache bench`: build and query speed and memory, measured in one run.

- Build: a full index build of a corpus into a fresh data folder, against a floor
  measured in the same run: the same model embedding the same texts and nothing else.
- Queries: in-process latency (retrieve and answer) over the corpus's questions.
- Cold `attache ask`: the wall time and peak memory of a new process answering one
  question, as a user runs it.
- Changes: adding one article and removing one, and a rebuild with nothing changed,
  on the corpus (1x) and on 16 renamed copies of it (16x), with their ratios.
- Growth: stores filled with N synthetic chunks (random unit vectors and texts drawn
  from the corpus's vocabulary, no model involved, so the store's own cost shows),
  each queried through the full hybrid path in a process of its own; then, on the
  same store (its synthetic documents written as files), a no-op rebuild, adding one
  real article (embedded by the model) and removing one document; its disk use.

Timings are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attache.retrieval.questionlog import percentile

DEFAULT_DOCS = Path("../shared/eval/squad-public/docs")
GROWTH_SIZES = (10_000, 100_000)
COPIES = 16
NOOP_DOCUMENTS = 10_000
QUICK_SIZES = (1_000, 10_000)
QUERIES = 400
GROWTH_QUERIES = 200
COLD_RUNS = 3

Progress = Callable[[str], None]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def machine() -> dict[str, Any]:
    memory = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            memory = round(int(handle.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": memory,
            "python": platform.python_version(), "system": platform.system()}


def _questions(docs: Path, limit: int) -> list[str]:
    """Questions beside the corpus (questions.jsonl), else its sentences turned around."""
    path = docs.parent / "questions.jsonl"
    found: list[str] = []
    if path.is_file():
        with path.open(encoding="utf-8") as handle:
            found = [json.loads(line)["question"] for line in handle if line.strip()]
    if not found:
        from attache.index.chunking import split_sentences

        for file in sorted(docs.rglob("*.txt"))[:50]:
            text = file.read_text(encoding="utf-8", errors="replace")
            found += [f"What about {text[s.start:s.end][:80]}?" for s in split_sentences(text)]
    rng = random.Random(11)
    rng.shuffle(found)
    return found[:limit] or ["What is this collection about?"]


# Run in the child: report the process's own peak resident memory (VmHWM) at exit.
# (ru_maxrss from wait4 would not do: Linux carries it over from the forking parent.)
_PEAK_WRAPPER = """
import atexit, runpy, sys
def _peak():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM'):
                sys.stderr.write('\\nATTACHE_PEAK_KB ' + line.split()[1] + '\\n')
atexit.register(_peak)
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)
"""


def _child(module: str, args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run `python -m module args` as a user would; its wall time, peak memory in MB
    and standard output."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_WRAPPER, module, *args], env=env, capture_output=True
    )
    wall = time.perf_counter() - started
    err = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {err[-800:]}")
    peak_kb = [int(line.split()[1]) for line in err.splitlines()
               if line.startswith("ATTACHE_PEAK_KB")]
    return wall, round(peak_kb[-1] / 1024) if peak_kb else 0, done.stdout.decode()


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTACHE_")}
    env["ATTACHE_DATA_DIR"] = str(data_dir)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def bench_build(settings: Any, docs: Path, data_dir: Path, embedder: Any) -> dict[str, Any]:
    """A full build, then the floor: the same texts through the same model alone."""
    from attache.index.chunking import chunk_context, contextual_text
    from attache.retrieval.service import Attache

    build_settings = settings.model_copy(update={"docs_dir": docs, "data_dir": data_dir})
    service = Attache(build_settings, embedder=embedder, question_log=None)
    started = time.perf_counter()
    report = service.rebuild()
    build = time.perf_counter() - started
    from attache.index.catalog import version_records

    texts = [contextual_text(chunk_context(r.metadata), r.text)
             for r in version_records(service.store, service.store.pointer())]
    started = time.perf_counter()
    embedder.embed_documents(texts)
    floor = time.perf_counter() - started
    return {
        "documents": report.documents,
        "chunks": report.chunks,
        "build_seconds": round(build, 2),
        "floor_seconds": round(floor, 2),
        "build_over_floor": round(build / floor, 3) if floor else None,
        "chunks_per_second": round(report.chunks / build, 1) if build else None,
    }


def query_worker(data_dir: str, questions_file: str) -> None:
    """In a process of its own: load the index, answer every question, print timings."""
    from attache.index.settings import Settings
    from attache.retrieval.service import Attache

    questions = json.loads(Path(questions_file).read_text(encoding="utf-8"))
    service = Attache(Settings(data_dir=Path(data_dir)), question_log=None)
    started = time.perf_counter()
    service.warm_up()
    load = time.perf_counter() - started
    latencies = []
    for question in questions:
        started = time.perf_counter()
        service.ask(question)
        latencies.append(time.perf_counter() - started)
    print(json.dumps({"load_seconds": load, "latencies": latencies}))


def bench_queries(data_dir: Path, questions: list[str], work: Path) -> dict[str, Any]:
    path = work / "questions.json"
    path.write_text(json.dumps(questions), encoding="utf-8")
    _, peak, out = _child("attache.retrieval.bench", ["--worker", str(data_dir), str(path)],
                          _env(data_dir))
    data = json.loads(out.strip().splitlines()[-1])
    latencies = data["latencies"]
    return {
        "queries": len(latencies),
        "query_ms_mean": _ms(statistics.fmean(latencies)),
        "query_ms_p50": _ms(percentile(latencies, 0.5) or 0.0),
        "query_ms_p95": _ms(percentile(latencies, 0.95) or 0.0),
        "load_seconds": round(data["load_seconds"], 2),
        "peak_mb": peak,
    }


def bench_cold_ask(data_dir: Path, question: str) -> dict[str, Any]:
    walls, peaks = [], []
    for _ in range(COLD_RUNS):
        wall, peak, _ = _child("attache.bot.cli", ["ask", question], _env(data_dir))
        walls.append(wall)
        peaks.append(peak)
    return {
        "cold_ask_seconds_median": round(statistics.median(walls), 2),
        "cold_ask_seconds_max": round(max(walls), 2),
        "cold_ask_peak_mb": max(peaks),
    }


def _timed_rebuild(service: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    report = service.rebuild()
    return time.perf_counter() - started, report


def bench_changes(settings: Any, docs: Path, work: Path, embedder: Any,
                  progress: Progress) -> dict[str, Any]:
    """Add one article, remove one, and change nothing, at 1x and COPIES x the corpus.

    The article added is held out of the corpus (so its chunks really are embedded, the
    same text at both sizes); the one removed is a document of the corpus."""
    from attache.retrieval.service import Attache

    files = sorted(docs.rglob("*.txt"))
    if len(files) < 2:
        raise FileNotFoundError(f"the benchmark needs at least 2 documents in {docs}")
    held_out, corpus = files[-1], files[:-1]
    rows: dict[str, Any] = {}
    for copies in (1, COPIES):
        folder = work / f"changes-{copies}x" / "docs"
        folder.mkdir(parents=True)
        for copy in range(copies):
            for file in corpus:
                shutil.copyfile(file, folder / f"c{copy:02d}-{file.name}")
        service = Attache(settings.model_copy(update={
            "docs_dir": folder, "data_dir": folder.parent / "index"}), embedder=embedder)
        progress(f"changes: building {copies}x the corpus")
        build, report = _timed_rebuild(service)
        shutil.copyfile(held_out, folder / f"added-{held_out.name}")
        progress(f"changes: adding one article at {copies}x")
        add, added = _timed_rebuild(service)
        progress(f"changes: removing one article at {copies}x")
        (folder / f"c00-{corpus[0].name}").unlink()
        remove, _ = _timed_rebuild(service)
        noop, _ = _timed_rebuild(service)
        rows[f"{copies}x"] = {
            "documents": report.documents, "chunks": report.chunks,
            "build_seconds": round(build, 2), "add_seconds": round(add, 2),
            "add_embedded": added.embedded, "remove_seconds": round(remove, 3),
            "noop_seconds": round(noop, 3),
        }
        shutil.rmtree(folder.parent, ignore_errors=True)
    small, big = rows["1x"], rows[f"{COPIES}x"]
    rows["add_ratio"] = round(big["add_seconds"] / small["add_seconds"], 2)
    rows["remove_ratio"] = round(big["remove_seconds"] / small["remove_seconds"], 2)
    return rows


def fill_synthetic(data_dir: Path, n: int, vocabulary: list[str], seed: int = 5,
                   settings: Any = None, docs_dir: Path | None = None,
                   per_doc: int = 50, progress: Progress | None = None) -> None:
    """A store of `n` synthetic chunks published as the current version. With a
    `docs_dir`, each synthetic document is also written there as a file and the index is
    recorded as built by `settings`'s model, so that a rebuild of that folder finds it
    up to date.

    Streamed: each batch of chunks is made, written to Chroma (in batches as large as it
    takes) and tokenized for BM25, then dropped; what is kept for the whole store is the
    chunks' BM25 token ids and the manifest."""
    import hashlib

    import numpy as np

    from attache.index.catalog import Catalog, DocumentEntry, VersionState
    from attache.index.build import PIPELINE
    from attache.index.embedding import model_identity
    from attache.index.lexical import LexicalBuilder
    from attache.index.store import ChromaStore, Pointer, Record, version_name

    rng = np.random.default_rng(seed)
    store = ChromaStore(data_dir)
    name = version_name(1)
    model = model_identity(settings) if settings is not None and docs_dir else "synthetic"
    store.create(name, model)
    step = max(per_doc, store.max_batch // per_doc * per_doc)  # whole documents a batch
    words = np.array(vocabulary)
    lexical = LexicalBuilder()
    manifest: dict[str, DocumentEntry] = {}
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
    reported = 0
    for first in range(0, n, step):
        count = min(step, n - first)
        vectors = rng.normal(size=(count, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        batch = []
        for start in range(first, first + count, per_doc):
            source = f"synthetic-{start // per_doc:06d}.txt"
            picks = words[rng.integers(0, len(words), size=(min(per_doc, n - start), 60))]
            chunks = [" ".join(row) + "." for row in picks]
            body = f"{source}\n\n" + "\n\n".join(chunks) + "\n"
            data = body.encode("utf-8")
            sha = hashlib.sha256(data).hexdigest()
            size, mtime = len(data), -1
            if docs_dir is not None:
                path = docs_dir / source
                path.write_bytes(data)
                mtime = path.stat().st_mtime_ns - 3_000_000_000
                os.utime(path, ns=(mtime, mtime))
            entry = DocumentEntry(source, sha, source, "txt", segment=name, size=size,
                                  mtime_ns=mtime)
            for position, text in enumerate(chunks):
                rid = f"s{start + position:07d}"
                entry.ids.append(rid)
                batch.append(Record(rid, text, {
                    "source": source, "title": source, "kind": "txt", "position": position,
                    "start": 0, "end": len(text), "doc_sha": sha,
                    "text_sha": f"{start + position:x}"}))
            manifest[source] = entry
        store.add(name, batch, vectors)
        lexical.add([r.id for r in batch], [r.text for r in batch])
        del batch, vectors
        if progress and first + count - reported >= 100_000:
            reported = first + count
            progress(f"growth: {reported:,} of {n:,} chunks written")
    catalog = Catalog(data_dir)
    lexical.build().save(catalog.folder(name) / "lexical")
    del lexical
    chunk_size = settings.chunk_size if settings is not None else 200
    overlap = settings.chunk_overlap if settings is not None else 40
    catalog.write_manifest(1, manifest)
    store.write_state(1, VersionState([(name, n)]).to_json())
    store.publish(Pointer(name, 1, model, time.strftime("%Y-%m-%dT%H:%M:%S"), chunk_size,
                          overlap, len(manifest), n, segments=name, pipeline=PIPELINE))


def bench_noop(settings: Any, docs: Path, work: Path, documents: int = NOOP_DOCUMENTS,
               progress: Progress | None = None) -> dict[str, Any]:
    """A rebuild with nothing changed on a folder of `documents` files (synthetic, two
    chunks each), in process and as `attache index rebuild` in a new process."""
    import re

    vocabulary = sorted({
        w.lower() for f in sorted(docs.rglob("*.txt"))[:5]
        for w in re.findall(r"[A-Za-z]{3,}", f.read_text(encoding="utf-8", errors="replace"))
    }) or ["word"]
    data_dir, folder = work / "noop", work / "noop-docs"
    if progress:
        progress(f"no-op: {documents:,} documents")
    fill_synthetic(data_dir, documents * 2, vocabulary, settings=settings, docs_dir=folder,
                   per_doc=2)
    from attache.retrieval.service import Attache

    service = Attache(settings.model_copy(update={"docs_dir": folder, "data_dir": data_dir}))
    seconds, report = _timed_rebuild(service)
    if report.switched:
        raise RuntimeError(f"the synthetic store was not up to date: {report}")
    env = {**_env(data_dir), "ATTACHE_DOCS_DIR": str(folder)}
    wall, peak, _ = _child("attache.bot.cli", ["index", "rebuild", "--json"], env)
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    return {"documents": documents, "noop_seconds": round(seconds, 3),
            "noop_cli_seconds": round(wall, 2), "noop_cli_peak_mb": peak}


def _disk_mb(folder: Path) -> float:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return round(total / 1024 / 1024, 1)


def bench_growth(sizes: tuple[int, ...], docs: Path, questions: list[str], work: Path,
                 progress: Progress, settings: Any = None,
                 embedder: Any = None) -> list[dict[str, Any]]:
    import re

    vocabulary = sorted({
        w.lower() for f in sorted(docs.rglob("*.txt"))
        for w in re.findall(r"[A-Za-z]{3,}", f.read_text(encoding="utf-8", errors="replace"))
    }) or ["word"]
    article = sorted(docs.rglob("*.txt"))[-1]
    rows = []
    for n in sizes:
        data_dir = work / f"growth-{n}"
        folder = work / f"growth-{n}-docs"
        progress(f"growth: filling a store with {n:,} synthetic chunks")
        started = time.perf_counter()
        # the model is not involved: the store's vectors are synthetic, so its query
        # vectors need not come from the model either; the service still embeds them
        fill_synthetic(data_dir, n, vocabulary, settings=settings,
                       docs_dir=folder if settings is not None else None, progress=progress)
        fill = time.perf_counter() - started
        progress(f"growth: querying {n:,} chunks")
        figures = bench_queries(data_dir, questions[:GROWTH_QUERIES], work)
        row = {"chunks": n, "fill_seconds": round(fill, 1), **figures,
               "disk_mb": _disk_mb(data_dir)}
        if settings is not None and embedder is not None:
            from attache.retrieval.service import Attache

            service = Attache(settings.model_copy(update={
                "docs_dir": folder, "data_dir": data_dir}), embedder=embedder)
            progress(f"growth: rebuilds at {n:,} chunks")
            noop, report = _timed_rebuild(service)
            if report.switched:
                raise RuntimeError(f"the synthetic store was not up to date: {report}")
            shutil.copyfile(article, folder / f"added-{article.name}")
            add, added = _timed_rebuild(service)
            sorted(folder.glob("synthetic-*.txt"))[0].unlink()
            remove, _ = _timed_rebuild(service)
            row.update({"documents": report.documents, "noop_seconds": round(noop, 3),
                        "add_seconds": round(add, 2), "add_embedded": added.embedded,
                        "remove_seconds": round(remove, 3)})
        rows.append(row)
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def run_bench(settings: Any, docs: Path | None = None, quick: bool = False,
              progress: Progress | None = None,
              sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Every figure of the benchmark, in one run on this machine."""
    from attache.index.embedding import load_embedder

    say = progress or (lambda line: None)
    docs = Path(docs) if docs else DEFAULT_DOCS
    if not docs.is_dir():
        raise FileNotFoundError(f"benchmark corpus not found: {docs} (use --docs DIR)")
    report: dict[str, Any] = {"machine": machine(), "corpus": str(docs)}
    with tempfile.TemporaryDirectory(prefix="attache-bench-") as tmp:
        work = Path(tmp)
        data_dir = work / "index"
        embedder = load_embedder(settings)
        say(f"build: indexing {docs}")
        report["build"] = bench_build(settings, docs, data_dir, embedder)
        questions = _questions(docs, QUERIES)
        say(f"queries: {len(questions)} questions in process")
        report["queries"] = bench_queries(data_dir, questions, work)
        say("cold ask: new processes")
        report["cold_ask"] = bench_cold_ask(data_dir, questions[0])
        report["changes"] = bench_changes(settings, docs, work, embedder, say)
        sizes = sizes or (QUICK_SIZES if quick else GROWTH_SIZES)
        # as many documents as the growth points allow (two chunks each), up to 10,000
        report["noop"] = bench_noop(settings, docs, work,
                                    min(NOOP_DOCUMENTS, max(sizes) // 2), say)
        report["growth"] = bench_growth(tuple(sizes), docs, questions, work, say,
                                        settings=settings, embedder=embedder)
    return report


def format_report(report: dict[str, Any]) -> str:
    m, b, q, c = report["machine"], report["build"], report["queries"], report["cold_ask"]
    lines = [
        f"machine: {m['cpus']} cores, {m['memory_gib']} GiB, {m['cpu']}, Python {m['python']}",
        f"corpus: {report['corpus']} ({b['documents']} documents, {b['chunks']} chunks)",
        f"build: {b['build_seconds']} s; floor (embedding alone) {b['floor_seconds']} s; "
        f"build/floor {b['build_over_floor']}; {b['chunks_per_second']} chunks/s",
        f"queries in process: mean {q['query_ms_mean']} ms, p50 {q['query_ms_p50']} ms, "
        f"p95 {q['query_ms_p95']} ms over {q['queries']}; query process peak {q['peak_mb']} MB",
        f"cold `attache ask`: median {c['cold_ask_seconds_median']} s, max "
        f"{c['cold_ask_seconds_max']} s, peak {c['cold_ask_peak_mb']} MB",
    ]
    changes = report["changes"]
    for size, row in changes.items():
        if isinstance(row, dict):
            lines.append(
                f"changes at {size} ({row['documents']} documents, {row['chunks']} chunks): "
                f"build {row['build_seconds']} s; add one article {row['add_seconds']} s "
                f"({row['add_embedded']} chunks embedded); remove one "
                f"{row['remove_seconds']} s; no-op {row['noop_seconds']} s")
    lines.append(f"changes {COPIES}x / 1x: add {changes['add_ratio']}, "
                 f"remove {changes['remove_ratio']}")
    noop = report.get("noop")
    if noop:
        lines.append(f"no-op rebuild, {noop['documents']:,} documents: {noop['noop_seconds']} s in "
                     f"process; `attache index rebuild` {noop['noop_cli_seconds']} s, peak "
                     f"{noop['noop_cli_peak_mb']} MB")
    for row in report["growth"]:
        lines.append(
            f"growth {row['chunks']:>7,} chunks: p50 {row['query_ms_p50']} ms, p95 "
            f"{row['query_ms_p95']} ms, mean {row['query_ms_mean']} ms, peak {row['peak_mb']} MB, "
            f"disk {row['disk_mb']} MB, load {row['load_seconds']} s, fill {row['fill_seconds']} s"
        )
        if "add_seconds" in row:
            lines.append(
                f"growth {row['chunks']:>7,} chunks ({row['documents']:,} documents): no-op "
                f"{row['noop_seconds']} s; add one article {row['add_seconds']} s "
                f"({row['add_embedded']} chunks embedded); remove one {row['remove_seconds']} s")
    return "\n".join(lines)


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--worker":
    query_worker(sys.argv[2], sys.argv[3])
