"""Turn the reference study's source data, already on the user's disk, into Agora anchors and personas.

The study drew its products from Amazon-Reviews-2023 item metadata, its candidates from a CSV of
biographical narratives, its news events from CNN/DailyMail 3.0.0 and its voters from PRODIGy
characters. These loaders read those files as users have them (nothing is ever downloaded), apply
the study's filters, give each anchor a train/test split by hashing its id, and build the
`agora.sim.schema` models; `dump_anchors` and `dump_personas` write them as scenario YAML.

Rows that fail a filter are skipped and counted in `Loaded.skipped`. A malformed file raises one
`SourceError` naming the file, the place (JSONL `line` from 1; CSV `row` by its pandas index;
Parquet `row` and JSON `item` from 0) and the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel, ValidationError

from agora.sim.errors import AgoraError
from agora.sim.scenario import one_line, quoted
from agora.sim.schema import AnchorFile, Candidate, NewsEvent, Persona, Product, Spec, Split
from agora.sim.storable import storable_value

T = TypeVar("T", bound=BaseModel)


class SourceError(AgoraError, ValueError):
    """A source file that does not read as its format; the message names file, line or row, and field."""


@dataclass
class Loaded(Generic[T]):
    """What a loader kept, what it skipped (reason -> count), and the file or folder it read."""

    items: list[T]
    skipped: dict[str, int]
    source: Path


def split_for(anchor_id: str, test_fraction: float) -> Split:
    """"test" for about `test_fraction` of ids, and the same answer for an id on every machine and run."""
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must lie in [0, 1], got {test_fraction}")
    u = int.from_bytes(hashlib.sha256(anchor_id.encode()).digest()[:8], "big") / 2**64
    return "test" if u < test_fraction else "train"


# --- loaders --------------------------------------------------------------------------------


def load_amazon_products(
    path: str | Path,
    *,
    min_chars: int = 500,
    max_chars: int = 750,
    test_fraction: float = 0.5,
    limit: int | None = None,
) -> Loaded[Product]:
    """Products from Amazon-Reviews-2023 item metadata (JSONL).

    Keeps rows with a title, a description and categories, and min_chars <= len(description) <= max_chars,
    the description being the study's "\\n-" join of its paragraphs.
    """
    source = _existing(path)

    def rows() -> Iterator[Product | str]:
        for where, row in _jsonl(source):
            title = _get(row, "title", str, where)
            paragraphs = _get(row, "description", list, where)
            categories = _get(row, "categories", list, where)
            features = _get(row, "features", list, where) or []
            details = _get(row, "details", dict, where) or {}
            asin = _get(row, "parent_asin", str, where, required=True)
            price = _price(row.get("price"), where)
            description = "\n-".join(paragraphs or [])
            if not (title and title.strip()):
                yield "no title"
            elif not paragraphs:
                yield "no description"
            elif not categories:
                yield "no categories"
            elif not min_chars <= len(description) <= max_chars:
                yield "description length"
            else:
                pid = _id(asin, where, "parent_asin")
                yield _build(
                    Product, where,
                    id=pid, split=split_for(pid, test_fraction), name=title.strip(), category=categories[-1],
                    price=price, materials=_materials(details), features=features, specs=_specs(details),
                    description=description,
                )

    return _gather(source, rows(), limit)


_CANDIDATE_COLUMNS = ("candidate_webname", "cand_party", "biography_text")


def load_candidates_csv(
    path: str | Path,
    *,
    min_words: int = 85,
    max_words: int = 350,
    test_fraction: float = 0.5,
    limit: int | None = None,
) -> Loaded[Candidate]:
    """Candidates from the study's biographical-narratives CSV, kept when min_words <= words < max_words.

    Rows are named by the pandas index column ("Unnamed: 0") when the file has one, else by position;
    the id is the name's slug and that index. `record` holds the biography's sentences with a digit.
    """
    source = _existing(path)
    try:
        table = pd.read_csv(source, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise SourceError(f"{source}: not a readable CSV ({one_line(str(err))})") from None
    _require_columns(source, list(table.columns), _CANDIDATE_COLUMNS)
    index = table["Unnamed: 0"] if "Unnamed: 0" in table.columns else table.index.astype(str)

    def rows() -> Iterator[Candidate | str]:
        for i, name, party, bio in zip(index, *(table[c] for c in _CANDIDATE_COLUMNS)):
            name, party, bio = name.strip(), party.strip(), bio.strip()
            if not name:
                yield "no name"
            elif not party:
                yield "no party"
            elif not min_words <= len(bio.split()) < max_words:
                yield "biography length"
            else:
                suffix = _slug(i)
                cid = "-".join(p for p in (_slug(name, 63 - len(suffix)), suffix) if p)
                yield _build(
                    Candidate, f"{source} row {i}",
                    id=cid, split=split_for(cid, test_fraction), name=name, party=party,
                    record=[s for s in _sentences(bio) if _DIGIT.search(s)], biography=bio,
                )

    return _gather(source, rows(), limit)


_CNN_SHARDS = ("train-*.parquet", "validation-*.parquet", "test-*.parquet")
_CNN_COLUMNS = ("id", "article", "highlights")


def load_cnn_dailymail(
    path: str | Path,
    *,
    min_words: int = 100,
    max_words: int = 200,
    test_fraction: float = 0.5,
    limit: int | None = None,
) -> Loaded[NewsEvent]:
    """News events from CNN/DailyMail 3.0.0: one Parquet file, or a folder of its train/validation/test shards.

    Keeps min_words <= words(article) < max_words. The headline is the first highlight line and
    `figures` the highlight lines with a digit. The split comes from the id, not from the shard.
    """
    source = _existing(path, folder_ok=True)
    files = [f for shard in _CNN_SHARDS for f in sorted(source.glob(shard))] if source.is_dir() else [source]
    if not files:
        raise SourceError(f"{source}: no {', '.join(_CNN_SHARDS)} files in this folder")

    def rows() -> Iterator[NewsEvent | str]:
        for where, row in chain.from_iterable(_parquet(f, _CNN_COLUMNS) for f in files):
            nid = _id(_get(row, "id", str, where, required=True), where, "id")
            article = _get(row, "article", str, where, required=True).strip()
            lines = [s.strip() for s in (_get(row, "highlights", str, where) or "").splitlines() if s.strip()]
            if not lines:
                yield "no highlights"
            elif not min_words <= len(article.split()) < max_words:
                yield "article length"
            else:
                yield _build(
                    NewsEvent, where,
                    id=nid, split=split_for(nid, test_fraction), headline=lines[0],
                    figures=[s for s in lines if _DIGIT.search(s)], article=article,
                )

    return _gather(source, rows(), limit)


def load_prodigy_personas(path: str | Path) -> Loaded[Persona]:
    """Personas in the study's form: a JSON list of PRODIGy characters. Their `traits` stay unset."""
    source = _existing(path)
    try:
        data = storable_value(json.loads(source.read_bytes().decode("utf-8-sig")))
    except UnicodeDecodeError:
        raise SourceError(f"{source}: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise SourceError(f"{source}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    except (ValueError, RecursionError) as err:  # an integer of more than 4300 digits; nesting deeper than Python's stack
        raise SourceError(f"{source}: not valid JSON ({_unreadable(err)})") from None
    if not isinstance(data, list):
        raise SourceError(f"{source}: expected a JSON list of characters, got {type(data).__name__}")

    def rows() -> Iterator[Persona]:
        for i, row in enumerate(data):
            where = f"{source} item {i}"
            row = _object(row, where)
            name = _get(row, "character_name", str, where, required=True).strip()
            mbti = _get(row, "mbti", str, where)
            sentences = _get(row, "biography", list, where, required=True)
            pid = _id(name, where, "character_name")
            yield _build(
                Persona, where,
                id=pid, name=name, gender=_get(row, "gender", str, where), mbti=_mbti(mbti, where) if mbti else None,
                biography=" ".join(s.strip() for s in sentences if s.strip()),
            )

    return _gather(source, rows(), None)


# --- writers --------------------------------------------------------------------------------

_ANCHOR_KEYS = {Product: "products", Candidate: "candidates", NewsEvent: "events"}


def dump_anchors(items: Iterable[Product | Candidate | NewsEvent], path: str | Path) -> None:
    """Write anchors as a scenario anchor file (`AnchorFile`), grouped by kind, defaults left out."""
    groups: dict[str, list] = {}
    for item in items:
        if type(item) not in _ANCHOR_KEYS:
            raise TypeError(f"not an anchor: {type(item).__name__}")
        groups.setdefault(_ANCHOR_KEYS[type(item)], []).append(item)
    _write_yaml(AnchorFile(**groups).model_dump(mode="json", exclude_defaults=True), Path(path))


def dump_personas(personas: Iterable[Persona], path: str | Path) -> None:
    """Write personas as a scenario personas file (`personas: [...]`), defaults left out."""
    _write_yaml({"personas": [p.model_dump(mode="json", exclude_defaults=True) for p in personas]}, Path(path))


class _Dumper(yaml.SafeDumper):
    """Safe YAML that writes multi-line strings as literal blocks, so descriptions stay readable."""


def _style(text: str) -> str | None:
    """Literal blocks for multi-line text; double quotes (which escape them) for text holding the line breaks YAML
    has besides "\n" (NEL, U+2028, U+2029), which PyYAML's other styles fold into spaces when read back."""
    if any(c in text for c in "\x85\u2028\u2029"):
        return '"'
    return "|" if "\n" in text else None


_Dumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style=_style(s)))


def _write_yaml(data: dict, path: Path) -> None:
    path.write_text(yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True), encoding="utf-8")


# --- reading --------------------------------------------------------------------------------


def _existing(path: str | Path, *, folder_ok: bool = False) -> Path:
    source = Path(path)
    if not source.exists():
        raise SourceError(f"{source}: no such file")
    if not folder_ok and not source.is_file():
        raise SourceError(f"{source}: not a file")
    return source


def _jsonl(path: Path) -> Iterator[tuple[str, dict]]:
    """(where, object) for each non-blank line; lines are read as bytes so a bad one is named."""
    with path.open("rb") as lines:
        for n, raw in enumerate(lines, 1):
            where = f"{path} line {n}"
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")  # a BOM, as some editors write, opens line 1
            except UnicodeDecodeError:
                raise SourceError(f"{where}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                row = storable_value(json.loads(line))
            except json.JSONDecodeError as err:
                raise SourceError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
            except (ValueError, RecursionError) as err:
                raise SourceError(f"{where}: not valid JSON ({_unreadable(err)})") from None
            yield where, _object(row, where)


def _unreadable(err: Exception) -> str:
    """Why `json.loads` gave up, other than a syntax error."""
    return "nested too deeply" if isinstance(err, RecursionError) else one_line(str(err), 120)


def _parquet(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[str, dict]]:
    """(where, row) for each row, read in batches so a large shard never sits whole in memory."""
    try:
        reader = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise SourceError(f"{path}: not a readable Parquet file ({one_line(str(err), 120)})") from None
    with reader:
        _require_columns(path, reader.schema_arrow.names, columns)
        batches, i = reader.iter_batches(columns=list(columns)), 0
        while True:
            try:  # a damaged page shows only when its batch is read
                rows = next(batches).to_pylist()
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as err:
                raise SourceError(f"{path} row {i}: not a readable Parquet file ({one_line(str(err), 120)})") from None
            for row in rows:
                yield f"{path} row {i}", row
                i += 1


def _require_columns(path: Path, found: list[str], required: tuple[str, ...]) -> None:
    if missing := [c for c in required if c not in found]:
        shown = ", ".join(quoted(c, 40) for c in found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
        raise SourceError(f"{path}: missing column {', '.join(map(repr, missing))} (found: {shown or 'none'})")


def _gather(source: Path, rows: Iterator[T | str], limit: int | None) -> Loaded[T]:
    """Collect models until `limit`; a str row is a skip reason. Later rows repeating an id are skipped."""
    items: list[T] = []
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    while limit is None or len(items) < limit:
        row = next(rows, None)
        if row is None:
            break
        if isinstance(row, str):
            skipped[row] += 1
        elif row.id in seen:
            skipped["duplicate id"] += 1
        else:
            seen.add(row.id)
            items.append(row)
    return Loaded(items, dict(skipped), source)


_EXPECTED = {str: "a string", list: "a list of strings", dict: "an object"}


def _object(row: Any, where: str) -> dict:
    if not isinstance(row, dict):
        raise SourceError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return row


def _get(row: dict, field: str, kind: type, where: str, *, required: bool = False) -> Any:
    """row[field] checked to be of `kind` (a list must hold strings); None when absent unless required."""
    value = row.get(field)
    if value is None:
        if required:
            raise SourceError(f"{where}: field '{field}': missing")
        return None
    if not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)):
        raise SourceError(f"{where}: field '{field}': expected {_EXPECTED[kind]}, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _build(model: type[T], where: str, **fields: Any) -> T:
    try:
        return model(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(map(str, first["loc"]))
        raise SourceError(f"{where}: {model.__name__} field '{field}': {one_line(first['msg'])}") from None


def _slug(text: str, max_len: int = 64) -> str:
    """'Renée O'Neil' -> 'renee-o-neil': lower-case ASCII letters and digits joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_len].rstrip("-")


def _id(text: str, where: str, field: str) -> str:
    if not (anchor_id := _slug(text)):
        raise SourceError(f"{where}: field '{field}': no letters or digits to make an id from {_show(text)}")
    return anchor_id


# --- fields ---------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")
_SPEC = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s+([A-Za-z%][A-Za-z.%]*(?: [A-Za-z][A-Za-z.]*)?)")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"“'(]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"\b(?:[A-Z]|Mr|Mrs|Ms|Dr|Jr|Sr|St|Gov|Sen|Rep|Gen|Col|Lt|Sgt|Prof|Rev|Inc|Corp|Co|No)\.$")


def _price(value: Any, where: str) -> float | None:
    """USD from 19.99 or "$1,019.99"; None when absent, unparseable ("None", a range) or not positive."""
    if isinstance(value, str):
        try:
            value = float(value.strip().lstrip("$").replace(",", ""))
        except ValueError:
            return None
    elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise SourceError(f"{where}: field 'price': expected a number or a string, got {_show(value)}")
    try:
        value = None if value is None else float(value)
    except OverflowError:  # an integer past any float: no price
        return None
    return value if value is not None and math.isfinite(value) and value > 0 else None


def _materials(details: dict) -> list[str]:
    material = details.get("Material")
    return [m.strip() for m in material.split(",") if m.strip()] if isinstance(material, str) else []


def _specs(details: dict) -> list[Spec]:
    """Details whose value is '<number> <unit>' ("Item Weight": "8.8 ounces"); others are not specs."""
    specs = []
    for key, value in details.items():
        if isinstance(value, str) and (m := _SPEC.fullmatch(value.strip())):
            specs.append(Spec(name=key.strip().lower(), value=float(m[1].replace(",", "")), unit=m[2]))
    return specs


def _sentences(text: str) -> list[str]:
    """Split prose into sentences, not breaking after initials and titles ("U.S. Army", "Dr. Cho")."""
    sentences: list[str] = []
    for piece in _SENTENCE_BREAK.split(text):
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


_MBTI_CODE = re.compile(r"[EI][SN][TF][JP]")
_MBTI_LETTER = {
    "introvert": "I", "extravert": "E", "extrovert": "E", "sensor": "S", "sensing": "S",
    "intuitive": "N", "intuitor": "N", "thinker": "T", "thinking": "T", "feeler": "F", "feeling": "F",
    "judger": "J", "judging": "J", "perceiver": "P", "perceiving": "P",
}


def _mbti(text: str, where: str) -> str:
    """"introvert, sensor, feeler, judger" (any order) or "ISFJ" -> "ISFJ"."""
    code = text.strip().upper()
    if not _MBTI_CODE.fullmatch(code):
        letters = [_MBTI_LETTER.get(w) for w in re.split(r"[\s,]+", text.strip().lower())]
        code = "".join(x for axis in ("EI", "SN", "TF", "JP") for x in letters if x and x in axis)
        if None in letters or not _MBTI_CODE.fullmatch(code):
            raise SourceError(
                f"{where}: field 'mbti': expected four preferences like 'introvert, sensor, feeler, judger', "
                f"got {_show(text)}"
            )
    return code
