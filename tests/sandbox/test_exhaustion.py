"""Resource exhaustion in the sandbox (the code check's and mem-agent's tools): fork bombs, memory, disk, endless
loops and floods of output each end as their own outcome under small limits, Agora keeps running, and nothing
survives: no process, no temporary file, no memory directory left over its limit."""

import random
import tempfile
from pathlib import Path

import psutil
import pytest

from agora.memory.memagent import run_agent, scripted
from agora.memory.memagent_tools import run_tools
from agora.sandbox.python import run_python
from agora.training.code_hacking import Run, make_task, run_program

SMALL = {"timeout": 1.0, "memory": 128 << 20, "file_size": 4096, "files": 20, "output": 10_000}

CASES = {  # name: (code, outcome)
    "fork bomb": ("import os\nwhile True:\n    os.fork()", "process_limit"),
    "spawn": ("import os\nos.posix_spawn('/bin/sh', ['sh', '-c', 'sleep 30'], {})", "process_limit"),
    "memory": ("hog = []\nwhile True:\n    hog.append(bytes(1 << 20))", "memory"),
    "one huge string": ("x = ' ' * (1 << 30)", "memory"),
    "one big file": ("with open('big', 'w') as f:\n    f.write('x' * 100_000)", "disk_limit"),
    "many files": ("i = 0\nwhile True:\n    open(f'f{i}', 'w').write('x' * 4000)\n    i += 1", "disk_limit"),
    "many folders": ("import os\ni = 0\nwhile True:\n    os.mkdir(f'd{i}')\n    i += 1", "disk_limit"),
    "endless loop": ("while True:\n    pass", "timeout"),
    "endless arithmetic": ("sum(range(10 ** 12))", "timeout"),
    "output flood": ("while True:\n    print('x' * 1000)", "output_limit"),
    "one huge print": ("print('x' * 50_000_000)", "output_limit"),
    "stderr flood": ("import sys\nwhile True:\n    sys.stderr.write('y' * 1000)", "output_limit"),
}


def sandboxes() -> list[psutil.Process]:
    """Sandboxed interpreters (and whatever they started) still alive under this test process."""
    alive = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and ("_agora_guard" in " ".join(p.cmdline()) or p.name() == "sleep"):
                alive.append(p)
        except psutil.NoSuchProcess:
            continue
    return alive


def bounded(folder, limits=SMALL) -> bool:
    """The folder holds no more than the limits allow: `files` entries, none over `file_size` bytes."""
    made = list(folder.rglob("*"))
    return len(made) <= limits["files"] and all(p.stat().st_size <= limits["file_size"] for p in made if p.is_file())


@pytest.mark.parametrize("name", CASES)
def test_each_exhaustion_is_bounded_and_recorded_as_its_own_outcome(tmp_path, name):
    code, status = CASES[name]
    out = run_python(code, tmp_path, **SMALL)
    assert out.status == status, (out.status, out.stderr[-300:])
    assert len(out.stdout) + len(out.stderr) <= 2 * SMALL["output"] + 200
    assert not sandboxes() and bounded(tmp_path)


def test_undecodable_output_is_read_not_a_crash(tmp_path):
    out = run_python("import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe \\xed\\xa0\\x80')", tmp_path, **SMALL)
    assert out.status == "ok" and out.stdout.startswith("ok \ufffd")


def test_a_process_started_before_the_limits_goes_with_the_sandbox(tmp_path):
    """Trusted setup may start a process (the model's code cannot); stopping the sandbox kills its whole group."""
    setup = "import os\nif os.fork() == 0:\n    os.execv('/bin/sleep', ['sleep', '30'])"
    out = run_python("while True:\n    pass", tmp_path, setup=setup, **SMALL)
    assert out.status == "timeout" and not sandboxes()


CHECKED = {  # a one-line completion as the code check runs it, and the result it records (its tests catch errors)
    "fork bomb": ("[__import__('os').fork() for _ in iter(int, 1)]", "ran"),
    "memory": ("[bytes(1 << 20) for _ in iter(int, 1)]", "ran"),
    "many files": ("[open(str(i), 'w').write('x' * 4000) for i in range(10 ** 6)]", "ran"),
    "endless loop": ("[0 for _ in iter(int, 1)]", "timeout"),
    "output flood": ("[print('x' * 1000) for _ in iter(int, 1)]", "error"),
}


@pytest.mark.parametrize("name", CHECKED)
def test_the_code_check_records_exhaustion_as_a_failure_and_leaves_no_temporary_folder(tmp_path, monkeypatch, name):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    completion, status = CHECKED[name]
    run = run_program(completion, make_task(random.Random(0)), timeout=1.0)
    assert run == Run(False, False, status)
    assert not list(tmp_path.iterdir()) and not sandboxes()


TOOL_CASES = {  # through mem-agent's tools and their own os module
    "fork bomb": ("while True:\n    _mem_os.fork()", "process_limit"),
    "memory": ("hog = []\nwhile True:\n    hog.append(bytes(1 << 20))", "memory"),
    "files through the tools": ("i = 0\nwhile True:\n    create_file(f'f{i}.md', 'x' * 900)\n    i += 1", "error"),
    "raw writes past the directory limit": ("for i in range(10):\n    open(f'r{i}.md', 'w').write('x' * 900)", "disk_limit"),
    "many files": ("i = 0\nwhile True:\n    open(f'r{i}.md', 'w').write('x')\n    i += 1", "disk_limit"),
    "endless loop": ("while True:\n    list_files()", "timeout"),
    "output flood": ("while True:\n    print(read_file('user.md'))", "output_limit"),
}


@pytest.mark.parametrize("name", TOOL_CASES)
def test_memagent_tools_under_exhaustion_keep_the_memory_within_its_limits(tmp_path, monkeypatch, name):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    memory = tmp_path / "memory"
    memory.mkdir()
    (memory / "user.md").write_text("# Me\n")
    code, status = TOOL_CASES[name]
    out = run_tools(code, memory, timeout=1.0, max_file=1000, max_dir=5000, memory=128 << 20, files=20, output=10_000)
    assert out.status == status, (out.status, out.stderr[-300:])
    assert sum(p.stat().st_size for p in memory.rglob("*") if p.is_file()) <= 5000
    assert (memory / "user.md").read_text() == "# Me\n" and len(list(memory.iterdir())) <= 21
    assert not list((tmp_path / "tmp").iterdir()) and not sandboxes()


def test_an_agent_turn_stopped_by_a_limit_says_which():
    with tempfile.TemporaryDirectory() as folder:
        run = run_agent(scripted([lambda _: "<python>while True:\n    pass</python>"]), "?", Path(folder), max_turns=1,
                        timeout=0.5)
    assert run.turns[0].result == "Error (timeout): sandbox: timed out after 0.5 s" and run.errors == 1
