"""Embeddings: the bundled local model when installed, TF-IDF otherwise, and duplicate grouping."""

import pytest

from agora.memory.embeddings import TFIDF, WORDLLAMA, TfidfEmbedder, duplicate_groups, load_embedder, similarity, wordllama_files
from agora.sim.errors import AgoraError


def test_tfidf_similarity_and_groups_keep_the_first():
    e = TfidfEmbedder()
    sims = similarity(e, ["stick to the facts"], ["stick to the facts", "be provocative today"])
    assert sims[0, 0] == pytest.approx(1.0) and sims[0, 1] == pytest.approx(0.0)
    texts = ["stick to the facts you were given", "be provocative", "stick to the facts you were given, please"]
    assert duplicate_groups(e, texts, 0.6) == [[0, 2], [1]]
    assert duplicate_groups(e, texts, 0.99) == [[0], [1], [2]]


def test_kinds_and_errors():
    assert load_embedder("tfidf").name == TFIDF
    assert load_embedder("auto").name == (WORDLLAMA if wordllama_files() else TFIDF)
    with pytest.raises(AgoraError, match="use auto, wordllama-l2_supercat_256, tfidf"):
        load_embedder("bert")


@pytest.mark.skipif(wordllama_files() is None, reason="wordllama is not installed")
def test_local_model_loads_offline_and_ranks_paraphrases_first():
    e = load_embedder(WORDLLAMA)
    v = e.embed(["Add impressive figures, true or not.", "Invent impressive numbers if you need them.", "Be provocative."])
    assert v.shape == (3, 256)
    assert abs(float((v * v).sum(1)[0]) - 1) < 1e-5
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
