"""Rounds of generate -> judge -> fine-tune, end to end on the small embedded model, then head-to-head."""

import pandas as pd
from datasets import load_from_disk

from agora.training.config import TrainConfig
from agora.experiments.evaluate import head_to_head
from agora.training.trainer import AudienceTrainer


def test_two_tfb_rounds_then_eval(store, tiny_path, small_tiny, every_candidate_valid):
    cfg = TrainConfig(method="tfb", task="sales", policy=f"hf:{tiny_path}", rounds=2, contests=4, seed=1, epochs=1,
                      batch_size=8, tiny=small_tiny)
    result = AudienceTrainer(cfg, store).train()
    rounds = pd.read_parquet(result.path / "rounds.parquet")
    assert rounds["round"].tolist() == [1, 2]
    assert (rounds["winners"] + rounds["ties"] == 4).all()
    assert (rounds["thought_examples"] == rounds["winners"]).all()  # 50/50 mix
    data = load_from_disk(str(result.path / "round-1" / "dataset"))
    assert sorted(set(data["kind"])) == ["thought", "winner"] and set(data["run_id"]) == {rounds["contest_run"].iat[0]}
    # round 2 generated with round 1's checkpoint
    index = store.list().set_index("run_id")
    assert index.loc[rounds["contest_run"].iat[1], "policy"] == f"hf:{result.path / 'round-1' / 'checkpoint'}"
    assert index.loc[result.run_id, "kind"] == "train" and index.loc[result.run_id, "status"] == "finished"

    run, rate = head_to_head(f"hf:{tiny_path}", f"hf:{result.checkpoint}", "sales", store, contests=3, tiny=small_tiny)
    assert run.config.split == "test" and rate.anchors == 3 and rate.low <= rate.excess <= rate.high
