"""The study's source files as users have them — Amazon JSONL, the candidates CSV, CNN/DailyMail Parquet, PRODIGy
JSON — load (every row kept or counted as skipped, and what is kept re-reads as scenario YAML), or fail with one
line naming the file."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from agora.loaders.study import (
    dump_anchors,
    dump_personas,
    load_amazon_products,
    load_candidates_csv,
    load_cnn_dailymail,
    load_prodigy_personas,
)
from agora.sim.scenario import Scenarios, read_yaml, validate
from agora.sim.schema import AnchorFile
from tests.fuzz.strategies import (
    NUMBERS,
    corrupted,
    fuzz,
    hostile,
    mutated,
    nonblank,
    outcome,
    text,
    to_json,
    words,
    write,
)

FILLER = "She served 2 terms and wrote 14 reports on the city budget."  # long enough for any model's minimum


def prose(min_words: int = 1, max_words: int = 12) -> st.SearchStrategy[str]:
    return words(min_words, max_words).map(lambda w: f"{w} {FILLER}")


def fresh(tmp_path: Path, name: str) -> Path:
    return Path(tempfile.mkdtemp(dir=tmp_path)) / name


def rereads(items, tmp_path: Path) -> None:
    """What a loader keeps is what Agora's scenario loader reads back."""
    if items:
        path = fresh(tmp_path, "anchors.yaml")
        dump_anchors(items, path)
        back = validate(AnchorFile, read_yaml(path), path)
        assert [a for group in (back.products, back.candidates, back.events) if group for a in group] == items


def accounted(loaded, rows: int) -> None:
    assert len(loaded.items) + sum(loaded.skipped.values()) == rows, (len(loaded.items), loaded.skipped, rows)


# --- Amazon-Reviews-2023 item metadata (JSONL) ------------------------------------------------------------------

AMAZON_ROW = st.fixed_dictionaries(
    {"parent_asin": st.from_regex(r"B0[A-Z0-9]{8}", fullmatch=True), "title": nonblank(),
     "description": st.lists(prose(0, 20), min_size=1, max_size=3), "categories": st.lists(text(1), min_size=1, max_size=3)},
    optional={"features": st.lists(text(), max_size=3), "main_category": text() | st.none(),
              "details": st.dictionaries(text(1, 10), text() | st.integers() | st.sampled_from(
                  ["8.8 ounces", "12 W", "1,200 mAh", "9" * 400 + " kg"]), max_size=3),
              "price": st.none() | st.floats(0.01, 1e6) | st.sampled_from(["$1,019.99", "None", "19.99 - 29.99", "nan",
                                                                            "1e999", "-5", *NUMBERS]),
              "average_rating": st.floats(0, 5)})


def amazon(path: Path):
    return outcome("study: amazon products (JSONL)",
                   lambda: load_amazon_products(path, min_chars=40, max_chars=100_000), path)


@fuzz()
@given(rows=st.lists(AMAZON_ROW, max_size=4), data=st.data())
def test_amazon_rows(tmp_path, rows, data):
    docs = [data.draw(mutated(r, yaml_only=False, max_mutations=2)) for r in rows]
    path = write(fresh(tmp_path, "meta.jsonl"), b"\n".join(to_json(d) for d, _ in docs) + b"\n")
    loaded = amazon(path)
    if all(n == 0 for _, n in docs):
        assert loaded is not None
    if loaded is not None:
        accounted(loaded, len(rows))
        rereads(loaded.items, tmp_path)


@fuzz()
@given(rows=st.lists(AMAZON_ROW, min_size=1, max_size=3), data=st.data())
def test_amazon_bytes(tmp_path, rows, data):
    raw = data.draw(corrupted(b"\n".join(to_json(r, ascii_only=False) for r in rows)))
    loaded = amazon(write(fresh(tmp_path, "meta.jsonl"), raw))
    if loaded is not None:
        rereads(loaded.items, tmp_path)


# --- the candidates' biographical narratives (CSV) --------------------------------------------------------------

CANDIDATE_ROW = st.fixed_dictionaries({"candidate_webname": nonblank(), "cand_party": nonblank(),
                                       "biography_text": prose(3, 30)})


def candidates(path: Path):
    return outcome("study: candidates (CSV)", lambda: load_candidates_csv(path, min_words=3, max_words=1000), path)


@fuzz()
@given(rows=st.lists(CANDIDATE_ROW, max_size=4), index=st.booleans(), data=st.data())
def test_candidate_rows(tmp_path, rows, index, data):
    docs = [data.draw(mutated(r, yaml_only=False, max_mutations=2)) for r in rows]
    table = pd.DataFrame([d if isinstance(d, dict) else {"x": d} for d, _ in docs])
    buffer = io.StringIO()
    table.to_csv(buffer, index=index, quoting=csv.QUOTE_ALL)  # unquoted, a "\r" in a value is a row break
    path = write(fresh(tmp_path, "candidates.csv"), buffer.getvalue().encode("utf-8"))
    loaded = candidates(path)
    if rows and all(n == 0 for _, n in docs):
        assert loaded is not None
    if loaded is not None:
        accounted(loaded, len(table))
        rereads(loaded.items, tmp_path)


@fuzz()
@given(rows=st.lists(CANDIDATE_ROW, min_size=1, max_size=3), data=st.data())
def test_candidate_bytes(tmp_path, rows, data):
    raw = data.draw(corrupted(pd.DataFrame(rows).to_csv().encode("utf-8")))
    loaded = candidates(write(fresh(tmp_path, "candidates.csv"), raw))
    if loaded is not None:
        rereads(loaded.items, tmp_path)


# --- CNN/DailyMail 3.0.0 (Parquet) ------------------------------------------------------------------------------

NEWS_ROW = st.fixed_dictionaries({"id": st.from_regex(r"[0-9a-f]{40}", fullmatch=True), "article": prose(5, 40),
                                  "highlights": st.lists(nonblank(), min_size=1, max_size=3).map("\n".join)})
ODD_COLUMNS = [pa.array([1, 2**62]), pa.array([None, None], pa.string()), pa.array([b"\xff\xfe", b""]),
               pa.array([["a"], []]), pa.array([1.5, float("nan")]), pa.array([{"x": 1}, {"x": None}]),
               pa.array([True, False])]


def news(path: Path):
    return outcome("study: CNN/DailyMail (Parquet)", lambda: load_cnn_dailymail(path, min_words=5, max_words=10_000),
                   path)


@fuzz()
@given(rows=st.lists(NEWS_ROW, min_size=1, max_size=3), data=st.data())
def test_news_tables(tmp_path, rows, data):
    docs = [data.draw(mutated(r, yaml_only=False, max_mutations=1)) for r in rows]
    columns = {k: [d.get(k) if isinstance(d, dict) else None for d, _ in docs] for k in ("id", "article", "highlights")}
    columns = {k: [json.dumps(v, default=str) if isinstance(v, dict) else v for v in vs] for k, vs in columns.items()}
    arrays = {}
    for k, values in columns.items():
        try:
            arrays[k] = pa.array(values)
        except (pa.ArrowException, TypeError, OverflowError):  # a column of mixed types: Parquet holds one per column
            arrays[k] = pa.array([None if v is None else json.dumps(v, default=str) for v in values])
    odd = data.draw(st.sampled_from(["none", "drop", "swap", "extra"]))
    if odd == "drop":
        arrays.pop(data.draw(st.sampled_from(sorted(arrays))))
    elif odd in ("swap", "extra"):
        column = data.draw(st.sampled_from(ODD_COLUMNS))
        arrays["id" if odd == "swap" else "extra"] = column.take(pa.array([i % 2 for i in range(len(rows))]))
    path = fresh(tmp_path, "test-00000-of-00001.parquet")
    pq.write_table(pa.table(arrays), path)
    loaded = news(path) if data.draw(st.booleans()) else news(path.parent)
    if odd in ("none", "extra") and all(n == 0 for _, n in docs):
        assert loaded is not None
    if loaded is not None:
        accounted(loaded, len(rows))
        rereads(loaded.items, tmp_path)


@fuzz()
@given(rows=st.lists(NEWS_ROW, min_size=1, max_size=3), data=st.data())
def test_news_bytes(tmp_path, rows, data):
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    raw = data.draw(corrupted(sink.getvalue().to_pybytes()))
    loaded = news(write(fresh(tmp_path, "train-00000-of-00003.parquet"), raw))
    if loaded is not None:
        rereads(loaded.items, tmp_path)


# --- PRODIGy characters (JSON), the study's form of personas -----------------------------------------------------

MBTI = st.sampled_from(["ISFJ", "enfp", "introvert, sensor, feeler, judger", "Extravert intuitive thinker perceiver"])
CHARACTER = st.fixed_dictionaries(
    {"character_name": st.from_regex(r"[A-Z][a-z]{1,8} [A-Z][a-z]{1,8}", fullmatch=True) | nonblank().map(lambda s: "Zoë " + s),
     "biography": st.lists(prose(0, 8), min_size=1, max_size=3)},
    optional={"mbti": MBTI | st.none(), "gender": text() | st.none()})


def personas(path: Path, tmp_path: Path):
    loaded = outcome("study: PRODIGy personas (JSON)", lambda: load_prodigy_personas(path), path)
    if loaded is not None and loaded.items:  # they are what Agora's personas.yaml holds
        root = Path(tempfile.mkdtemp(dir=tmp_path))
        dump_personas(loaded.items, root / "personas.yaml")
        assert Scenarios.load(root).personas == loaded.items
    return loaded


@fuzz()
@given(characters=st.lists(CHARACTER, max_size=4), data=st.data())
def test_prodigy_characters(tmp_path, characters, data):
    doc, n = data.draw(mutated(characters, yaml_only=False, max_mutations=3))
    path = write(fresh(tmp_path, "characters.json"), to_json(doc, ascii_only=data.draw(st.booleans())))
    loaded = personas(path, tmp_path)
    if n == 0:
        assert loaded is not None
        accounted(loaded, len(characters))


@fuzz()
@given(characters=st.lists(CHARACTER, min_size=1, max_size=3), data=st.data())
def test_prodigy_bytes(tmp_path, characters, data):
    raw = data.draw(corrupted(to_json(characters, ascii_only=False)))
    personas(write(fresh(tmp_path, "characters.json"), raw), tmp_path)


@fuzz(0.5)
@given(value=hostile(yaml_only=False))
def test_prodigy_any_json(tmp_path, value):
    personas(write(fresh(tmp_path, "characters.json"), to_json(value)), tmp_path)
