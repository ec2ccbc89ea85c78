"""The learned classifier probe: a scikit-learn text pipeline per category, cheap enough for sweeps.

Trained on labelled messages (the gold train split, or judge labels at scale), saved with joblib
and versioned by a hash of its training data. Text alone cannot know whether a number is in the
anchor, so for the fact categories it learns the *style* of fabrication; the fact probe checks facts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import joblib
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from agora.probes.base import Item, Span, Verdict
from agora.sim.errors import AgoraError
from agora.sim.paths import agora_home
from agora.sim.records import ProbeSpec
from agora.sim.registry import probes

VERSION = 1
MIN_PER_CLASS = 3  # fewer training examples of either class than this, and a category is left untrained


def pipeline(seed: int = 0) -> Pipeline:
    features = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
    ])
    return Pipeline([("features", features), ("model", LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=seed))])


@dataclass
class TrainedClassifier:
    models: dict[str, Pipeline]  # category -> pipeline
    data_hash: str
    skipped: dict[str, str] = field(default_factory=dict)  # category -> why it was not trained

    def save(self, path: Path) -> None:
        """Written whole or not at all: another process (a parallel test worker, a second `agora` command) that
        finds the cache file loads a finished classifier, never a half-written pickle."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            joblib.dump({"version": VERSION, "data_hash": self.data_hash, "models": self.models, "skipped": self.skipped}, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)


def data_hash(texts_by_category: dict[str, tuple[list[str], list[int]]]) -> str:
    """The classifier's version: a hash of what it is trained on."""
    return hashlib.sha256(json.dumps(texts_by_category, sort_keys=True).encode()).hexdigest()[:12]


def train(texts_by_category: dict[str, tuple[list[str], list[int]]], seed: int = 0) -> TrainedClassifier:
    """One pipeline per category that has at least MIN_PER_CLASS examples of each class; the others are skipped, with
    the reason kept (a new category, such as audience manipulation on real output, may have no positives yet)."""
    digest = data_hash(texts_by_category)
    models, skipped = {}, {}
    for category, (texts, labels) in texts_by_category.items():
        positives = sum(1 for y in labels if y)
        if min(positives, len(labels) - positives) < MIN_PER_CLASS:
            skipped[category] = (f"{positives} positive and {len(labels) - positives} negative training examples "
                                 f"(needs {MIN_PER_CLASS} of each)")
            continue
        models[category] = pipeline(seed).fit(texts, labels)
    if not models:
        raise AgoraError("classifier: no category has enough positive and negative examples to train on: "
                         + "; ".join(f"{c}: {why}" for c, why in skipped.items()))
    return TrainedClassifier(models, digest, skipped)


def default_path(data_hash: str) -> Path:
    return agora_home() / "probes" / f"classifier-v{VERSION}-{data_hash}.joblib"


@probes.register("classifier")
class ClassifierProbe:
    name = "classifier"

    def __init__(self, trained: TrainedClassifier):
        self.trained = trained
        self.categories = set(trained.models)

    @classmethod
    def load(cls, path: Path) -> ClassifierProbe:
        blob = joblib.load(path)
        if blob.get("version") != VERSION:
            raise AgoraError(f"{path}: classifier version {blob.get('version')} is not {VERSION}; retrain it")
        return cls(TrainedClassifier(blob["models"], blob["data_hash"], blob.get("skipped", {})))

    def spec(self) -> ProbeSpec:
        """Trained, not configured: it is named by the hash of its training data (`build_probe` finds it by that)."""
        return ProbeSpec(name=self.name, settings={"data_hash": self.trained.data_hash})

    def score(self, items: list[Item], category: str) -> list[Verdict]:
        model = self.trained.models.get(category)
        if model is None:
            why = self.trained.skipped.get(category)
            raise ValueError(f"the classifier was not trained for {category!r}" + (f": {why}" if why else ""))
        probs = model.predict_proba([i.message for i in items])[:, 1]
        return [Verdict(False, 0.0, status="empty") if not re.search(r"[A-Za-z]{2}", i.message)  # nothing to judge
                else Verdict(bool(p >= 0.5), round(float(p), 4), _top_terms(model, i.message) if p >= 0.5 else [])
                for p, i in zip(probs, items)]


def _top_terms(model: Pipeline, text: str, k: int = 3) -> list[Span]:
    """The message's words that push the score up most: the classifier's evidence."""
    words_vec = model.named_steps["features"].transformer_list[0][1]
    coef = model.named_steps["model"].coef_[0][: len(words_vec.vocabulary_)]
    first: dict[str, re.Match] = {}
    for m in re.finditer(r"\b\w[\w']*\b", text):  # whole words only, and no function words: they explain nothing
        term = m.group().lower()
        if term in words_vec.vocabulary_ and term not in ENGLISH_STOP_WORDS:
            first.setdefault(term, m)
    weights = {term: coef[words_vec.vocabulary_[term]] for term in first}
    spans = []
    for term, w in sorted(weights.items(), key=lambda kv: -kv[1])[:k]:
        if w <= 0:
            break
        m = first[term]
        spans.append(Span(m.start(), m.end(), f"'{term}' weighs toward this category ({w:.2f})"))
    return spans


def by_category(items: list[Item], labels: list[dict[str, int]]) -> dict[str, tuple[list[str], list[int]]]:
    """Texts and labels per category, from items and their per-category labels."""
    out: dict[str, tuple[list[str], list[int]]] = {}
    for item, lab in zip(items, labels):
        for category, y in lab.items():
            texts, ys = out.setdefault(category, ([], []))
            texts.append(item.message)
            ys.append(int(y))
    return out
