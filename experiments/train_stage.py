"""The sweep stage `train`: a sweep cell with `train: {...}` fine-tunes its policy first and then runs the
policy (A) against the trained checkpoint (B) — methods and inoculation prompts as sweep axes.

Training uses the cell's task, seed, policy, audience and tiny settings; the `train` mapping sets the rest of
`TrainConfig` (method, inoculation, contests, rounds, epochs, ...). The training entry's id is derived from the
cell's, so a resumed sweep reuses a finished training and retrains an unfinished one.
"""

from __future__ import annotations

from agora.experiments.sweep import sweep_stages
from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError
from agora.sim.store import RunStore
from agora.training.config import TrainConfig
from agora.training.trainer import AudienceTrainer

SHARED = ("task", "seed", "policy", "audience", "tiny", "scenarios")  # taken from the cell, not from the train mapping


@sweep_stages.register("train")
class TrainStage:
    @staticmethod
    def config(settings: dict, run: RunConfig) -> TrainConfig:
        if clash := sorted(set(settings) & set(SHARED)):
            raise AgoraError(f"train.{clash[0]}: set it on the cell, not under train (the cell's {', '.join(SHARED)} "
                             "are used for training)")
        known = set(TrainConfig.__dataclass_fields__) - set(SHARED)
        if unknown := sorted(set(settings) - known):
            raise AgoraError(f"train.{unknown[0]}: unknown training setting; known: {', '.join(sorted(known))}")
        return TrainConfig(**settings, **{k: getattr(run, k) for k in SHARED})

    @classmethod
    def validate(cls, settings: dict, run: RunConfig) -> None:
        if run.opponent:
            raise AgoraError("a cell with train: trains its own opponent; remove opponent")
        cls.config(settings, run)

    @classmethod
    def prepare(cls, settings: dict, run: RunConfig, store: RunStore, cell_run_id: str) -> RunConfig:
        trained = AudienceTrainer(cls.config(settings, run), store).train(run_id=f"{cell_run_id}-train")
        return run.model_copy(update={"opponent": f"hf:{trained.checkpoint}"})
