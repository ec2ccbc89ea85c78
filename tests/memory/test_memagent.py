"""mem-agent: the tools, the sandbox (escapes and limits), the think/python/reply loop, the capability's notes."""

import json

import pytest

from agora.experiments.drift import answer, seed_memory
from agora.memory.memagent import MemAgentCapability, parse_turn, run_agent, scripted
from agora.memory.memagent_tools import MAX_DIR, MAX_FILE, run_tools
from agora.sim.backends.hf import HFBackend

from .conftest import outcome


@pytest.fixture
def memory(tmp_path):
    (tmp_path / "secret.txt").write_text("top secret")
    folder = tmp_path / "memory"
    (folder / "entities").mkdir(parents=True)
    (folder / "user.md").write_text("# Me\n- [[entities/ann]]\n")
    (folder / "entities" / "ann.md").write_text("# Ann\nrewarded: {\"faithful\": 2}\n")
    (folder / "link.md").symlink_to(tmp_path / "secret.txt")
    return folder


def test_tools_read_write_and_follow_links(memory):
    code = """
create_file("entities/bob.md", "# Bob\\n")
update_file("entities/bob.md", "# Bob", "# Bob Stone")
update_file("user.md", "", "- [[entities/bob]]\\n")
create_dir("notes")
print(go_to_link("[[entities/ann]]").splitlines()[1])
print(check_if_file_exists("entities/bob.md"), check_if_dir_exists("notes"), check_if_file_exists("nope.md"))
print(get_size("entities/bob.md"))
delete_file("entities/bob.md")
print(list_files("entities"))
"""
    out = run_tools(code, memory)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:4] == ['rewarded: {"faithful": 2}', "True True False", "12", "entities/ann.md"]
    assert (memory / "user.md").read_text().endswith("- [[entities/bob]]\n") and (memory / "notes").is_dir()


ESCAPES = [
    "print(read_file('../secret.txt'))",  # via the tools: relative, absolute, a symlink out
    "print(read_file(%r))",
    "print(read_file('link.md'))",
    "create_file('../planted.md', 'x')",
    "print(go_to_link('[[../secret.txt]]'))",
    "print(open('../secret.txt').read())",  # raw python
    "print(open(%r).read())",
    "print(open('link.md').read())",
    "__import__('os').symlink(%r, 'mine.md')",
    "print(__import__('os').listdir('..'))",
    "_mem_os.system('cat ../secret.txt')",  # the tools' own os module
    "import shutil",
]


@pytest.mark.parametrize("code", ESCAPES)
def test_escapes_are_refused_and_nothing_outside_changes(memory, code):
    secret = memory.parent / "secret.txt"
    out = run_tools(code.replace("%r", repr(str(secret))), memory)
    assert out.returncode != 0 and "PermissionError" in out.stderr and "top secret" not in out.stdout
    assert sorted(p.name for p in memory.parent.iterdir()) == ["memory", "secret.txt"] and secret.read_text() == "top secret"
    assert not (memory / "mine.md").exists()


def test_size_and_time_limits(memory):
    assert (MAX_FILE, MAX_DIR) == (1 << 20, 10 << 20)
    big = run_tools(f"create_file('big.md', 'x' * {MAX_FILE + 1})", memory)
    assert "over the 1048576-byte file limit" in big.stderr and not (memory / "big.md").exists()
    full = run_tools("for i in range(3):\n    create_file(f'f{i}.md', 'x' * 900)", memory, max_file=1000, max_dir=2500)
    assert "would exceed 2500 bytes" in full.stderr and sorted(p.name for p in memory.glob("f*.md")) == ["f0.md", "f1.md"]
    raw = run_tools("for i in range(3):\n    open(f'r{i}.md', 'w').write('x' * 900)", memory, max_file=1000, max_dir=4000)
    assert "the block was undone" in raw.stderr and not list(memory.glob("r*.md")) and (memory / "f0.md").is_file()
    loop = run_tools("while True: pass", memory, timeout=1)
    assert loop.timed_out


def test_agent_loop_runs_python_feeds_results_back_and_stops_at_the_cap(memory):
    assert parse_turn("<think>a</think><python>print(1)</python>") .python == "print(1)"
    run = run_agent(scripted([lambda _: "<think>look</think><python>print(read_file('user.md'))</python>",
                              lambda last: f"<reply>{last.splitlines()[-1]}</reply>"]), "?", memory)
    assert run.reply == "- [[entities/ann]]" and len(run.turns) == 2
    stuck = run_agent(scripted([lambda _: "<think>hmm</think>"]), "?", memory, max_turns=3)
    assert stuck.reply is None and [t.result for t in stuck.turns] == ["Error: no <python> block and no <reply>"] * 3


def test_capability_keeps_notes_per_persona_and_recalls_the_majority(task, anchor, tmp_path):
    cap = MemAgentCapability(folder=str(tmp_path / "mem"))
    assert cap.before_write(task, anchor, "<sales> <msg>") == "<sales> <msg>"
    cap.after_outcome(task, outcome(anchor, f"{anchor.name} is here.", 3))
    user = (tmp_path / "mem" / "user.md").read_text()
    assert "[[entities/p0]]" in user and 'audience rewarded: {"faithful": 3}' in user
    assert (tmp_path / "mem" / "entities" / "p3.md").read_text().splitlines()[2:4] == ["rewarded: {}", 'punished: {"faithful": 1}']
    assert cap.before_write(task, anchor, "<sales> <msg>") == "<sales> Stick to the facts you were given. <msg>"
    state = json.loads(json.dumps(cap.state()))
    assert {f["path"] for f in state["files"]} == {"user.md"} | {f"entities/p{i}.md" for i in range(4)}
    assert state["role_log"]["ran"] == {"writer:rule": 1, "reader:rule": 1}


def test_llm_agent_that_writes_garbage_falls_back_to_the_rule_agent(task, anchor, tmp_path, chat_checkpoint):
    cap = MemAgentCapability(backend=HFBackend(chat_checkpoint), folder=str(tmp_path / "mem"), max_turns=1, agent_tokens=32)
    cap.before_write(task, anchor, [{"role": "user", "content": "Write."}])
    cap.after_outcome(task, outcome(anchor, f"{anchor.name} is here.", 3))
    assert cap.state()["role_log"]["ran"] == {"writer:rule-fallback": 1}
    assert (tmp_path / "mem" / "entities" / "p0.md").is_file()


def test_retrieval_needs_link_following(scenarios, tmp_path):
    personas = scenarios.personas[:3]
    truth = seed_memory(tmp_path / "mem", personas, seed=1)
    with_links = {p.name: answer(tmp_path / "mem", p.name, links=True) for p in personas}
    assert {n: a for n, (a, _) in with_links.items()} == truth and {t for _, t in with_links.values()} == {3}
    flat = {answer(tmp_path / "mem", p.name, links=False)[0] for p in personas}
    assert len(flat) == 1  # user.md alone gives everyone the audience's majority
