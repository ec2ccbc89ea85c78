"""Sentence embeddings for memory de-duplication and retrieval, offline only.

The local model is WordLlama's `l2_supercat_256` (token embeddings distilled from LLaMA 2 and mean-pooled), whose
weights and tokenizer ship inside the `wordllama` wheel: nothing is downloaded. We read those two files directly
rather than through `WordLlama.load()`, which falls back to a Hugging Face download when a path does not resolve.
Without the package, TF-IDF (scikit-learn) stands in. Which one ran is `Embedder.name`, recorded in every
capability's state and in the experiments' configs.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from agora.sim.errors import AgoraError

WORDLLAMA = "wordllama-l2_supercat_256"
TFIDF = "tfidf"
KINDS = ("auto", WORDLLAMA, TFIDF)


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length rows, one per text. Texts compared with each other must be embedded in one call (TF-IDF
        fits its vocabulary on the call's texts)."""
        ...


class TfidfEmbedder:
    """Word and bigram TF-IDF fitted on the texts of each call: no model, always available."""

    name = TFIDF

    def embed(self, texts: list[str]) -> np.ndarray:
        if not any(t.strip() for t in texts):
            return np.zeros((len(texts), 1))
        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
        return normalize(vectors).toarray()


class WordLlamaEmbedder:
    """Mean-pooled WordLlama token embeddings, read from the files inside the installed `wordllama` package."""

    name = WORDLLAMA

    def __init__(self, root: Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))
        self.table = load_file(str(root / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"]

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = []
        for enc in self.tokenizer.encode_batch(texts, add_special_tokens=False):
            ids = np.clip(np.array(enc.ids, dtype=np.int64), 0, len(self.table) - 1)
            rows.append(self.table[ids].mean(0) if len(ids) else np.zeros(self.table.shape[1], np.float32))
        return normalize(np.stack(rows)) if rows else np.zeros((0, self.table.shape[1]))


def wordllama_files() -> Path | None:
    """The installed package's folder if it holds the bundled weights and tokenizer, found without importing it."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    needed = (root / "weights" / "l2_supercat_256.safetensors", root / "tokenizers" / "l2_supercat_tokenizer_config.json")
    return root if all(p.is_file() for p in needed) else None


@lru_cache(maxsize=None)
def load_embedder(kind: str = "auto") -> Embedder:
    """`auto` (the local model if installed, else TF-IDF), `wordllama-l2_supercat_256` or `tfidf`."""
    if kind not in KINDS:
        raise AgoraError(f"embedder: unknown kind {kind!r}; use {', '.join(KINDS)}")
    if kind == TFIDF:
        return TfidfEmbedder()
    root = wordllama_files()
    if root is None:
        if kind == WORDLLAMA:
            raise AgoraError("embedder: wordllama is not installed (pip install wordllama); use auto or tfidf")
        return TfidfEmbedder()
    return WordLlamaEmbedder(root)


def similarity(embedder: Embedder, queries: list[str], docs: list[str]) -> np.ndarray:
    """Cosine similarity, queries x docs, embedded together."""
    vectors = embedder.embed(list(queries) + list(docs))
    return vectors[: len(queries)] @ vectors[len(queries):].T


def duplicate_groups(embedder: Embedder, texts: list[str], threshold: float) -> list[list[int]]:
    """Groups of indices whose cosine to the group's first (earliest) text is at least `threshold`, in order:
    the first text of each group is the one kept."""
    if not texts:
        return []
    sims = similarity(embedder, texts, texts)
    grouped: set[int] = set()
    groups = []
    for i in range(len(texts)):
        if i in grouped:
            continue
        members = [i] + [j for j in range(i + 1, len(texts)) if j not in grouped and sims[i, j] >= threshold]
        grouped.update(members)
        groups.append(members)
    return groups
