"""The command line's contracts: version, schemas, one error line per failure."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from conftest import ROOT, cli_json


def test_version_matches_the_package(run_cli):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"attache {version}"


def test_schema_lists_names_and_ask_output_validates(run_cli, seeds_index):
    names = run_cli("schema").stdout.split()
    assert {"ask", "chat", "rebuild", "status", "eval", "bench"} <= set(names)
    schema = json.loads(run_cli("schema", "ask").stdout)
    env = {"ATTACHE_DOCS_DIR": str(seeds_index.docs_dir),
           "ATTACHE_DATA_DIR": str(seeds_index.data_dir), "ATTACHE_LOG_QUESTIONS": "false"}
    answer = cli_json(run_cli("ask", "Who approved the creation of CSET?", "--json", env=env))
    jsonschema.validate(answer, schema)
    assert answer["answered"] and answer["citations"]
    refusal = cli_json(run_cli("ask", "What is the capital of France?", "--json", env=env))
    jsonschema.validate(refusal, schema)
    status = cli_json(run_cli("index", "status", "--json", env=env))
    jsonschema.validate(status, json.loads(run_cli("schema", "status").stdout))
    unknown = run_cli("schema", "nope")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: no schema named")


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_embeddings_endpoint_down_is_one_error_line_exit_1(run_cli, seeds_copy, tmp_path):
    result = run_cli("index", "rebuild", env={
        "ATTACHE_DOCS_DIR": str(seeds_copy), "ATTACHE_DATA_DIR": str(tmp_path / "data"),
        "ATTACHE_EMBED_URL": "http://127.0.0.1:9/v1", "ATTACHE_EMBED_MODEL": "m"})
    assert result.returncode == 1
    assert "embeddings endpoint" in _one_error_line(result)


def test_bad_setting_and_missing_index_exit_2(run_cli, tmp_path):
    bad = run_cli("ask", "Who?", env={"ATTACHE_CHUNK_SIZE": "many"})
    assert bad.returncode == 2 and "ATTACHE_CHUNK_SIZE" in _one_error_line(bad)
    empty = run_cli("ask", "Who?", env={"ATTACHE_DATA_DIR": str(tmp_path / "nothing")})
    assert empty.returncode == 2 and "attache index rebuild" in _one_error_line(empty)


def test_an_output_file_in_a_missing_folder_exits_2_before_any_work(run_cli, tmp_path):
    questions = ROOT / "tests" / "data" / "seeds-answerable.jsonl"
    env = {"ATTACHE_DATA_DIR": str(tmp_path / "nothing")}  # no index: checked after --out
    for command in (["eval", str(questions)], ["feedback", "export"]):
        result = run_cli(*command, "--out", str(tmp_path / "no" / "x.jsonl"), env=env)
        assert result.returncode == 2
        assert _one_error_line(result) == f"error: no folder {tmp_path / 'no'} for --out"
    bench = run_cli("bench", "--quick", "--docs", str(tmp_path / "no"), env=env)
    assert bench.returncode == 2 and "benchmark corpus not found" in _one_error_line(bench)


def test_unwritable_data_folder_is_one_error_line(run_cli, seeds_copy, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("index", "rebuild", env={
        "ATTACHE_DOCS_DIR": str(seeds_copy), "ATTACHE_DATA_DIR": str(blocker / "data")})
    assert result.returncode == 1
    assert str(blocker) in _one_error_line(result)


def test_chroma_server_down_is_one_error_line(run_cli, tmp_path):
    result = run_cli("ask", "Who?", env={"ATTACHE_CHROMA_URL": "http://127.0.0.1:9",
                                         "ATTACHE_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 1
    assert "Chroma" in _one_error_line(result)


def test_lock_pins_every_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {canonicalize_name(line.split("==")[0])
              for line in lock.splitlines() if "==" in line and not line.startswith(" ")}
    for requirement in declared:
        name = Requirement(requirement).name
        assert canonicalize_name(name) in pinned, f"{name} is not in requirements.lock"
    entries = re.split(r"\n(?=\S)", lock.strip())
    assert all("--hash=sha256:" in entry for entry in entries if not entry.startswith("#"))


def test_python_dash_m_attache(tmp_path: Path):
    import subprocess
    import sys

    from conftest import subprocess_env

    result = subprocess.run([sys.executable, "-m", "attache", "--version"], capture_output=True,
                            text=True, env=subprocess_env(), cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("attache ")


def test_every_setting_is_in_env_example_and_the_readme():
    from attache.index.settings import Settings

    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        variable = "DISCORD_TOKEN" if name == "discord_token" else f"ATTACHE_{name.upper()}"
        assert re.search(rf"\b{variable}\b", example), f"{variable} not in .env.example"
        assert f"`{variable}`" in readme, f"{variable} not in the README's settings"
