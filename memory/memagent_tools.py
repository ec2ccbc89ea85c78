"""mem-agent's memory tools, as trusted setup code for `agora.sandbox.python.run_python`.

The tools are defined before the sandbox's audit hook is installed, so the model's python can call them but cannot
import anything itself. They refuse absolute paths, `..` and anything resolving outside the memory directory (the
audit hook refuses those too, for raw python), refuse symlinks, and keep a file under `max_file` bytes and the whole
directory under `max_dir` bytes. `run_tools` runs one python block and rolls the directory back if the block left it
over `max_dir` by writing around the tools.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from agora.sandbox.python import Outcome, run_python

MAX_FILE = 1 << 20  # 1 MB a file
MAX_DIR = 10 << 20  # 10 MB the directory
NAMES = ("create_file", "update_file", "read_file", "delete_file", "list_files", "check_if_file_exists",
         "create_dir", "check_if_dir_exists", "get_size", "go_to_link")

TOOLS = '''
import os as _mem_os, re, json
_MEM_ROOT = _mem_os.path.realpath(_mem_os.getcwd())
_MAX_FILE, _MAX_DIR = {max_file}, {max_dir}

def _mem_path(path, _os=_mem_os, _root=_MEM_ROOT):
    p = _os.path.normpath(str(path))
    if _os.path.isabs(p) or p == ".." or p.startswith(".." + _os.sep):
        raise PermissionError(f"memory: {{path}} is outside the memory directory")
    full = _os.path.join(_root, p)
    real = _os.path.realpath(full)
    if _os.path.islink(full) or (real != _root and not real.startswith(_root + _os.sep)):
        raise PermissionError(f"memory: {{path}} is a link or leads outside the memory directory")
    return full

def get_size(path="", _os=_mem_os):
    """Bytes of a file, or of everything under a folder ('' = the whole memory)."""
    full = _mem_path(path or ".")
    if _os.path.isfile(full):
        return _os.path.getsize(full)
    return sum(_os.path.getsize(_os.path.join(d, f)) for d, _, fs in _os.walk(full) for f in fs)

def _check_room(full, content, _os=_mem_os):
    size = len(content.encode())
    if size > _MAX_FILE:
        raise ValueError(f"memory: {{size}} bytes is over the {{_MAX_FILE}}-byte file limit")
    old = _os.path.getsize(full) if _os.path.isfile(full) else 0
    if get_size() - old + size > _MAX_DIR:
        raise ValueError(f"memory: the directory would exceed {{_MAX_DIR}} bytes")

def create_file(path, content="", _os=_mem_os):
    full = _mem_path(path)
    if _os.path.exists(full):
        raise FileExistsError(f"memory: {{path}} exists; use update_file")
    _check_room(full, content)
    parent = _os.path.dirname(full)
    if not _os.path.isdir(parent):
        _os.makedirs(parent)
    with open(full, "w") as f:
        f.write(content)
    return True

def update_file(path, old_content, new_content, _os=_mem_os):
    """Replace the first occurrence of old_content; old_content '' appends."""
    full = _mem_path(path)
    text = read_file(path)
    if old_content and old_content not in text:
        raise ValueError(f"memory: the text to replace is not in {{path}}")
    text = text.replace(old_content, new_content, 1) if old_content else text + new_content
    _check_room(full, text)
    with open(full, "w") as f:
        f.write(text)
    return True

def read_file(path):
    with open(_mem_path(path)) as f:
        return f.read()

def delete_file(path, _os=_mem_os):
    _os.remove(_mem_path(path))
    return True

def check_if_file_exists(path, _os=_mem_os):
    return _os.path.isfile(_mem_path(path))

def check_if_dir_exists(path, _os=_mem_os):
    return _os.path.isdir(_mem_path(path))

def create_dir(path, _os=_mem_os):
    full = _mem_path(path)
    if not _os.path.isdir(full):
        _os.makedirs(full)
    return True

def list_files(path="", _os=_mem_os):
    """The tree under a folder, one path per line."""
    full = _mem_path(path or ".")
    out = []
    for d, ds, fs in _os.walk(full):
        ds.sort()
        for f in sorted(fs):
            out.append(_os.path.relpath(_os.path.join(d, f), _MEM_ROOT))
    return "\\n".join(out)

def go_to_link(link):
    """The file a [[link]] points to: [[entities/x]] -> entities/x.md."""
    m = re.fullmatch(r"\\s*\\[\\[([^\\]]+)\\]\\]\\s*", str(link))
    if not m:
        raise ValueError(f"memory: {{link!r}} is not a [[link]]")
    target = m.group(1).strip()
    return read_file(target if target.endswith(".md") else target + ".md")
'''


def tools_source(max_file: int = MAX_FILE, max_dir: int = MAX_DIR) -> str:
    return TOOLS.format(max_file=max_file, max_dir=max_dir)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def run_tools(code: str, folder: Path, *, timeout: float = 5.0, max_file: int = MAX_FILE, max_dir: int = MAX_DIR,
              **limits) -> Outcome:
    """One python block against the memory directory; a block that leaves it over `max_dir` is undone (status
    "disk_limit"). `limits`: the sandbox's others (`memory`, `files`, `output`; see `run_python`)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        backup = Path(tmp) / "memory"
        shutil.copytree(folder, backup, symlinks=True)
        out = run_python(code, folder, setup=tools_source(max_file, max_dir), timeout=timeout, file_size=max_file,
                         **limits)
        if folder_size(folder) > max_dir:
            shutil.rmtree(folder)
            shutil.copytree(backup, folder, symlinks=True)
            return replace(out, stderr=out.stderr + f"\nmemory: over the {max_dir}-byte directory limit; the block was undone",
                           returncode=out.returncode or 1, status="disk_limit")
    return out
