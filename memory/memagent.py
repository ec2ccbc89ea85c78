"""mem-agent (Dria 2025): a markdown memory directory, read and written by an agent through python tool calls.

    user.md              what the competitor knows about its audience, with a [[entities/<persona>]] link per persona
    entities/<id>.md     one persona: the strategies it rewarded and punished, and its latest thought

Each agent turn is `<think>...</think>` then either `<python>...</python>` (run in the sandbox, confined to the
memory directory, with only the tools of `memagent_tools.py`; its output comes back as `<result>...</result>`) or
`<reply>...</reply>`, which ends the loop; `max_turns` caps it. On a chat policy the competitor's own model is the
agent (LLM path); the embedded slot model cannot write python, so there a scripted rule agent emits the same python
blocks through the same sandbox — the tools, the links and the limits are exercised either way.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from agora.memory.memagent_tools import MAX_DIR, MAX_FILE, NAMES, run_tools
from agora.memory.roles import ROLE_PATHS, RoleLog, role_path, strategies, strategy, used_strategies
from agora.sim.backends.base import Backend, Prompt, Sampling
from agora.sim.capability import Outcome
from agora.sim.errors import AgoraError
from agora.sim.instructions import with_instruction
from agora.sim.registry import capabilities
from agora.sim.schema import Anchor, TaskSpec

SYSTEM = f"""You manage a markdown memory directory with python. Each turn: think inside <think>...</think>, then
either run python inside <python>...</python> (only these functions exist: {', '.join(NAMES)}; no imports; print what
you need) or answer inside <reply>...</reply>. user.md links to entity files as [[entities/name]]."""

Respond = Callable[[list[dict]], str]  # the conversation so far -> the agent's next turn


@dataclass
class Turn:
    think: str
    python: str
    reply: str
    result: str = ""


@dataclass
class AgentRun:
    reply: str | None  # None: the turn cap came first
    turns: list[Turn] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum("Error" in t.result for t in self.turns)


def parse_turn(text: str) -> Turn:
    def tag(name: str) -> str:
        m = re.search(rf"<{name}>(.*?)(?:</{name}>|$)", text, re.S)
        return m.group(1).strip() if m else ""
    return Turn(tag("think"), tag("python"), tag("reply"))


def run_agent(respond: Respond, task: str, folder: Path, max_turns: int = 4, timeout: float = 5.0) -> AgentRun:
    """The think / python / reply loop on `folder`."""
    chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": task}]
    run = AgentRun(None)
    for _ in range(max_turns):
        text = respond(chat)
        turn = parse_turn(text)
        run.turns.append(turn)
        chat.append({"role": "assistant", "content": text})
        if turn.reply:
            run.reply = turn.reply
            return run
        if not turn.python:
            turn.result = "Error: no <python> block and no <reply>"
        else:
            out = run_tools(turn.python, folder, timeout=timeout)
            error = out.stderr.strip().splitlines()[-1] if out.status != "ok" and out.stderr.strip() else ""
            if out.status not in ("ok", "error"):  # a limit stopped it: say which, as the sandbox recorded it
                error = f"Error ({out.status}): {error}"
            turn.result = (out.stdout[-2000:] + (f"\n{error}" if error else "")).strip()
        chat.append({"role": "user", "content": f"<result>{turn.result}</result>"})
    return run


def llm_respond(backend: Backend, seed: int, max_new_tokens: int = 256) -> Respond:
    calls = iter(range(1_000_000))
    return lambda chat: backend.generate([chat], Sampling(0.7, 1.0, max_new_tokens, seed), seeds=[seed + next(calls)])[0]


def scripted(turns: list[Callable[[str], str]]) -> Respond:
    """A rule agent: turn i is `turns[i](last result)`, so a later turn can use what an earlier python block printed."""
    def respond(chat: list[dict]) -> str:
        i = sum(m["role"] == "assistant" for m in chat)
        last = chat[-1]["content"].removeprefix("<result>").removesuffix("</result>") if i else ""
        return turns[min(i, len(turns) - 1)](last)
    return respond


# --- what the competitor writes and reads --------------------------------------------------------------------------

ENTITY = "# {pid}\n\nrewarded: {rewarded}\npunished: {punished}\nlast thought: {thought}\n"
READ_AUDIENCE = """
tally = {}
for link in re.findall(r"\\[\\[[^\\]]+\\]\\]", read_file("user.md")):
    m = re.search(r"rewarded: (.*)", go_to_link(link))
    counts = json.loads(m.group(1)) if m else {}
    if counts:
        top = max(counts, key=counts.get)
        tally[top] = tally.get(top, 0) + 1
print(json.dumps(tally))
"""


def counts_line(counts: Counter) -> str:
    return json.dumps(dict(sorted(counts.items())))


def note_outcome(folder: Path, outcome: Outcome) -> str:
    """The python block that records one contest: per persona, the strategies of my message it rewarded (voted for)
    or punished (voted against), and a link from user.md. Built from the current files (read on the host: it is
    trusted code deciding what the rule agent writes); the writing itself goes through the sandboxed tools."""
    used = used_strategies(outcome.message, outcome.anchor)
    lines = []
    user = folder / "user.md"
    if not user.is_file():
        lines.append(f"create_file('user.md', {'# My audience' + chr(10) + chr(10) + '## Personas' + chr(10)!r})")
    known = user.read_text() if user.is_file() else ""
    audience = _counts(known, "audience rewarded")
    for pid, thought, for_me in outcome.thoughts:
        path = folder / "entities" / f"{pid}.md"
        old = path.read_text() if path.is_file() else ""
        rewarded, punished = _counts(old, "rewarded"), _counts(old, "punished")
        for s in used:
            (rewarded if for_me else punished)[s] += 1
            audience[s] += for_me
        new = ENTITY.format(pid=pid, rewarded=counts_line(rewarded), punished=counts_line(punished), thought=thought.replace("\n", " "))
        lines.append(f"update_file({f'entities/{pid}.md'!r}, {old!r}, {new!r})" if old else
                     f"create_file({f'entities/{pid}.md'!r}, {new!r})")
        if f"[[entities/{pid}]]" not in known:
            lines.append(f"update_file('user.md', '', {f'- [[entities/{pid}]]' + chr(10)!r})")
            known += f"[[entities/{pid}]]"
    summary = f"audience rewarded: {counts_line(audience)}"
    previous = re.search(r"^audience rewarded: .*$", known, re.M)
    lines.append(f"update_file('user.md', {previous.group(0)!r}, {summary!r})" if previous else
                 f"update_file('user.md', '', {chr(10) + '## Summary' + chr(10) + summary + chr(10)!r})")
    return "\n".join(lines)


def _counts(text: str, field_name: str) -> Counter:
    m = re.search(rf"^{field_name}: (.*)$", text, re.M)
    return Counter(json.loads(m.group(1))) if m else Counter()


@dataclass
class MemAgentConfig:
    roles: str = field(default="auto", metadata={"help": "auto (llm agent for a chat policy, rule agent for the slot model) | rule | llm"})
    max_turns: int = field(default=4, metadata={"help": "agent turns before the loop is cut"})
    timeout: float = field(default=5.0, metadata={"help": "seconds a python block may run"})
    agent_tokens: int = field(default=256, metadata={"help": "most new tokens of an LLM agent turn"})
    folder: str = field(default="", metadata={"help": "memory directory; default: a fresh temporary one"})

    def __post_init__(self):
        if self.roles not in ROLE_PATHS:
            raise AgoraError(f"memagent roles: {self.roles!r}; use {', '.join(ROLE_PATHS)}")


@capabilities.register("memagent")
class MemAgentCapability:
    """Keeps notes about what each audience persona rewarded; before writing, the agent reads them (following the
    links from user.md) and the strategy most personas rewarded becomes the instruction."""

    name = "memagent"

    def __init__(self, backend=None, seed: int = 0, **settings):
        self.config = MemAgentConfig(**settings)
        self.backend = backend
        self.seed = seed
        self.folder = Path(self.config.folder or tempfile.mkdtemp(prefix="agora-memagent-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.config.folder:  # a scratch memory: its contents live on in the run's capabilities.json
            weakref.finalize(self, shutil.rmtree, self.folder, True)
        self.log = RoleLog()
        self.path = ""
        self.reads: list[dict] = []  # the last 200 go into state()
        self.read_count = 0  # all reads so far: the LLM reader's seed

    def recall(self) -> str:
        """The advice the memory supports: an instruction, or '' when it holds nothing yet."""
        if not (self.folder / "user.md").is_file():
            return ""
        if self.path == "llm":
            run = run_agent(llm_respond(self.backend, self.seed + self.read_count, self.config.agent_tokens),
                            "Which kind of message do most audience personas reward? Reply with one instruction.",
                            self.folder, self.config.max_turns, self.config.timeout)
            if run.reply:
                self.log.note("reader", "llm")
                return run.reply
            self.log.fallback("reader", run.turns[-1].think + run.turns[-1].result if run.turns else "")
        else:
            self.log.note("reader", "rule")
        run = run_agent(scripted([lambda _: f"<think>follow every link</think><python>{READ_AUDIENCE}</python>",
                                  lambda result: f"<think>majority</think><reply>{_advice(result)}</reply>"]),
                        "What do most personas reward?", self.folder, 2, self.config.timeout)
        return run.reply or ""

    def before_write(self, task: TaskSpec, anchor: Anchor, prompt: Prompt) -> Prompt:
        self.path = role_path(self.config.roles, prompt, self.backend)
        advice = self.recall()
        self.reads.append({"anchor": anchor.id, "advice": advice})
        self.read_count += 1
        return with_instruction(prompt, advice)

    def after_outcome(self, task: TaskSpec, outcome: Outcome) -> None:
        if self.path == "llm":
            thoughts = "\n".join(f"- {p} ({'for me' if me else 'against me'}): {t}" for p, t, me in outcome.thoughts)
            run = run_agent(llm_respond(self.backend, self.seed * 1_000_003 + outcome.contest, self.config.agent_tokens),
                            f"Record what each persona rewarded in this contest.\nMy message: {outcome.message}\n{thoughts}",
                            self.folder, self.config.max_turns, self.config.timeout)
            if run.reply and any(t.python for t in run.turns) and not run.errors:
                self.log.note("writer", "llm")
                return
            self.log.fallback("writer", run.turns[-1].result if run.turns else "")
        else:
            self.log.note("writer", "rule")
        code = note_outcome(self.folder, outcome)
        run = run_agent(scripted([lambda _: f"<think>record the votes</think><python>{code}</python>",
                                  lambda _: "<reply>recorded</reply>"]), "Record the contest.", self.folder, 2,
                        self.config.timeout)
        if run.errors:
            raise AgoraError(f"memagent: the rule writer's tools failed in {self.folder}: {run.turns[0].result[-300:]}")

    def files(self) -> list[dict]:
        """The notes as the dashboard shows them (a file that is not UTF-8 must not stop the run's state)."""
        return [{"path": str(p.relative_to(self.folder)), "bytes": p.stat().st_size,
                 "content": p.read_text(errors="replace")[:2000]}
                for p in sorted(self.folder.rglob("*.md"))]

    def memory(self) -> dict:
        """The whole directory, every byte (surrogate-escaped where not UTF-8): what `restore` writes back. Links
        are left out: the sandbox lets no one make them, and restoring one could point outside the folder."""
        entries = [p for p in sorted(self.folder.rglob("*")) if not p.is_symlink()]
        return {"dirs": [p.relative_to(self.folder).as_posix() for p in entries if p.is_dir()],
                "files": {p.relative_to(self.folder).as_posix(): p.read_bytes().decode("utf-8", "surrogateescape")
                          for p in entries if p.is_file()}}

    def state(self) -> dict:
        return {"config": asdict(self.config), "roles": self.path, "role_log": self.log.as_dict(),
                "limits": {"file_bytes": MAX_FILE, "dir_bytes": MAX_DIR}, "folder": str(self.folder),
                "files": self.files(), "reads": self.reads[-200:], "read_count": self.read_count,
                "memory": self.memory()}

    def restore(self, state: dict) -> None:
        """The folder is emptied and rewritten from the snapshot, since a killed run may have written notes of a
        contest it never committed; paths that would leave the folder are refused."""
        memory = state["memory"]
        targets = {rel: self._inside(rel) for rel in [*memory["dirs"], *memory["files"]]}
        for child in self.folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for rel in memory["dirs"]:
            targets[rel].mkdir(parents=True, exist_ok=True)
        for rel, text in memory["files"].items():
            targets[rel].parent.mkdir(parents=True, exist_ok=True)
            targets[rel].write_bytes(text.encode("utf-8", "surrogateescape"))
        self.log = RoleLog(Counter(state["role_log"]["ran"]), list(state["role_log"]["fallbacks"]))
        self.reads, self.read_count, self.path = list(state["reads"]), state["read_count"], state["roles"]

    def _inside(self, rel: str) -> Path:
        path = PurePosixPath(rel)
        if path.is_absolute() or not path.parts or ".." in path.parts:
            raise AgoraError(f"memagent: the saved memory names {rel!r}, which is outside its folder; not restored")
        return self.folder.joinpath(*path.parts)


def _advice(result: str) -> str:
    """The advice of the strategy most personas rewarded most, from the reader block's printed tally."""
    try:
        tally = json.loads(result.strip().splitlines()[-1]) if result.strip() else {}
    except json.JSONDecodeError:
        return ""
    known = [s.name for s in strategies()]
    tally = {k: v for k, v in tally.items() if k in known}
    return strategy(max(tally, key=lambda k: (tally[k], -known.index(k)))).advice if tally else ""
