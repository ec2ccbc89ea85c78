"""The sandbox that runs model-written Python: confined to its folder, no escapes, limits enforced."""

import pytest

from agora.sandbox.python import run_python


@pytest.fixture
def box(tmp_path):
    (tmp_path / "secret.txt").write_text("top secret")
    folder = tmp_path / "box"
    folder.mkdir()
    (folder / "inside.txt").write_text("hello")
    (folder / "link").symlink_to(tmp_path / "secret.txt")
    return folder


def test_code_reads_and_writes_inside_its_folder(box):
    out = run_python("open('new.txt', 'w').write('x')\nprint(open('inside.txt').read())", box)
    assert out.returncode == 0 and out.stdout.strip() == "hello" and (box / "new.txt").read_text() == "x"


@pytest.mark.parametrize("code", [
    "print(open('../secret.txt').read())",  # relative escape
    "print(open(%r).read())",  # absolute path
    "print(open('link').read())",  # a symlink pointing out
    "__import__('os').symlink(%r, 'mine')",  # making such a link
    "open('../written.txt', 'w').write('x')",
    "__import__('os').rename('inside.txt', '../moved.txt')",
    "print(__import__('os').listdir('..'))",
    "__import__('os').system('cat ../secret.txt')",
    "__import__('subprocess')",  # a module not already loaded
    "import ctypes",
    "__import__('os').chdir('..')",
])
def test_escapes_are_refused_and_nothing_outside_changes(box, code):
    secret = box.parent / "secret.txt"
    out = run_python(code.replace("%r", repr(str(secret))), box)
    assert out.returncode != 0 and "PermissionError: sandbox:" in out.stderr
    assert "top secret" not in out.stdout
    assert sorted(p.name for p in box.parent.iterdir()) == ["box", "secret.txt"] and secret.read_text() == "top secret"
    assert (box / "inside.txt").is_file()


def test_time_memory_and_file_size_limits(box):
    loop = run_python("print('started', flush=True)\nwhile True: pass", box, timeout=1)
    assert loop.timed_out and loop.returncode is None and loop.stdout.strip() == "started"
    assert "MemoryError" in run_python("x = ' ' * (2 << 30)", box, memory=256 << 20).stderr
    big = run_python("with open('big', 'w') as f:\n    f.write('x' * 4096)", box, file_size=1024)
    assert "File too large" in big.stderr and (box / "big").stat().st_size <= 1024


def test_trusted_setup_runs_before_the_guard(box):
    out = run_python("print(json.dumps(helper()))", box, setup="import json\ndef helper():\n    return [1, 2]")
    assert out.stdout.strip() == "[1, 2]"
    assert run_python("import json", box).returncode != 0  # not imported by the setup: refused
