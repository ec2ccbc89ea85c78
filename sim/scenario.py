"""Load and validate `scenarios/`: personas, task specs and anchors.

Every problem becomes an `AgoraError` naming the file and the field path
(`personas.yaml: personas[3].traits.scepticism: ...`), never a pydantic dump or a traceback.
The tasks are the specs in `tasks/`: a folder with a fourth spec has a fourth task.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from agora.sim.errors import AgoraError
from agora.sim.schema import ANCHOR_KINDS, Anchor, AnchorFile, Persona, PromptLibrary, TaskSpec
from agora.sim.storable import storable_value


def default_scenarios_dir() -> Path:
    """`$AGORA_SCENARIOS`, else the `scenarios/` folder that ships beside the code."""
    env = os.environ.get("AGORA_SCENARIOS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "scenarios"


def read_yaml(path: Path) -> object:
    """A YAML file's data; a file that is missing, unreadable, not UTF-8 or not YAML is one line naming it."""
    if not path.is_file():
        raise AgoraError(f"{path}: file not found")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise AgoraError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise AgoraError(f"{path}: not UTF-8 text at line {line} (byte {err.start}); save the file as UTF-8") from None
    try:
        return storable_value(yaml.load(text, Loader=_Loader))  # a "\ud800" escape: U+FFFD, not a crash at the write
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise AgoraError(f"{path}: not valid YAML{where} ({one_line(err.problem or err.context or 'unreadable')})") from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow (a control character, say)
        line = text.count("\n", 0, err.position) + 1
        char = chr(err.character) if isinstance(err.character, int) else err.character
        raise AgoraError(f"{path}: not valid YAML at line {line} (character {quoted(char)} is not "
                         "allowed in YAML; remove it or write it as an escape in double quotes)") from None
    except yaml.YAMLError as err:
        raise AgoraError(f"{path}: not valid YAML ({one_line(str(err))})") from None
    except RecursionError:
        raise AgoraError(f"{path}: not valid YAML (nested too deeply to read)") from None
    except (ValueError, OverflowError) as err:  # a date that is no date, an integer of more than 4300 digits
        raise AgoraError(f"{path}: not valid YAML ({one_line(str(err))})") from None


MAX_ALIASED_NODES = 1_000_000


class _Loader(yaml.SafeLoader):
    """Safe YAML that also refuses a document whose aliases expand past a million nodes (a "billion laughs" file,
    which reads in a moment and then takes any validator or writer hours) or make a structure that contains itself."""

    def compose_document(self):
        node = super().compose_document()
        sizes: dict[int, int] = {}
        if _expanded(node, sizes, set()) - len(sizes) > MAX_ALIASED_NODES:
            raise yaml.YAMLError(f"its aliases (*name) repeat more than {MAX_ALIASED_NODES:,} values")
        return node


def _expanded(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """How many values `node` stands for once every alias is written out; each distinct node is counted once."""
    key = id(node)
    if key in open_:
        raise yaml.YAMLError("an alias (*name) inside the value it names makes a structure that contains itself")
    if key not in sizes:
        open_.add(key)
        value = node.value if isinstance(node, yaml.CollectionNode) else ()
        children = [n for pair in value for n in pair] if isinstance(node, yaml.MappingNode) else value
        sizes[key] = 1 + sum(_expanded(c, sizes, open_) for c in children)
        open_.discard(key)
    return sizes[key]


def one_line(text: str, limit: int = 300) -> str:
    """`text` with line breaks and invisible characters escaped and cut to `limit` characters, so that an error
    quoting a user's file stays one short terminal line."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def plain(value: object, limit: int = 60) -> str:
    """A name or value from a user's file as an error shows it: as written when it is printable text, else its
    repr (line breaks and invisible characters escaped); cut to `limit` characters."""
    if not (isinstance(value, str) and value and value.isprintable() and value.strip() == value):
        return quoted(value, limit)
    return value if len(value) <= limit else value[: limit - 3] + "..."


def quoted(value: object, limit: int = 60) -> str:
    """`repr(value)`, which escapes line breaks and invisible characters, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate(model: type[BaseModel], data: object, path: Path, prefix: str = "", context: dict | None = None):
    """Validate `data` as `model` (its validators see `context`); on failure name the file and the first offending
    field."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as err:
        first = err.errors()[0]
        loc = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{plain(p)}" for p in first["loc"])
        loc = loc.lstrip(".") or "(top level)"
        got = f" (got {quoted(first['input'])})" if first["type"] != "missing" and not isinstance(first["input"], dict) else ""
        more = f"; {err.error_count() - 1} more problem(s)" if err.error_count() > 1 else ""
        raise AgoraError(f"{path}: {loc}: {one_line(first['msg'])}{got}{more}") from None


@dataclass
class Scenarios:
    """The scenario folder, loaded lazily and validated on first use."""

    root: Path
    _specs: dict[str, TaskSpec] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, root: Path | str | None = None) -> Scenarios:
        path = Path(root) if root else default_scenarios_dir()
        if not path.is_dir():
            raise AgoraError(f"{path}: scenarios folder not found (set --scenarios or AGORA_SCENARIOS)")
        return cls(path)

    @cached_property
    def personas(self) -> list[Persona]:
        path = self.root / "personas.yaml"
        data = read_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get("personas"), list):
            raise AgoraError(f"{path}: expected a mapping with a 'personas' list")
        personas = [validate(Persona, p, path, f"personas[{i}]") for i, p in enumerate(data["personas"])]
        ids = [p.id for p in personas]
        if dupes := sorted({i for i in ids if ids.count(i) > 1}):
            raise AgoraError(f"{path}: duplicate persona id(s): {', '.join(dupes)}")
        return personas

    @property
    def tasks(self) -> list[str]:
        """Every task the folder declares (a spec per file in `tasks/`), in the specs' `order`."""
        names = [p.stem for p in (self.root / "tasks").glob("*.yaml")]
        return sorted(names, key=lambda n: (self.task(n).order, n))

    def task(self, name: str) -> TaskSpec:
        """A task's spec, read once. One that borrows a phrase bank (`corpus`) must borrow it from a task with a bank
        of its own for the same anchor kind: the control writes for it as for that task."""
        if name in self._specs:
            return self._specs[name]
        path = self.spec_path(name)
        if not isinstance(name, str) or "/" in name or not path.is_file():
            raise AgoraError(f"unknown task {name!r}; choose one of: {', '.join(self.tasks)}")
        spec = validate(TaskSpec, read_yaml(path), path)
        if spec.name != name:
            raise AgoraError(f"{path}: name: says {spec.name!r} but the file is for task {name!r}")
        if spec.corpus != name:  # it borrows the phrase bank of a task whose anchors are of its kind
            lender_path = self.spec_path(spec.corpus)
            # read without following the lender's own borrowing: two tasks that borrow from each other are an error,
            # not an endless recursion
            lender = validate(TaskSpec, read_yaml(lender_path), lender_path) if lender_path.is_file() else None
            if lender is None or lender.name != spec.corpus or lender.corpus != lender.name or lender.anchor_kind != spec.anchor_kind:
                raise AgoraError(f"{path}: corpus: {spec.corpus!r} is not a task with its own phrase bank for "
                                 f"{spec.anchor_kind} anchors; name this task itself or such a task")
        self._specs[name] = spec
        return spec

    def spec_path(self, name: str) -> Path:
        """The file of a task's spec (errors about what it says name it)."""
        return self.root / "tasks" / f"{name}.yaml"

    def prompts(self) -> PromptLibrary:
        path = self.root / "prompts.yaml"
        return validate(PromptLibrary, read_yaml(path), path) if path.is_file() else PromptLibrary()

    def instruction(self, task: str, name_or_text: str | None) -> str:
        """A named prompt (evaluation, or this task's inoculation library) as its text; other text as written.
        A single lower-case word that names no prompt is an error, not an instruction: it is a mistyped name."""
        if not name_or_text:
            return ""
        lib = self.prompts()
        named = {**lib.evaluation, **lib.inoculation.get(task, {})}
        if name_or_text not in named and re.fullmatch(r"[a-z0-9_-]+", name_or_text):
            raise AgoraError(f"{self.root / 'prompts.yaml'}: no prompt named {name_or_text!r} for task {task!r}; "
                             f"named prompts: {', '.join(sorted(map(plain, named)))} (or pass the instruction's text)")
        return named.get(name_or_text, name_or_text)

    def anchors(self, task: str, split: str | None = None) -> list[Anchor]:
        spec = self.task(task)
        path = self.root / spec.anchors
        key = ANCHOR_KINDS[spec.anchor_kind][1]
        data = read_yaml(path)
        if not isinstance(data, dict) or not data.get(key):
            raise AgoraError(f"{path}: expected a non-empty '{key}' list for task {task!r}")
        items = getattr(validate(AnchorFile, data, path), key)
        ids = [a.id for a in items]
        if dupes := sorted({i for i in ids if ids.count(i) > 1}):
            raise AgoraError(f"{path}: duplicate anchor id(s): {', '.join(dupes)}")
        if split is None or split == "all":
            return items
        chosen = [a for a in items if a.split == split]
        if not chosen:
            raise AgoraError(f"{path}: no anchors with split {split!r}")
        return chosen
