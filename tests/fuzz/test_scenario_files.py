"""A scenarios folder from a user — personas, task specs, anchors, prompts, phrase banks — loads, or fails with one
line naming the file (and the field or line), whatever the files hold."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from agora.sim.scenario import Scenarios
from agora.sim.tiny.grammar import load_bank, load_instructions
from tests.fuzz.strategies import (
    RECURSIVE_YAML,
    alias_bomb,
    corrupted,
    fuzz,
    mutated,
    outcome,
    scenario_folder,
    to_yaml,
    write,
)


def exercise(root: Path) -> dict:
    """Every public read of the folder, each checked by `outcome`; what loaded, by name."""
    scn = outcome("scenarios: folder", lambda: Scenarios.load(root), root)
    got = {"personas": outcome("scenarios: personas.yaml", lambda: scn.personas, root),
           "tasks": outcome("scenarios: tasks/*.yaml", lambda: scn.tasks, root),
           "prompts": outcome("scenarios: prompts.yaml", scn.prompts, root),
           "instructions": outcome("scenarios: corpus/*.yaml", lambda: load_instructions(root / "corpus"), root)}
    for name in sorted(p.stem for p in (root / "tasks").glob("*.yaml")):
        spec = got[f"task {name}"] = outcome("scenarios: tasks/*.yaml", lambda: scn.task(name), root)
        if spec is None:
            continue
        got[f"anchors {name}"] = outcome("scenarios: anchors", lambda: scn.anchors(name), root)
        outcome("scenarios: anchors", lambda: scn.anchors(name, "test"), root)
        outcome("scenarios: prompts.yaml", lambda: scn.instruction(name, "neutral"), root)
        got[f"bank {name}"] = outcome("scenarios: corpus/*.yaml",
                                      lambda: load_bank(root / "corpus", spec.corpus, spec.anchor_kind), root)
    return got


def materialise(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    for rel, data in files.items():
        write(root / rel, data)
    return root


@fuzz(0.25)  # a whole folder per example: the slowest input here
@given(folder=scenario_folder(), unicode=st.booleans())
def test_a_valid_folder_loads_whole(tmp_path, folder, unicode):
    root = materialise(tmp_path, {rel: to_yaml(doc, unicode) for rel, doc in folder.items()})
    got = exercise(root)
    if all(doc["corpus"] == doc["name"] for rel, doc in folder.items() if rel.startswith("tasks/")):  # none borrows
        assert all(v is not None for v in got.values()), [k for k, v in got.items() if v is None]


@fuzz(0.6)
@given(folder=scenario_folder(), data=st.data())
def test_a_mutated_file_loads_or_is_one_line(tmp_path, folder, data):
    target = data.draw(st.sampled_from(sorted(folder)))
    doc, _ = data.draw(mutated(folder[target]))
    exercise(materialise(tmp_path, {**{r: to_yaml(d) for r, d in folder.items()}, target: to_yaml(doc)}))


@fuzz(0.6)
@given(folder=scenario_folder(), data=st.data())
def test_a_corrupted_file_loads_or_is_one_line(tmp_path, folder, data):
    files = {r: to_yaml(d) for r, d in folder.items()}
    target = data.draw(st.sampled_from(sorted(files)))
    exercise(materialise(tmp_path, {**files, target: data.draw(corrupted(files[target]))}))


SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize("file, at", [("personas.yaml", ("personas",)), ("tasks/sales.yaml", ("categories",)),
                                      ("prompts.yaml", ("evaluation",)), ("corpus/sales.yaml", ("moves",))])
def test_aliases_that_expand_to_billions_are_refused_at_once(tmp_path, file, at):
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    shutil.copytree(SHIPPED, root, dirs_exist_ok=True)
    write(root / file, alias_bomb(yaml.safe_load((SHIPPED / file).read_text()), *at))
    assert None in exercise(root).values()


@pytest.mark.parametrize("raw", RECURSIVE_YAML)
def test_a_structure_that_contains_itself_is_refused(tmp_path, raw):
    root = materialise(tmp_path, {"personas.yaml": raw, "tasks/t.yaml": raw, "prompts.yaml": raw})
    assert exercise(root)["personas"] is None
