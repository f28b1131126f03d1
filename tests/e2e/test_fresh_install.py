"""A user's install: the wheel, a new venv, the pip that ships with Python, then an
HTML page indexed and answered offline."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import NETGUARD, ROOT, cli_json

PAGE = """<!doctype html><html><head><title>Embassy cyber unit</title></head><body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<article><h1>Embassy cyber unit</h1>
<p>The embassy's cyber unit was founded in 2019 by Consul Maria Lopez to coordinate
incident response with the host government.</p>
<p>It works with three regional partners on threat sharing.</p></article>
<footer>Connect with us. Copyright 2024.</footer></body></html>
"""


def _base_python() -> str:
    """The interpreter this venv was made from: its bundled pip, not the dev venv's."""
    base = Path(sys.base_prefix) / "bin" / f"python{sysconfig.get_python_version()}"
    return str(base if base.exists() else sys.executable)


@pytest.mark.skipif(os.environ.get("ATTACHE_SKIP_INSTALL_TEST") == "1",
                    reason="ATTACHE_SKIP_INSTALL_TEST=1")
def test_wheel_installs_with_bundled_pip_and_indexes_html(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTACHE_", "PYTHON"))}
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         str(ROOT), "-w", str(wheels)],
        check=True, env=env, capture_output=True, text=True, timeout=300,
    )
    (wheel,) = wheels.glob("attache-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True, env=env, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          str(wheel)], env=env, capture_output=True, text=True, timeout=1200)
    assert pip.returncode == 0, pip.stderr[-3000:]

    site = Path(subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, env=env).stdout.strip())
    ours = {p.name for p in site.iterdir()
            if p.name.startswith("attache") or p.name in {"index", "bot", "retrieval"}}
    assert ours == {"attache", next(n for n in ours if n.endswith(".dist-info"))}
    assert (site / "attache" / "index" / "model" / "tokenizer.json").is_file()

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "unit.html").write_text(PAGE, encoding="utf-8")
    run_env = {**env, "PYTHONPATH": str(NETGUARD), "ATTACHE_DATA_DIR": str(tmp_path / "data"),
               "ATTACHE_DOCS_DIR": str(docs), "HF_HUB_OFFLINE": "1"}
    attache = str(venv / "bin" / "attache")
    version = subprocess.run([attache, "--version"], capture_output=True, text=True, env=run_env)
    assert version.returncode == 0 and version.stdout.startswith("attache ")

    report = cli_json(subprocess.run([attache, "index", "rebuild", "--json"], cwd=tmp_path,
                                     capture_output=True, text=True, env=run_env, timeout=600))
    assert report["added"] == 1 and report["skipped"] == []
    answer = cli_json(subprocess.run(
        [attache, "ask", "Who founded the embassy's cyber unit?", "--json"], cwd=tmp_path,
        capture_output=True, text=True, env=run_env, timeout=600))
    assert answer["answered"] and "Maria Lopez" in answer["answer"]
    assert all("Connect with us" not in c["quote"] and "Home" not in c["quote"]
               for c in answer["citations"])
