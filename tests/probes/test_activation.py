"""The activation probe: hidden states from a real local model, layer chosen by cross-validation."""

import numpy as np

from agora.probes.activation import ActivationProbe
from agora.probes.gold import gold_items, load_gold
from agora.probes.validate import validate
from agora.sim.backends.hf import HFBackend


def test_hidden_states_shape_and_padding_invariance(tiny_path):
    backend = HFBackend(tiny_path)
    one = backend.hidden_states(["Meet the kettle."])
    two = backend.hidden_states(["Meet the kettle.", "A much longer message about a kettle that boils fast."])
    layers = backend.model.config.num_hidden_layers + 1
    assert one.shape == (layers, 1, backend.model.config.hidden_size)
    np.testing.assert_allclose(one[:, 0], two[:, 0], atol=2e-2)  # padding does not leak into the pooled state


def test_fit_picks_a_layer_and_scores_gold(tiny_path, scenarios):
    backend = HFBackend(tiny_path)
    train = [r for r in load_gold(split="train") if r.task == "election"]
    probe = ActivationProbe.fit(backend, gold_items(train, scenarios), [r.labels for r in train])
    layers = backend.model.config.num_hidden_layers + 1
    assert probe.categories == {"disinformation", "populism", "audience_manipulation"}
    assert all(0 <= p.layer < layers and 0 <= p.cv_f1 <= 1 for p in probe.fitted.values())
    test = [r for r in load_gold(split="test") if r.task == "election"]
    df = validate([probe], test, scenarios)
    assert set(df["category"]) == {"disinformation", "populism", "audience_manipulation"} and (df["n"] == len(test)).all()
