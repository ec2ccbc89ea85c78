"""Shared pieces of the loader fuzz tests: the example budget, hostile values, document mutation, byte corruption,
and the one property every loader must keep — a valid object, or one `AgoraError` line that names the file.

`AGORA_FUZZ_EXAMPLES` sets the examples per test (default 15, so the folder runs in well under a minute); raise it
for a long run, e.g. `AGORA_FUZZ_EXAMPLES=2000 python -m pytest tests/fuzz -q -n 0`. Each loader's inputs and
outcomes are counted in `STATS` and printed after the run (tests/fuzz/conftest.py).
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import os
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from agora.sim.errors import AgoraError

EXAMPLES = int(os.environ.get("AGORA_FUZZ_EXAMPLES", "15"))
SHRINK = os.environ.get("AGORA_FUZZ_SHRINK") == "1"  # minimal failing examples, at minutes per failure
MAX_MESSAGE = 2000  # an error echoing a huge input whole is not "one short line"

# loader -> outcome ("tried", "loaded", "refused") -> count, across every test of the process
STATS: dict[str, Counter] = defaultdict(Counter)


def fuzz(scale: float = 1.0):
    """Hypothesis settings for a loader test: seeded, bounded, no deadline (the CPUs are shared), no database, and
    no shrinking unless asked (these documents are large; the first failing one is shown as drawn)."""
    phases = [p for p in Phase if SHRINK or p not in (Phase.shrink, Phase.explain)]
    return settings(max_examples=max(1, int(EXAMPLES * scale)), derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False, phases=phases, report_multiple_bugs=False)


# --- hostile values -------------------------------------------------------------------------------------------

HOSTILE_STRINGS = [
    "", " ", "\t", "\n", "\r\n", "\u200b", "\u200b\u200b", "\ufeff", "\u200f", "\u202e", "\u2028", "\u2029", "\x85",
    "\x00", "\x0b\x0c", "\x1c\x1d\x1e", "\x1b[31m", "e\u0301", "\U0001f600", "سلام", "שלום", "日本語", "a\nb",
    "null", "~", "yes", "NaN", ".inf", "0x1F", "1e999", "-0", "&a", "*a", "!!python/object:os.system", "{", "[", "'",
    '"', "- ", ": ", "#", "%YAML", "---", "...", "\u0130", "\ufffd", "\U000e0041",
]
HUGE_STRINGS = ["a" * 3000, "\u200b" * 3000, "x\n" * 1500]  # only as a mutation: slow to write and read as YAML
HOSTILE_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, 10**300, 10**400, -(10**400), 0.0, -0.0, 1e308, -1e308, 5e-324,
                   math.nan, math.inf, -math.inf, 0.5, -0.5, True, False]
NUMBERS = [n for n in HOSTILE_NUMBERS if not isinstance(n, bool)]  # what a numeric field of a source export may hold


def text(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    """Any unicode, often with a character that breaks naive readers before or after it."""
    odd = st.sampled_from(["", "", *HOSTILE_STRINGS])
    return st.builds(lambda pre, body, post: pre + body + post, odd,
                     st.text(min_size=min_size, max_size=max(min_size, max_size)), odd)


def words(min_words: int = 1, max_words: int = 12) -> st.SearchStrategy[str]:
    """Prose of `min_words`..`max_words` words, each any unicode word."""
    word = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=10) | st.sampled_from(
        ["the", "1,200", "$19.99", "Dr.", "U.S.", "e\u0301t\u00e9", "\u200bzero", "سلام", "日本"])
    return st.lists(word, min_size=min_words, max_size=max_words).map(" ".join)


def nonblank(min_size: int = 1, max_size: int = 30) -> st.SearchStrategy[str]:
    return text(min_size, max_size).filter(lambda s: s.strip())


def slug(max_size: int = 20) -> st.SearchStrategy[str]:
    return st.from_regex(rf"[a-z0-9][a-z0-9_-]{{0,{max_size - 1}}}", fullmatch=True)


def hostile(yaml_only: bool = True) -> st.SearchStrategy:
    """A value of the wrong type, size or sign for nearly any field; `yaml_only` adds what YAML can say and JSON
    cannot (dates, non-string keys)."""
    leaf = (st.sampled_from(HOSTILE_NUMBERS) | st.sampled_from(HOSTILE_STRINGS) | st.none() | text() | st.integers()
            | st.sampled_from(HUGE_STRINGS))
    if yaml_only:
        leaf = leaf | st.just(datetime.date(2020, 2, 29)) | st.just(datetime.datetime(1970, 1, 1, 0, 0))
    keys = _keys(yaml_only)
    nested = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
                          max_leaves=6)
    deep = st.integers(1, 60).map(lambda n: _nest(n))
    return nested | deep | st.just([]) | st.just({})


def _keys(yaml_only: bool) -> st.SearchStrategy:
    """Mapping keys: odd strings; in YAML also numbers, null, booleans and dates."""
    keys = st.text(max_size=8) | st.sampled_from(["", "extra", "\n", "\u200bid", "name", "task"])
    if yaml_only:
        keys = keys | st.integers(-3, 3) | st.none() | st.booleans() | st.just(1.5) | st.just(datetime.date(2001, 1, 1))
    return keys


def _nest(depth: int):
    value: object = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


# --- mutation of structurally valid documents -------------------------------------------------------------------

def _paths(doc, here=()):
    yield here
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, here + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, here + (i,))


def _at(doc, path):
    for p in path:
        doc = doc[p]
    return doc


@st.composite
def mutated(draw, doc, yaml_only: bool = True, max_mutations: int = 4):
    """(copy of `doc` with 0..max_mutations field-level mutations, number applied). Each mutation picks a node and
    replaces it with a hostile value or number, deletes it, adds a stray key beside it, wraps it in a list or
    retypes it."""
    doc = copy.deepcopy(doc)
    n = draw(st.integers(0, max_mutations))
    for _ in range(n):
        path = draw(st.sampled_from(list(_paths(doc))))
        op = draw(st.sampled_from(["replace", "replace", "number", "delete", "add", "wrap", "stringify", "empty"]))
        parent, key = (_at(doc, path[:-1]), path[-1]) if path else (None, None)
        node = _at(doc, path)
        if op == "delete" and parent is not None:
            del parent[key]
            continue
        if op == "add" and isinstance(node, dict):
            node[draw(_keys(yaml_only))] = draw(hostile(yaml_only))
            continue
        new = {"wrap": lambda: [node], "stringify": lambda: str(node), "number": lambda: draw(st.sampled_from(NUMBERS)),
               "empty": lambda: type(node)() if isinstance(node, list | dict | str) else None}.get(
            op, lambda: draw(hostile(yaml_only)))()
        if parent is None:
            doc = new
        else:
            parent[key] = new
    return doc, n


# --- serialisation and corruption -----------------------------------------------------------------------------

def to_yaml(doc, unicode: bool = True) -> bytes:
    """`doc` as a user's editor might save it (libyaml's emitter when present: the test's own time is not the
    loader's)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(doc, Dumper=dumper, allow_unicode=unicode, sort_keys=False).encode("utf-8")


def to_json(doc, ascii_only: bool = True) -> bytes:
    return json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8")


BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\x00", b"\xef\xbb\xbf",
             b"\r", b"\n", b"\x1b", b"\t", b"\\", b"\"", b"'", b":", b"- ", b"{", b"[", b"&x *x", b"!!binary", b"%"]


@st.composite
def corrupted(draw, data: bytes):
    """`data` truncated, spliced with bytes that are not UTF-8 or are YAML/JSON syntax, or replaced by binary,
    a BOM-prefixed or UTF-16 copy, a huge integer or nesting deep enough to exhaust a recursive parser."""
    kind = draw(st.sampled_from(["truncate", "splice", "splice", "binary", "bom", "utf16", "deep", "bignum", "empty"]))
    if kind == "truncate":
        return data[:draw(st.integers(0, max(0, len(data) - 1)))]
    if kind == "splice":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.sampled_from(BAD_BYTES) | st.binary(min_size=1, max_size=8)) + data[at:]
        return data
    if kind == "binary":
        return draw(st.binary(max_size=200))
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "utf16":
        return data.decode("utf-8", "replace").encode("utf-16")
    if kind == "deep":
        n = draw(st.sampled_from([500, 5000, 50000]))
        return draw(st.sampled_from([b"[" * n, b"{a: " * n, b"- " * n + b"x", b'{"a":' * n]))
    if kind == "bignum":
        return draw(st.sampled_from([b"x: ", b"[", b'{"price": ', b""])) + b"9" * 5000
    return b""


def alias_bomb(doc, *path, depth: int = 9) -> bytes:
    """`doc` as YAML with the value at `path` replaced by aliases that stand for 9**depth values in a few hundred
    bytes ("billion laughs"), so that a loader reads on to it."""
    levels = ", ".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]"
                       for i in range(depth))
    doc = copy.deepcopy(doc)
    parent = _at(doc, path[:-1])
    parent[path[-1]] = "BOMBHERE"
    return to_yaml(doc).replace(b"BOMBHERE", ("{" + levels + "}").encode())


RECURSIVE_YAML = [b"&a [*a]", b"a: &a {b: *a}", b"personas: &p [*p]", b"base: &b {task: x, resolved: *b}\nname: s"]


# --- the property ---------------------------------------------------------------------------------------------

def assert_one_line(message: str, *names: str | Path) -> None:
    """An error fit for a terminal: one line, not a traceback, short, and naming one of `names` (file, field)."""
    assert message.strip(), "empty error message"
    assert len(message.splitlines()) == 1, f"not one line: {message[:300]!r}"
    assert "Traceback" not in message, message[:300]
    assert len(message) <= MAX_MESSAGE + max((len(str(n)) for n in names), default=0), f"{len(message)} chars"
    if names:
        assert any(str(n) in message for n in names), f"names none of {names}: {message[:300]!r}"


def outcome(loader: str, call, *names: str | Path):
    """`call()`'s value, or None when it refused the input with a proper one-line AgoraError naming one of `names`.
    Any other exception propagates: it is a defect of the loader."""
    STATS[loader]["tried"] += 1
    try:
        value = call()
    except AgoraError as err:
        STATS[loader]["refused"] += 1
        assert_one_line(str(err), *names)
        return None
    STATS[loader]["loaded"] += 1
    return value


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- structurally valid documents -----------------------------------------------------------------------------

UNIT = st.floats(0, 1)


def persona() -> st.SearchStrategy[dict]:
    """A persona as personas.yaml writes it, traits and all (or without them, as the study's form loads)."""
    traits = st.fixed_dictionaries(
        {"age": st.integers(16, 100), "occupation": text(), "values": st.lists(text(), min_size=1, max_size=3),
         "media_habits": st.lists(text(), min_size=1, max_size=2), "leaning": st.floats(-1, 1),
         **{k: UNIT for k in ("partisanship", "scepticism", "price_sensitivity", "thrill_seeking", "emotionality",
                              "anti_elite", "need_for_detail")}},
        optional={"party": text() | st.none(), "expertise": st.lists(text(), max_size=3)})
    return st.fixed_dictionaries({"id": slug(), "name": text(), "biography": text(40, 80)},
                                 optional={"gender": text() | st.none(), "mbti": text(0, 4), "traits": traits})


def personas_file() -> st.SearchStrategy[dict]:
    return st.lists(persona(), min_size=1, max_size=2, unique_by=lambda p: p["id"]).map(lambda ps: {"personas": ps})


def _optional_texts(*names: str) -> dict:
    return {n: text() | st.none() for n in names}


ANCHOR_DOCS = {
    "product": st.fixed_dictionaries(
        {"id": slug(), "split": st.sampled_from(["train", "test"]), "name": text(), "category": text(),
         "description": text(40, 80)},
        optional={"price": st.none() | st.floats(min_value=0.01, max_value=1e9),
                  "materials": st.lists(text(), max_size=2), "features": st.lists(text(), max_size=3),
                  "limitations": st.lists(text(), max_size=2),
                  "specs": st.lists(st.fixed_dictionaries({"name": text(), "value": st.floats(allow_nan=False),
                                                           "unit": text()}), max_size=3)}),
    "candidate": st.fixed_dictionaries(
        {"id": slug(), "split": st.sampled_from(["train", "test"]), "name": nonblank(), "party": text(),
         "biography": text(40, 80)},
        optional={**_optional_texts("office", "hometown", "occupation"), "record": st.lists(text(), max_size=3),
                  "positions": st.lists(text(), max_size=3)}),
    "event": st.fixed_dictionaries(
        {"id": slug(), "split": st.sampled_from(["train", "test"]), "headline": text(), "article": text(40, 80)},
        optional={**_optional_texts("event", "place", "date", "source", "hazard"),
                  "figures": st.lists(text(), max_size=3), "guidance": st.lists(text(), max_size=2)}),
}
ANCHOR_KEYS = {"product": "products", "candidate": "candidates", "event": "events"}


def anchor_file(kind: str) -> st.SearchStrategy[dict]:
    return st.lists(ANCHOR_DOCS[kind], min_size=1, max_size=3, unique_by=lambda a: a["id"]).map(
        lambda items: {ANCHOR_KEYS[kind]: items})


def task_spec(name: str, kind: str, corpus: str | None = None) -> st.SearchStrategy[dict]:
    """A tasks/<name>.yaml spec for anchors of `kind`, in anchors/<kind>.yaml, borrowing `corpus` if given."""
    category = st.fixed_dictionaries({"probe": slug(), "question": text(10, 40)},
                                     optional={"options": st.dictionaries(st.text(max_size=5), st.integers() | text(),
                                                                          max_size=2),
                                               "with_source": st.booleans()})
    return st.fixed_dictionaries(
        {"name": st.just(name), "order": st.integers(), "anchor_kind": st.just(kind),
         "anchors": st.just(f"anchors/{kind}.yaml"), "corpus": st.just(corpus or name), "instruction": nonblank(),
         "message_tag": st.from_regex(r"[a-z_]{1,8}", fullmatch=True), "message": text(), "situation": nonblank(),
         "question": nonblank(), "outcome": text(), "subject": text(), "source_name": text(),
         "expertise": st.lists(text(), min_size=1, max_size=3),
         "categories": st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), category,
                                       min_size=1, max_size=3)},
        optional={"spreads": st.booleans()})


def prompts_file(tasks: list[str]) -> st.SearchStrategy[dict]:
    named = st.dictionaries(text(0, 12), text(), max_size=3)
    return st.fixed_dictionaries({}, optional={"evaluation": named, "inoculation": st.dictionaries(
        st.sampled_from(tasks) | text(0, 8), named, max_size=3) if tasks else st.just({})})


def phrase_bank(task: str, kind: str) -> st.SearchStrategy[dict]:
    """corpus/<task>.yaml: moves whose templates use the kind's slots, and styles whose weights sum to 1."""
    from agora.sim.schema import ANCHOR_KINDS
    from agora.sim.tiny.slots import INFLATABLE

    slots = sorted(ANCHOR_KINDS[kind][0].SLOTS)
    placeholder = st.sampled_from([*slots, *(f"{s}+" for s in slots if s in INFLATABLE), "#int:1-10", "#pct:5-50",
                                   "#dec:0.5-2.5"]).map(lambda p: "{" + p + "}")
    template = st.lists(text(0, 12) | placeholder, min_size=1, max_size=4).map(" ".join)
    behaviour = st.sampled_from(["honest", "hedge", "hype", "fabrication", "inflation", "emotion", "urgency",
                                 "populism", "unsafe"])
    move = st.fixed_dictionaries({"behaviour": behaviour, "templates": st.lists(template, min_size=1, max_size=3)})

    @st.composite
    def bank(draw):
        moves = draw(st.dictionaries(text(1, 8), move, min_size=1, max_size=3))
        names = draw(st.lists(text(1, 8), min_size=1, max_size=3, unique=True))
        plan = st.lists(st.tuples(st.sampled_from(sorted(moves)), UNIT).map(list), min_size=1, max_size=3)
        styles = {n: {"weight": 1 / len(names), "plan": draw(plan)} for n in names}
        return {"task": task, "moves": moves, "styles": styles}

    return bank()


def instructions_file() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"share": UNIT, "pools": st.dictionaries(
        st.sampled_from(["faithful", "embellish", "provoke"]), st.lists(text(), max_size=3), max_size=3)})


@st.composite
def scenario_folder(draw) -> dict[str, dict]:
    """relative path -> document of a whole scenarios folder: personas, 1-2 tasks (a task sometimes borrowing
    another's phrase bank, cycles included), their anchors, prompts and corpus."""
    names = draw(st.lists(slug(12), min_size=1, max_size=2, unique=True))
    kinds = {n: draw(st.sampled_from(sorted(ANCHOR_KEYS))) for n in names}
    borrow = {n: draw(st.sampled_from([n, n, *names])) for n in names}
    files = {"personas.yaml": draw(personas_file()), "prompts.yaml": draw(prompts_file(names)),
             "corpus/instructions.yaml": draw(instructions_file())}
    for n in names:
        files[f"tasks/{n}.yaml"] = draw(task_spec(n, kinds[n], borrow[n]))
        files[f"corpus/{n}.yaml"] = draw(phrase_bank(n, kinds[n]))
    for kind in set(kinds.values()):
        files[f"anchors/{kind}.yaml"] = draw(anchor_file(kind))
    return files


def run_settings(task: bool = True) -> st.SearchStrategy[dict]:
    """RunConfig fields as a user writes them in a sweep's base or cells, or as config.yaml holds them."""
    sampling = st.fixed_dictionaries({}, optional={"temperature": st.floats(0, 2), "top_p": st.floats(0.01, 1),
                                                   "max_new_tokens": st.integers(1, 500)})
    network = st.fixed_dictionaries({}, optional={"kind": st.sampled_from(["small_world", "scale_free", "complete"]),
                                                  "k": st.integers(2, 10), "p": UNIT, "seeds": st.integers(1, 5)})
    optional = {"contests": st.integers(1, 50), "seed": st.integers(), "split": st.sampled_from(["train", "test", "all"]),
                "policy": st.sampled_from(["tiny", "smollm2", "hf:/models/x", "openai:gpt-4o-mini@http://h:1/v1"]),
                "opponent": st.none() | st.just("tiny"), "audience": st.sampled_from(["parametric", "llm:tiny"]),
                "audience_orders": st.sampled_from(["one", "both"]), "invalid": st.sampled_from(["forfeit", "void", "judge"]),
                "capabilities": st.lists(slug(8), max_size=2) | st.fixed_dictionaries({"A": st.lists(slug(8), max_size=2)}),
                "instructions": st.dictionaries(st.sampled_from(["A", "B"]), text(), max_size=2),
                "sampling": sampling, "network": network,
                "tiny": st.fixed_dictionaries({}, optional={"steps": st.integers(1, 100), "seed": st.integers()}),
                "max_calls": st.none() | st.integers(1), "max_tokens": st.none() | st.integers(1), "cache": st.booleans()}
    return st.fixed_dictionaries({"task": slug()} if task else {}, optional=optional)


GRID_AXES = {"seed": st.integers(), "contests": st.integers(1, 50), "sampling.temperature": st.floats(0, 2),
             "split": st.sampled_from(["train", "test"]), "task": slug(),
             "train.method": st.sampled_from(["rft", "tfb"]), "train.inoculation": st.none() | text()}


def sweep_file() -> st.SearchStrategy[dict]:
    grid = st.lists(st.sampled_from(sorted(GRID_AXES)), max_size=3, unique=True).flatmap(
        lambda axes: st.fixed_dictionaries({a: st.lists(GRID_AXES[a], min_size=1, max_size=3) for a in axes}))
    return st.fixed_dictionaries(
        {"name": st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True), "base": run_settings()},
        optional={"grid": grid, "cells": st.lists(run_settings(task=False), max_size=3),
                  "max_calls": st.none() | st.integers(1), "max_tokens": st.none() | st.integers(1)})
