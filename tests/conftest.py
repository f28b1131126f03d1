"""Shared fixtures: isolated settings and folders, the real model, real Chroma."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
NETGUARD = Path(__file__).resolve().parent / "netguard"

sys.path.insert(0, str(NETGUARD))
import attache_netguard  # noqa: E402

attache_netguard.install()


def shared_dir() -> Path | None:
    """`../shared` beside the checkout (development and evaluation data)."""
    for candidate in (os.environ.get("ATTACHE_SHARED_DIR"), ROOT.parent / "shared", "/work/shared"):
        if candidate and (Path(candidate) / "eval").is_dir():
            return Path(candidate)
    return None


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test runs in its own working directory with no ATTACHE_* settings inherited."""
    for key in list(os.environ):
        if key.startswith("ATTACHE_") or key.startswith("DISCORD_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture(scope="session")
def embedder() -> Any:
    from attache.index.embedding import OnnxMiniLM

    return OnnxMiniLM()


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Any:
    """Settings of an index of the seeds, built once for the session; tests only read
    it (a test that changes an index copies it first). Its questions are not logged, so
    its data folder stays as built; a test of the log turns it on in a copy."""
    from attache.index.settings import Settings
    from attache.retrieval.service import Attache

    root = tmp_path_factory.mktemp("seeds-index")
    shutil.copytree(SEEDS, root / "docs")
    settings = Settings(docs_dir=root / "docs", data_dir=root / "data", log_questions=False)
    Attache(settings, embedder=embedder).rebuild()
    return settings


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    return docs


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Any]:
    from attache.index.settings import Settings

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"data_dir": tmp_path / "data", "docs_dir": tmp_path / "docs"}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def make_service(make_settings: Callable[..., Any], embedder: Any) -> Callable[..., Any]:
    from attache.retrieval.service import Attache

    def make(**overrides: Any) -> Attache:
        return Attache(make_settings(**overrides), embedder=embedder)

    return make


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a CLI subprocess: network guard on, settings only as given."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ATTACHE_", "DISCORD_"))
    }
    env["PYTHONPATH"] = os.pathsep.join([str(NETGUARD), str(ROOT)])
    env.update(extra)
    return env


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `attache ARGS` as a user would, in a subprocess."""

    def run(*args: str, env: dict[str, str] | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return subprocess.run(
            [sys.executable, "-m", "attache.bot.cli", *args],
            env=subprocess_env(**(env or {})),
            capture_output=True,
            text=True,
            timeout=kwargs.pop("timeout", 600),
            **kwargs,
        )

    return run


def cli_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A real `chroma run` server on a loopback port, for this test only."""
    import httpx

    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    log = (tmp_path / "chroma.log").open("w")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start: {(tmp_path / 'chroma.log').read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def newsroom() -> Iterator[Any]:
    """A small news site on a loopback port (tests/newsroom.py), for this test only."""
    from newsroom import start

    site = start()
    try:
        yield site
    finally:
        site.server.stop()


def write_corpus(folder: Path, documents: int, paragraphs: int, seed: int = 7) -> list[Path]:
    """Distinct article-like documents built from the seeds' sentences."""
    import random
    import re

    rng = random.Random(seed)
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if 40 < len(s) < 400]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(documents):
        body = [f"Briefing {number}: cyber diplomacy notes"]
        for part in range(paragraphs):
            chosen = rng.sample(sentences, 4)
            body.append(
                " ".join(chosen) + f" Delegation {number}.{part} met {rng.randint(2, 90)} times."
            )
        path = folder / f"briefing_{number:03d}.txt"
        path.write_text("\n\n".join(body) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
