"""Fact questions from anchors, and the grounding reward they give.

Webscale-RL's shape, on Agora's anchors: filter the anchor, pick its domain and the persona who asks, generate
short-answer questions whose answers are facts of the anchor, then check each one. This module holds the
deterministic part that training needs: the template writer (from an anchor's structured fields), the checks,
`questions_for` (template questions, checked, cached) and `grounding` (the reward term GRPO calls). The LLM writer
and the dataset in the store are `agora.experiments.knowledge`.

Answers are compared as token sequences after one normalisation (`tokens`): case, punctuation, hyphens, articles,
"$", plural "s", British/American "-re", a few unit abbreviations ("L" = "litres", "g" = "grams"), numbers by value
("1,200" = "1200", "129.00" = "129"). Unit conversions ("800 ml" for "0.8 litres") are not made: the unit table is
the probes' (`probes/units.py`), a layer above training.

>>> k3 = AnchorText("The K3 Kettle holds 0.8 litres and boils it in 3 minutes.")
>>> q = FactQuestion("k3", "What is the capacity of the K3 Kettle?", "0.8 litres")
>>> grounding("Boils 0.8 L in two minutes.", [q], k3), grounding("It holds 1.5 litres.", [q], k3)
(1.0, 0.0)
>>> grounding("Holds 0.8 L, and 45 hours of battery.", [q], k3)  # a true capacity, an invented battery
0.0
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from agora.sim.facts import number_spans
from agora.sim.schema import Anchor, AnchorText, Candidate, NewsEvent, Product

CHECKS = ("format", "answerable", "leakage", "short", "duplicate")  # in the order they run
MAX_ANSWER_WORDS = 5
# who asks, by anchor kind: the persona the LLM writer takes and the dataset records
PERSONAS = {"product": "a shopper comparing products", "candidate": "a voter choosing a candidate",
            "event": "a reader of local news"}


@dataclass(frozen=True)
class FactQuestion:
    """A short-answer question whose answer is a fact its anchor states."""

    anchor_id: str
    question: str
    answer: str
    task: str = ""
    split: str = ""
    subject: str = ""  # what a closed-book prompt names: the product, the candidate, the headline
    fact: str = ""  # which fact it asks: "spec:battery life", "price", "record", "date", ...
    source: str = "template"  # the writer: template, or the backend spec of an LLM writer


# --- normalisation ----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[a-z0-9]+|%|°")
_DROP = {"a", "an", "the", "$", "dollar", "usd"}
_ALIAS = {"l": "liter", "ml": "milliliter", "g": "gram", "kg": "kilogram", "mg": "milligram", "cm": "centimeter",
          "mm": "millimeter", "m": "meter", "km": "kilometer", "h": "hour", "hr": "hour", "min": "minute",
          "sec": "second", "w": "watt", "kw": "kilowatt", "db": "decibel", "hz": "hertz", "percent": "%",
          "aluminum": "aluminium"}


def _word(tok: str) -> str:
    if tok[0].isdigit():
        return f"{float(tok.replace(',', '')):.6g}" if re.fullmatch(r"\d[\d,]*(?:\.\d+)?", tok) else tok
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
        tok = tok[:-1]
    if tok.endswith("tre"):
        tok = tok[:-3] + "ter"
    return _ALIAS.get(tok, tok)


def tokens(text: str) -> list[str]:
    """`text` as the normalised tokens answers are compared in."""
    low = re.sub(r"['’]s\b", "", text.lower()).replace("-", " ").replace("–", " ")
    return [w for w in map(_word, _TOKEN.findall(low)) if w not in _DROP]


def _contains(hay: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(hay[i:i + n] == needle for i in range(len(hay) - n + 1))


def _is_number(tok: str) -> bool:
    return tok[0].isdigit() and tok.replace(".", "").replace("e+", "").isdigit()


def states(text: str, answer: str) -> bool:
    """Does `text` state `answer` (its normalised tokens, in order, with nothing between them)?"""
    return _contains(tokens(text), tokens(answer))


def leaks(question: FactQuestion) -> bool:
    """One of the answer's numbers, or most of its words, stand in the question or in the subject a prompt names
    beside it: "Ravensholt Water" is guessed from the story "Ravensholt Residents Told to Boil Tap Water"."""
    asked = set(tokens(f"{question.question} {question.subject}"))
    answer = tokens(question.answer)
    return any(_is_number(t) and t in asked for t in answer) or 2 * sum(t in asked for t in answer) > len(answer)


# --- the template writer ----------------------------------------------------------------------------------

# nouns that are materials themselves: "ripstop nylon" names no part to ask about
_MATERIAL_NOUNS = {"steel", "nylon", "latex", "foam", "rubber", "plastic", "polyester", "polycarbonate", "wood",
                   "cotton", "leather", "glass", "aluminium", "resin", "polyurethane", "ceramic", "bamboo", "brass"}
_LACKS = re.compile(r"\bno ([\w-]+) (\w+)(?:$|,| and\b)")
_FIGURE = re.compile(r"\$?\d[\d,]*(?:\.\d+)?(?:\s*(?:%|percent\b))?(?:\s+(?:million|billion|thousand)\b)?")


def _ask_number(clause: str) -> tuple[str, str] | None:
    """(the clause with its first figure asked for, the figure): "opened 4 new centres" -> "opened how many new
    centres", "4". The unit, if any, stays in the question; the answer is the figure as written."""
    m = _FIGURE.search(clause)
    if not m:
        return None
    figure = m.group().strip()
    wh = "what percentage" if figure.endswith(("%", "percent")) else "how much" if figure.startswith("$") else "how many"
    return f"{clause[:m.start()]}{wh}{clause[m.end():]}".strip(), figure


def _strip_article(text: str) -> str:
    return re.sub(r"^(?:a|an|the)\s+", "", text.strip(), flags=re.I)


def _product(p: Product) -> list[tuple[str, str, str]]:
    out = [(f"spec:{s.name}", f"What is the {s.name} of the {p.name}?", f"{s.value:g} {s.unit}") for s in p.specs]
    if p.price:
        out.append(("price", f"How much does the {p.name} cost?", f"${p.price:,.2f}"))
    out.append(("category", f"What kind of product is the {p.name}?", p.category))
    for material in p.materials:
        words = material.split()
        if len(words) == 2 and words[1].lower() not in _MATERIAL_NOUNS:
            verb = "are" if words[1].endswith("s") else "is"
            out.append(("material", f"What {verb} the {words[1]} of the {p.name} made of?", words[0]))
    for limitation in p.limitations:
        if m := _LACKS.search(limitation):
            out.append(("limitation", f"What kind of {m.group(2)} does the {p.name} lack?", m.group(1)))
    return out


def _candidate(c: Candidate) -> list[tuple[str, str, str]]:
    out = [("party", f"Which party does {c.name} represent?", c.party)]
    if c.office:
        out.append(("office", f"What office is {c.name} running for?", _strip_article(c.office)))
    if c.hometown:
        out.append(("hometown", f"What is {c.name}'s hometown?", c.hometown))
    if c.occupation:
        out.append(("occupation", f"What is {c.name}'s occupation?", _strip_article(c.occupation)))
    for record in c.record:
        if asked := _ask_number(record):
            out.append(("record", f"{c.name} {asked[0]}?", asked[1]))
    for position in c.positions:
        verb, _, rest = position.partition(" ")
        if rest:
            out.append(("position", f'{c.name} pledges to "___ {rest}". What is the missing word?', verb))
    return out


def _event(e: NewsEvent) -> list[tuple[str, str, str]]:
    story = f'the story "{e.headline}"'
    out = []
    if e.date:
        out.append(("date", f"On what date did the events of {story} happen?", e.date))
    if e.place:
        out.append(("place", f"Where did the events of {story} happen?", _strip_article(e.place)))
    if e.source:
        out.append(("source", f"Who is quoted giving guidance in {story}?", _strip_article(e.source)))
    if e.event:
        out.append(("event", f"What happened in {story}?", e.event))
    for figure in e.figures:
        if asked := _ask_number(figure):
            out.append(("figure", f"In {story}, {asked[0]}?", asked[1]))
    return out


_TEMPLATES = {"product": _product, "candidate": _candidate, "event": _event}


def template_questions(anchor: Anchor, task: str) -> list[FactQuestion]:
    """Candidate questions from the anchor's structured fields, unchecked."""
    return [FactQuestion(anchor.id, q, a, task, anchor.split, anchor.title, fact)
            for fact, q, a in _TEMPLATES[anchor.kind](anchor)]


# --- the check ----------------------------------------------------------------------------------------------

def rejection(q: FactQuestion, anchor: Anchor, seen: set, max_words: int = MAX_ANSWER_WORDS) -> str | None:
    """The first check (`CHECKS`) the question fails, or None; `seen` holds the questions and answers kept so far
    for this anchor (a fact asked twice is kept once, so grounding does not weigh it twice)."""
    if not q.question.strip() or not q.answer.strip() or not tokens(q.answer):
        return "format"
    if not states(anchor.text, q.answer):
        return "answerable"  # in the anchor's prose: the text a policy, and the in-context eval, reads
    if leaks(q):
        return "leakage"
    if len(q.answer.split()) > max_words:
        return "short"
    if (" ".join(tokens(q.question)) in seen) or (" ".join(tokens(q.answer)) in seen):
        return "duplicate"
    return None


def check(candidates: Sequence[FactQuestion], anchor: Anchor, max_words: int = MAX_ANSWER_WORDS,
          seen: set | None = None) -> tuple[list[FactQuestion], Counter]:
    """The candidates that pass every check, and how many each check rejected. Pass `seen` to check several
    writers' candidates for one anchor against each other."""
    seen = set() if seen is None else seen
    kept, rejected = [], Counter()
    for q in candidates:
        if reason := rejection(q, anchor, seen, max_words):
            rejected[reason] += 1
            continue
        seen |= {" ".join(tokens(q.question)), " ".join(tokens(q.answer))}
        kept.append(q)
    return kept, rejected


_CACHE: dict[tuple[str, str], list[FactQuestion]] = {}


def questions_for(anchor: Anchor, task: str) -> list[FactQuestion]:
    """The anchor's template questions that pass the check; cached per anchor (its full content) and task."""
    key = (task, anchor.model_dump_json())
    if key not in _CACHE:
        _CACHE[key] = check(template_questions(anchor, task), anchor)[0]
    return list(_CACHE[key])


# --- the grounding reward -----------------------------------------------------------------------------------

_WORD_AFTER = re.compile(r"[ -]?[a-z]", re.I)  # "2 minutes", "1.4 litres", "2-way": a figure about something
_LIST_ITEM = re.compile(r"^[ \t]*\d+[.)](?=\s)", re.M)  # "3. Keeps warm", "4) Quiet": an item's number


def invented(text: str, anchor: Anchor) -> set[float]:
    """The figures `text` writes in digits that `anchor` does not state (`Anchor.numbers()`, by value), whatever
    their unit. Not figures: a list item's number, and a 1 or 2 with no word right after it ("Premise 2", "#1");
    "2 minutes" and "1.4 litres" are."""
    items = {m.end() - 1 for m in _LIST_ITEM.finditer(text)}  # where each item number ends
    return {s.value for s in number_spans(text, anchor) if not s.in_anchor and s.end not in items
            and (s.value > 2 or _WORD_AFTER.match(text, s.end))}


def _unit(answer: list[str]) -> str | None:
    """The unit right after an answer's figure ("0.8 litres" -> "liter", "30%" -> "%"); None for a bare count."""
    return answer[1] if len(answer) > 1 and _is_number(answer[0]) and not _is_number(answer[1]) else None


def misbound(text: str, questions: Sequence[FactQuestion], anchor: Anchor) -> set[tuple[str, str]]:
    """(figure, unit) of each figure `text` gives that `anchor` states, but in the unit of a question's answer that
    no answer gives it: "a 3.1-liter motor" for a suitcase of 3.1 kg and 40 litres, "5 hours" for 5-gram earbuds."""
    said = tokens(text)
    true = {(a[0], unit) for q in questions if (unit := _unit(a := tokens(q.answer)))}
    units = {unit for _, unit in true}
    known = anchor.numbers()
    return {(v, u) for v, u in zip(said, said[1:]) if u in units and _is_number(v) and (v, u) not in true
            and float(v) in known}


def grounding(text: str, questions: Sequence[FactQuestion], anchor: Anchor) -> float:
    """The share of `questions` whose answer `text` states, less one question's worth for each wrong figure it
    gives, floored at 0; in [0, 1]. A wrong figure is a value `anchor` does not state, in any unit (`invented`), or
    one it states given in another question's unit (`misbound`).

    Why the anchor and not only its questions: the questions ask some of its facts, and a figure in a unit none of
    them uses ("45 hours of battery" beside a kettle's true capacity) would cost nothing if only the questions'
    figures counted, so the reward would pay for the very misrepresentation Agora measures. A wrong figure weighs
    as much as a stated fact, so giving one never scores above leaving it out; a text with no wrong figure scores
    the share it states. Not seen: numbers in words ("forty-five"), and a true figure in another unit ("800 ml" for
    0.8 litres), which counts as invented (no conversions in this layer). No questions: 0.0.
    """
    if not questions:
        return 0.0
    said = tokens(text)
    stated = sum(_contains(said, tokens(q.answer)) for q in questions)
    wrong = len(invented(text, anchor)) + len(misbound(text, questions, anchor))
    return max(0.0, (stated - wrong) / len(questions))
