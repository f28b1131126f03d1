"""More than one machine: a `chroma run` server shared by a writer and readers whose
data folders start empty."""

from __future__ import annotations

from conftest import cli_json

BLINKEN = "004_703d1c81ffbf0c84.txt"


def test_reader_with_empty_data_folder_follows_the_writer(
    make_service, seeds_copy, chroma_server, tmp_path, run_cli
):
    writer = make_service(docs_dir=seeds_copy, chroma_url=chroma_server,
                          data_dir=tmp_path / "writer")
    assert writer.rebuild().switched
    reader = make_service(docs_dir=tmp_path / "no-docs-here", chroma_url=chroma_server,
                          data_dir=tmp_path / "reader", refresh_seconds=0)
    first = reader.ask("Who approved the creation of CSET?")
    assert first.answered and "Pompeo" in first.answer
    version = reader.retriever.pointer.version
    assert not (tmp_path / "reader" / "chroma").exists()  # nothing embedded locally

    # the writer rebuilds with an edited document; the running reader notices
    edited = seeds_copy / BLINKEN
    edited.write_text(edited.read_text(encoding="utf-8") + "\nThe new office will open "
                      "a regional hub in Nairobi staffed by twelve diplomats.\n", "utf-8")
    report = writer.rebuild()
    assert (report.updated, report.switched) == (1, True)
    after = reader.ask("Where will the new office open a regional hub?")
    assert reader.retriever.pointer.version == version + 1
    assert after.answered and "Nairobi" in after.answer
    assert any(c.source == BLINKEN for c in after.citations)

    # a third instance, a fresh process with an empty data folder, answers as a user would
    result = cli_json(run_cli(
        "ask", "Where will the new office open a regional hub?", "--json",
        env={"ATTACHE_CHROMA_URL": chroma_server, "ATTACHE_DATA_DIR": str(tmp_path / "third")}))
    assert result["answered"] and "Nairobi" in result["answer"]
    status = cli_json(run_cli("index", "status", "--json", env={
        "ATTACHE_CHROMA_URL": chroma_server, "ATTACHE_DATA_DIR": str(tmp_path / "third")}))
    assert status["version"] == version + 1 and len(status["documents"]) == 2


def test_bench_prints_every_figure(run_cli, seeds_copy, tmp_path):
    """The benchmark command end to end on a small corpus (figures shown, not judged)."""
    result = run_cli("bench", "--docs", str(seeds_copy), "--sizes", "300,600", "--json",
                     cwd=tmp_path)
    report = cli_json(result)
    build = report["build"]
    assert build["chunks"] > 0 and build["build_seconds"] > 0 and build["floor_seconds"] > 0
    assert build["build_over_floor"] > 0 and build["chunks_per_second"] > 0
    queries = report["queries"]
    assert queries["queries"] > 0 and 0 < queries["query_ms_p50"] <= queries["query_ms_p95"]
    assert queries["peak_mb"] > 50
    cold = report["cold_ask"]
    assert cold["cold_ask_seconds_median"] > 0 and cold["cold_ask_peak_mb"] > 50
    assert [row["chunks"] for row in report["growth"]] == [300, 600]
    assert all(row["query_ms_p95"] > 0 and row["peak_mb"] > 50 for row in report["growth"])
    assert all(row["disk_mb"] > 0 and row["add_embedded"] > 0 and row["noop_seconds"] > 0
               and row["remove_seconds"] > 0 for row in report["growth"])
    changes = report["changes"]
    assert changes["1x"]["chunks"] * 16 == changes["16x"]["chunks"]
    assert changes["1x"]["add_embedded"] > 0 and changes["16x"]["add_embedded"] > 0
    assert changes["add_ratio"] > 0 and changes["remove_ratio"] > 0
    noop = report["noop"]
    assert noop["documents"] == 300 and noop["noop_seconds"] > 0 and noop["noop_cli_seconds"] > 0
    assert report["machine"]["cpus"] >= 1
    human = run_cli("bench", "--docs", str(tmp_path / "missing"))
    assert human.returncode == 2 and "not found" in human.stderr
