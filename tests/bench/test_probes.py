"""`agora bench probes`: a registered benchmark, run small; its rows cover every probe on both gold sets."""

from rich.console import Console
from typer.testing import CliRunner

from agora.bench.probes import CASES, probes_bench
from agora.cli.main import app


def test_probe_bench_measures_each_probe_on_both_gold_sets():
    console = Console(record=True, width=200)
    rows = probes_bench(console, messages=40, repeats=2)
    assert [(r["gold"], r["probe"], r["task"]) for r in rows] == [
        (g, p, t) for g in ("hand-written", "real-output") for p, t, _ in CASES]
    assert all(r["messages"] == 40 and r["per_second"] > 0 for r in rows)
    real = {r["task"]: r["chars"] for r in rows if r["gold"] == "real-output" and r["probe"] == "fact"}
    hand = {r["task"]: r["chars"] for r in rows if r["gold"] == "hand-written" and r["probe"] == "fact"}
    assert real["sales"] > hand["sales"]  # real model output is longer than the hand-written gold
    assert all((r["collecting_per_second"] or 0) > 0 for r in rows if r["probe"] == "fact")
    assert all(r["collecting_per_second"] is None for r in rows if r["probe"] != "fact")
    printed = console.export_text()
    assert "messages/s" in printed and "× collector running" in printed


def test_an_unknown_benchmark_names_the_registered_ones():
    result = CliRunner().invoke(app, ["bench", "nope"])
    assert result.exit_code != 0 and "unknown benchmark 'nope'" in result.output and "probes" in result.output
