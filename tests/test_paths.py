"""A cached model is built once however many processes ask for it at the same time."""

import multiprocessing
import time
from pathlib import Path

from agora.sim.paths import ensure_built


def _build_slowly(out: str) -> None:
    def build():
        with open(Path(out).parent / "builds.log", "a") as log:
            log.write("built\n")
        time.sleep(0.5)  # long enough that every process arrives while the first is still building
        Path(out).mkdir()
        (Path(out) / "done.json").write_text("{}")

    ensure_built(Path(out), build, "done.json")


def test_processes_asking_together_build_once(tmp_path):
    out = tmp_path / "models" / "control"
    out.parent.mkdir()
    procs = [multiprocessing.get_context("spawn").Process(target=_build_slowly, args=(str(out),)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert (tmp_path / "models" / "builds.log").read_text() == "built\n"
    assert (out / "done.json").is_file()
