"""`agora bench gpu` on the tiny shape (CPU): every row printed, positive figures, the store entry; the cost model's
arithmetic on known inputs; LoRA steps that change the adapter; the standalone script on torch/transformers/peft only."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agora.bench import gpu
from agora.cli.main import app
from agora.sim.store import RunStore

ROOT = Path(gpu.__file__).resolve().parents[1]
SMALL = gpu.Protocol(policy_prompt_tokens=12, ballot_prompt_tokens=16, ballot_answer_tokens=2, new_tokens=4, voters=4)


def test_cost_model_adds_work_over_rate_phase_by_phase():
    p = gpu.Protocol(tasks=1, train_contests=2, test_contests=3, voters=4, samples_per_contest=2, new_tokens=10,
                     policy_prompt_tokens=5, ballot_prompt_tokens=20, persona_tokens=6, voter_think_tokens=7)
    lines = gpu.cost_model(gpu.Rates(generation_tokens_per_s=2, judgments_per_s=4, sft_tokens_per_s=8), p)
    seconds = {line["phase"]: line["seconds"] for line in lines}
    assert seconds == {
        "train generation": 2 * 2 * 10 / 2,  # contests x samples x new tokens / tokens/s
        "train judging": 2 * 4 / 4,  # contests x voters / judgments/s
        "train voter thoughts": 2 * 4 * 7 / 2,
        "RFT SFT": 2 * (5 + 10) / 8,  # winners x (prompt + completion)
        "TFB SFT": 2 * ((5 + 10) + (20 - 6 + 7)) / 8,  # 50/50: one thought example (no biography) per winner
        "test generation": 3 * 3 * 10 / 2,  # base, RFT and TFB write once per test anchor
        "test judging": 3 * 3 * 4 / 4,  # three pairings
        "test voter thoughts": 3 * 3 * 4 * 7 / 2,
        "total": 242.75,
    }
    study = {line["phase"]: line["work"] for line in gpu.cost_model(gpu.Rates(1, 1, 1))}
    assert study["train generation"] == 3 * 1024 * 2 * 256 and study["test judging"] == 3 * 1024 * 3 * 20


def test_agora_bench_gpu_prints_every_row_and_saves_a_store_entry(tmp_path):
    result = CliRunner().invoke(app, ["bench", "gpu", "--shape", "tiny", "--quick", "--trainer", "torch",
                                      "--store", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for _, label, _ in gpu.ROWS:
        assert label in result.output
    for phase in ("train generation", "TFB SFT", "test voter thoughts", "total on one GPU"):
        assert f"study cost: {phase}" in result.output
    assert "plain torch loop" in result.output
    runs = RunStore(tmp_path).list()
    assert list(runs["kind"]) == ["bench-gpu"] and list(runs["status"]) == ["finished"]
    path = Path(runs["path"][0])
    assert {p.name for p in path.iterdir()} == {"config.yaml", "figures.parquet", "cost.parquet", "summary.json"}
    summary = json.loads((path / "summary.json").read_text())
    figures = summary["shapes"]["tiny"]["figures"]
    assert set(figures) == {key for key, _, _ in gpu.ROWS} and all(v > 0 for v in figures.values())
    assert summary["cost"]["tiny"][-1]["seconds"] > 0
    record = RunStore(tmp_path).record(runs["run_id"][0])
    assert (record.record, record.shapes, record.quick, record.trainer) == ("bench-gpu", ["tiny"], True, "torch")


@pytest.mark.parametrize("trainer", ["torch", "trl"])
def test_the_lora_step_trains_the_adapter(trainer):
    if trainer == "trl" and not gpu._imports("trl", "datasets"):
        pytest.skip("TRL is not installed")
    run = gpu._Run("tiny", gpu.load_shape("tiny"), "cpu", 0, True, SMALL, trainer)
    run.sft(until=float("inf"))
    lora_b = [p for n, p in run.model.named_parameters() if "lora_B" in n]
    assert len(lora_b) == 7 * 2 and all(p.abs().sum() > 0 for p in lora_b)  # zero at the start, by LoRA's design
    assert run.settings["sft_trainer"] == {"torch": "plain torch loop", "trl": "TRL SFTTrainer"}[trainer]
    assert run.figures["sft_tokens"] > 0 and run.figures["sft_peak_gib"] > 0


def test_a_spent_budget_scales_the_sections_down_and_says_so():
    summary = gpu.gpu_bench(gpu.GpuBenchSettings(shapes=["tiny"], quick=True, budget_seconds=0.01, trainer="torch"),
                            p=SMALL)
    assert summary["shapes"]["tiny"]["settings"]["contests_per_batch"] == 2
    assert any("audience batches cut" in n for n in summary["notes"])


def test_two_shapes_get_a_ratio_column():
    def shape(rate):
        return {"figures": {key: rate for key, _, _ in gpu.ROWS}, "settings": {}}

    summary = {"shapes": {"8b": shape(10.0), "0.5b": shape(40.0)},
               "cost": {n: gpu.cost_model(gpu.Rates(r, r, r)) for n, r in (("8b", 10.0), ("0.5b", 40.0))}}
    columns, rows = gpu.table_rows(summary)
    assert columns == ["measure", "8b", "0.5b", "8b ÷ 0.5b"]
    assert rows[0][-1] == "0.25" and rows[-1][-1] == "4"  # rates a quarter, hours four times


def test_the_bench_measures_agoras_own_ballot_and_lora_targets():
    from agora.sim.audience.base import Ballot
    from agora.sim.audience.llm import voter_prompt
    from agora.sim.scenario import Scenarios
    from agora.training.config import LORA_TARGETS

    scenarios = Scenarios.load()
    message = "word " * round(120 * 4.3 / 5)  # a study-length message, about 120 tokens at 4.3 characters a token
    chat = voter_prompt(scenarios.task("sales"), Ballot(scenarios.personas[0], message, message))
    tokens = sum(len(m["content"]) for m in chat) / 4.3
    assert 0.8 < tokens / gpu.Protocol().ballot_prompt_tokens < 1.2
    assert gpu.LORA_TARGETS == LORA_TARGETS


def test_the_script_runs_with_only_torch_transformers_and_peft(tmp_path):
    """A copy of the GPU image: site-packages without pydantic, rich, pandas, pyarrow, TRL, datasets, typer, Agora."""
    site, bare = Path(sysconfig.get_paths()["purelib"]), tmp_path / "site"
    bare.mkdir()
    gone = ("pydantic", "_pydantic", "rich", "pandas", "pyarrow", "trl", "datasets", "typer", "mesa", "agora", "__editable__")
    for entry in site.iterdir():
        if not entry.name.lower().startswith(gone):
            (bare / entry.name).symlink_to(entry)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(bare)}
    done = subprocess.run([sys.executable, "-S", "bench/gpu.py", "--quick", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "plain torch loop" in done.stdout and "study cost: total on one GPU" in done.stdout
    assert [p.name for p in out.iterdir()] == ["summary.json"]  # no pandas: JSON only
    result = CliRunner().invoke(app, ["bench", "gpu", "--from", str(out), "--store", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert list(RunStore(tmp_path / "runs").list()["kind"]) == ["bench-gpu"]
