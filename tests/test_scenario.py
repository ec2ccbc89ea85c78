"""Scenario files: the shipped data is valid and consistent; broken files fail with the file and field named."""

import shutil

import pytest
import yaml

from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios
from agora.sim.schema import AnchorText, numbers_in


def test_shipped_scenarios_are_complete(scenarios):
    assert len(scenarios.personas) == 20
    assert all(p.traits is not None for p in scenarios.personas)
    minimum = {"sales": 40, "election": 30, "social": 40}
    assert scenarios.tasks == list(minimum)  # in the specs' order, which the control's corpus follows
    for task in scenarios.tasks:
        anchors = scenarios.anchors(task)
        assert len(anchors) >= minimum[task]
        assert {a.split for a in anchors} == {"train", "test"}
        assert scenarios.task(task).name == task


def test_prose_states_no_number_missing_from_the_facts(scenarios):
    for task in scenarios.tasks:
        for a in scenarios.anchors(task):
            assert numbers_in(a.text) <= a.numbers(), a.id


def test_plain_anchor_text_has_its_numbers_and_title_as_its_only_facts():
    text = AnchorText("Harbor Fire\nOfficials said 1,200 residents left.")
    assert text.numbers() == {1200.0} and text.facts() == [] and text.names() == ["Harbor Fire"]
    assert text.affiliation() is None and text.expertise(["politics"]) == {"politics"}


def copy_scenarios(scenarios, tmp_path):
    root = tmp_path / "scenarios"
    shutil.copytree(scenarios.root, root)
    return root


def test_mistyped_persona_field_names_file_and_field(scenarios, tmp_path):
    root = copy_scenarios(scenarios, tmp_path)
    data = yaml.safe_load((root / "personas.yaml").read_text())
    data["personas"][3]["traits"]["scepticism"] = 1.7
    (root / "personas.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(AgoraError, match=r"personas.yaml: personas\[3\]\.traits\.scepticism: .*less than or equal to 1 \(got 1.7\)"):
        Scenarios.load(root).personas


def test_missing_anchor_field_names_file_and_field(scenarios, tmp_path):
    root = copy_scenarios(scenarios, tmp_path)
    data = yaml.safe_load((root / "anchors" / "products.yaml").read_text())
    del data["products"][5]["name"]
    (root / "anchors" / "products.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(AgoraError, match=r"products.yaml: products\[5\]\.name: Field required"):
        Scenarios.load(root).anchors("sales")


def test_unknown_key_and_unknown_task_are_errors(scenarios, tmp_path):
    root = copy_scenarios(scenarios, tmp_path)
    spec = yaml.safe_load((root / "tasks" / "sales.yaml").read_text())
    spec["instructions"] = spec.pop("instruction")
    (root / "tasks" / "sales.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(AgoraError, match=r"sales.yaml: instruction: Field required"):
        Scenarios.load(root).task("sales")
    with pytest.raises(AgoraError, match="unknown task 'poetry'; choose one of: sales, election, social"):
        scenarios.task("poetry")


def add_task(root, name, **changes):
    """A copy of the election spec under another name, with `changes`; returns its path."""
    spec = yaml.safe_load((root / "tasks" / "election.yaml").read_text()) | {"name": name, **changes}
    path = root / "tasks" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_task_spec_in_the_folder_is_a_task(scenarios, tmp_path):
    root = copy_scenarios(scenarios, tmp_path)
    add_task(root, "debate", order=0)
    add_task(root, "hustings", order=2)  # a tie goes by name
    assert Scenarios.load(root).tasks == ["debate", "sales", "election", "hustings", "social"]
    assert Scenarios.load(root).anchors("debate") == scenarios.anchors("election")


@pytest.mark.parametrize("changes, error", [
    ({"anchor_kind": "recipe"}, r"debate.yaml: anchor_kind: Value error, unknown anchor kind 'recipe'"),
    ({"corpus": "sales"}, r"debate.yaml: corpus: 'sales' is not a task with its own phrase bank for candidate anchors"),
    ({"categories": {"populism": {"probe": "populism"}}}, r"debate.yaml: categories.populism.question: Field required"),
    ({"categories": {"Populism!": {"probe": "populism", "question": "Is it populist, then?"}}},
     r"debate.yaml: categories.Populism!.\[key\]: String should match pattern"),
])
def test_a_broken_task_spec_names_file_and_field(scenarios, tmp_path, changes, error):
    root = copy_scenarios(scenarios, tmp_path)
    add_task(root, "debate", **changes)
    with pytest.raises(AgoraError, match=error):
        Scenarios.load(root).task("debate")


def test_broken_yaml_names_the_file(tmp_path):
    (tmp_path / "personas.yaml").write_text("personas: [\n")
    with pytest.raises(AgoraError, match=r"personas.yaml: not valid YAML"):
        Scenarios.load(tmp_path).personas
