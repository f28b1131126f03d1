"""A rebuild over a folder holding every file trap at once: it finishes, reports each
trap in `skipped` with its reason, and indexes the good files (real model, real Chroma)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from trapfiles import write_traps

from attache.index import build

GOOD = {"good.txt", "notes.md", "caf\\xe9.txt", "byline.txt", "dots.txt"}
SECRET = "The launch code is 0000."


@pytest.fixture
def trap_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    docs = tmp_path / "docs"
    expected = write_traps(docs)
    return docs, expected


def test_rebuild_over_every_trap_skips_each_with_its_reason(
    make_service: Any, trap_folder: tuple[Path, dict[str, str]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs, expected = trap_folder
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    (docs / "swapped.txt").write_text("An ordinary article about harbours.")
    (docs / "grows.txt").write_text("An ordinary article about rivers.")
    real_discover = build.discover

    def discover_then_attack(root: Path, max_bytes: int) -> Any:
        """Between discovery and reading: a file becomes a link leading outside the
        folder, another grows past the size limit."""
        found = real_discover(root, max_bytes)
        (docs / "swapped.txt").unlink()
        (docs / "swapped.txt").symlink_to(secret)
        with (docs / "grows.txt").open("a") as handle:
            handle.write("x" * (6 * 1024 * 1024))
        return found

    monkeypatch.setattr(build, "discover", discover_then_attack)
    service = make_service(docs_dir=docs, extract_seconds=5, max_file_mb=5)
    started = time.perf_counter()
    report = service.rebuild()
    assert time.perf_counter() - started < 60
    reasons = {s.path: s.reason for s in report.skipped}
    assert set(reasons) == {*expected, "swapped.txt", "grows.txt"}
    for path, reason in expected.items():
        assert reasons[path].startswith(reason), (path, reasons[path])
    assert reasons["swapped.txt"] == "symbolic link leading outside the documents folder"
    assert reasons["grows.txt"].startswith("larger than 5 MB")
    status = service.status()
    assert {d.source for d in status.documents} == GOOD
    monkeypatch.setattr(build, "discover", real_discover)
    pointer = service.store.pointer()
    records = list(service.store.records(pointer.collection))
    assert {r.metadata["source"] for r in records} == GOOD
    assert not any("launch code" in r.text for r in records)
    # Source names are stable: the next rebuild finds every good file unchanged.
    (docs / "swapped.txt").unlink()
    (docs / "grows.txt").unlink()
    again = service.rebuild()
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(GOOD))


def test_cli_rebuild_over_every_trap(
    run_cli: Any, trap_folder: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    docs, expected = trap_folder
    env = {
        "ATTACHE_DOCS_DIR": str(docs),
        "ATTACHE_DATA_DIR": str(tmp_path / "data"),
        "ATTACHE_EXTRACT_SECONDS": "5",
    }
    result = run_cli("index", "rebuild", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {s["path"] for s in report["skipped"]} == set(expected)
    assert report["documents"] == len(GOOD)
    assert "\x1b" not in result.stdout + result.stderr
    assert "warning: skipped red\\x1b[31mALERT\\x1b[0m.txt: empty file" in result.stderr
    status = run_cli("index", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "caf\\xe9.txt" in status.stdout and "\x1b" not in status.stdout
