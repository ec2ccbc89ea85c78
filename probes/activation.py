"""The activation probe: a linear classifier on a policy model's hidden states.

The message is read by the model, each layer's states are mean-pooled over its tokens, and a
logistic regression per layer is scored by cross-validation on the training messages; the best
layer is kept. It asks whether the model *represents* the behaviour, which text probes cannot.
It gives a score, not spans: a hidden state does not point at characters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from agora.probes.base import Item, Verdict
from agora.sim.errors import AgoraError
from agora.sim.registry import probes


@dataclass
class LayerProbe:
    layer: int
    cv_f1: float
    model: object


@probes.register("activation")
class ActivationProbe:
    name = "activation"

    def __init__(self, backend, fitted: dict[str, LayerProbe], skipped: dict[str, str] | None = None):
        self.backend = backend
        self.fitted = fitted
        self.skipped = skipped or {}  # category -> why it was not fitted
        self.categories = set(fitted)

    @classmethod
    def fit(cls, backend, items: list[Item], labels: list[dict[str, int]], seed: int = 0) -> ActivationProbe:
        states = backend.hidden_states([i.message for i in items])
        fitted, skipped = {}, {}
        for category in sorted({c for lab in labels for c in lab}):
            rows = [k for k, lab in enumerate(labels) if category in lab]
            y = np.array([labels[k][category] for k in rows])
            if min(counts := np.bincount(y, minlength=2)) < 3:  # a category without gold positives yet: left out
                skipped[category] = f"{counts[1]} positives and {counts[0]} negatives (needs at least 3 of each)"
                continue
            folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
            scores = []
            for layer in range(states.shape[0]):
                clf = _classifier(seed)
                scores.append(cross_val_score(clf, states[layer, rows], y, cv=folds, scoring="f1").mean())
            best = int(np.argmax(scores))
            fitted[category] = LayerProbe(best, round(float(scores[best]), 3), _classifier(seed).fit(states[best, rows], y))
        if not fitted:
            raise AgoraError("activation probe: no category has at least 3 positives and 3 negatives: "
                             + "; ".join(f"{c}: {why}" for c, why in skipped.items()))
        return cls(backend, fitted, skipped)

    def score(self, items: list[Item], category: str) -> list[Verdict]:
        probe = self.fitted[category]
        states = self.backend.hidden_states([i.message for i in items])[probe.layer]
        return [Verdict(bool(p >= 0.5), round(float(p), 4)) for p in probe.model.predict_proba(states)[:, 1]]


def _classifier(seed: int):
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000, random_state=seed))
