"""`attache bench`: build and query speed and memory, measured in one run.

- Build: a full index build of a corpus into a fresh data folder, against a floor
  measured in the same run: the same model embedding the same texts and nothing else.
- Queries: in-process latency (retrieve and answer) over the corpus's questions.
- Cold `attache ask`: the wall time and peak memory of a new process answering one
  question, as a user runs it.
- Growth: stores filled with N synthetic chunks (random unit vectors and texts drawn
  from the corpus's vocabulary, no model involved, so the store's own cost shows),
  each queried through the full hybrid path in a process of its own.

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

DEFAULT_DOCS = Path("../shared/eval/squad-public/docs")
GROWTH_SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
QUERIES = 400
GROWTH_QUERIES = 200
COLD_RUNS = 3

Progress = Callable[[str], None]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
    service = Attache(build_settings, embedder=embedder)
    started = time.perf_counter()
    report = service.rebuild()
    build = time.perf_counter() - started
    records = list(service.store.records(service.store.pointer().collection))
    texts = [contextual_text(chunk_context(r.metadata), r.text) for r in records]
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
    service = Attache(Settings(data_dir=Path(data_dir)))
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
        "query_ms_p50": _ms(_percentile(latencies, 0.5)),
        "query_ms_p95": _ms(_percentile(latencies, 0.95)),
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


def fill_synthetic(data_dir: Path, n: int, vocabulary: list[str], seed: int = 5) -> None:
    """A store of `n` synthetic chunks published as the current version."""
    import numpy as np

    from attache.index.catalog import Catalog, manifest_from_records
    from attache.index.lexical import LexicalIndex
    from attache.index.store import ChromaStore, Pointer, Record, version_name

    rng = np.random.default_rng(seed)
    store = ChromaStore(data_dir)
    name = version_name(1)
    store.create(name, "synthetic")
    words = np.array(vocabulary)
    records: list[Record] = []
    step = 5000
    per_doc = 50
    for start in range(0, n, step):
        count = min(step, n - start)
        vectors = rng.normal(size=(count, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        batch = []
        for i in range(start, start + count):
            text = " ".join(words[rng.integers(0, len(words), size=60)]) + "."
            source = f"synthetic/{i // per_doc:05d}.txt"
            batch.append(Record(f"s{i:07d}", text, {
                "source": source, "title": source, "kind": "txt", "position": i % per_doc,
                "start": 0, "end": len(text), "doc_sha": "synthetic", "text_sha": f"{i:x}"}))
        store.add(name, batch, vectors)
        records.extend(batch)
    lexical = LexicalIndex.build([r.id for r in records], [r.text for r in records])
    Catalog(data_dir).write(name, manifest_from_records(records), lexical)
    store.publish(Pointer(name, 1, "synthetic", time.strftime("%Y-%m-%dT%H:%M:%S"), 200, 40,
                          n // per_doc, n))


def bench_growth(sizes: tuple[int, ...], docs: Path, questions: list[str], work: Path,
                 progress: Progress) -> list[dict[str, Any]]:
    import re

    vocabulary = sorted({
        w.lower() for f in sorted(docs.rglob("*.txt"))
        for w in re.findall(r"[A-Za-z]{3,}", f.read_text(encoding="utf-8", errors="replace"))
    }) or ["word"]
    rows = []
    for n in sizes:
        data_dir = work / f"growth-{n}"
        progress(f"growth: filling a store with {n:,} synthetic chunks")
        started = time.perf_counter()
        # the model is not involved: the store's vectors are synthetic, so its query
        # vectors need not come from the model either; the service still embeds them
        fill_synthetic(data_dir, n, vocabulary)
        fill = time.perf_counter() - started
        progress(f"growth: querying {n:,} chunks")
        figures = bench_queries(data_dir, questions[:GROWTH_QUERIES], work)
        rows.append({"chunks": n, "fill_seconds": round(fill, 1), **figures})
        shutil.rmtree(data_dir, ignore_errors=True)
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
        sizes = sizes or (QUICK_SIZES if quick else GROWTH_SIZES)
        report["growth"] = bench_growth(tuple(sizes), docs, questions, work, say)
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
    for row in report["growth"]:
        lines.append(
            f"growth {row['chunks']:>7,} chunks: p50 {row['query_ms_p50']} ms, p95 "
            f"{row['query_ms_p95']} ms, mean {row['query_ms_mean']} ms, peak {row['peak_mb']} MB, "
            f"load {row['load_seconds']} s, fill {row['fill_seconds']} s"
        )
    return "\n".join(lines)


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--worker":
    query_worker(sys.argv[2], sys.argv[3])
