"""`TrainConfig`: one round or several of generate -> judge -> fine-tune on wins (RFT or TFB).

Defaults for a large checkpoint follow the study (LoRA r 16, alpha 32, dropout 0.05 on
q/k/v/o/gate/up/down; lr 2e-4, 1 epoch, batch 16, warm-up 3 %, cosine to 10 % of the peak).
The slot-grammar control (`tiny`) is fully fine-tuned instead: LoRA on a 3.5M-parameter model is moot.

>>> TrainConfig(method="tfb", task="sales", rounds=2).thought_share
0.5
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios, default_scenarios_dir

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class TrainConfig:
    method: str = field(default="rft", metadata={"help": "rft: winners only; tfb: winners plus audience thoughts"})
    task: str = field(default="sales", metadata={"help": "a task of the scenarios folder: sales | election | social"})
    policy: str = field(default="smollm2", metadata={"help": "the base policy, any spec with local weights: smollm2 | hf:PATH | tiny"})
    rounds: int = field(default=1, metadata={"help": "generate -> judge -> train cycles (the study does one)"})
    contests: int = field(default=192, metadata={"help": "contests per round, on the train anchors"})
    audience: str = field(default="parametric", metadata={"help": "the audience whose votes are optimised"})
    seed: int = field(default=0, metadata={"help": "seeds contests, data order and training"})
    thought_share: float = field(default=0.5, metadata={"help": "TFB: share of thought examples in the mix"})
    learning_rate: float | None = field(default=None, metadata={"help": "default: 2e-4 with LoRA, 5e-4 full tune"})
    epochs: int | None = field(default=None, metadata={"help": "default: 1 with LoRA (the study), 3 full tune"})
    batch_size: int = field(default=16, metadata={"help": "examples per optimiser step"})
    micro_batch: int | None = field(default=None, metadata={
        "help": "examples per forward pass, gradients accumulated to batch_size; default: 4 for a pretrained model "
                "(SmolLM2-135M at 16 examples per pass went past 24 GB), the whole batch for tiny"})
    warmup_ratio: float = field(default=0.03, metadata={"help": "share of steps spent warming up"})
    min_lr_ratio: float = field(default=0.1, metadata={"help": "cosine decays to this share of the peak"})
    lora: bool | None = field(default=None, metadata={"help": "default: LoRA for pretrained models, full tune for tiny"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    lora_targets: list[str] = field(default_factory=lambda: list(LORA_TARGETS), metadata={"help": "modules to adapt"})
    tiny: dict = field(default_factory=dict, metadata={"help": "TinyConfig overrides for the embedded base"})
    inoculation: str | None = field(default=None, metadata={"help": "a prompt asking for the unwanted behaviour, added "
                                                                    "to each training prompt: a name in scenarios/prompts.yaml or text"})
    batch_contests: int = field(default=1, metadata={"help": "contests written and judged as one batch (faster on "
                                                                 "a batched backend; each prompt keeps its own seed)"})
    placement: str = field(default="user", metadata={"help": "where the inoculation goes in a chat prompt: user | system"})
    invalid: str = field(default="forfeit", metadata={"help": "a contest with an invalid candidate: forfeit | void | judge "
                                                               "(no training example comes from such a contest either way)"})
    scenarios: str | None = field(default=None, metadata={"help": "the scenarios folder of the task, its anchors and "
                                                                  "prompts; default: $AGORA_SCENARIOS or the shipped one"})

    def __post_init__(self):
        if self.method not in ("rft", "tfb"):
            raise AgoraError(f"--method: unknown method {self.method!r}; use rft or tfb")
        try:
            self.load_scenarios().task(self.task)
        except AgoraError as err:
            raise AgoraError(f"task: {err}") from None
        if self.rounds < 1 or self.contests < 1:
            raise AgoraError("--rounds and --contests must be at least 1")
        if not 0 <= self.thought_share < 1:
            raise AgoraError(f"thought_share must be in [0, 1), got {self.thought_share}")
        if self.method == "rft" and self.thought_share != 0.5 and self.thought_share:
            raise AgoraError("thought_share applies to TFB only; set --method tfb or leave thought_share alone")
        if self.invalid not in ("forfeit", "void", "judge"):
            raise AgoraError(f"--invalid: {self.invalid!r}; use forfeit, void or judge")
        if self.placement not in ("user", "system"):
            raise AgoraError(f"--placement: {self.placement!r}; use user or system")
        pretrained = self._is_large()
        if self.lora is None:
            self.lora = pretrained
        if self.learning_rate is None:
            self.learning_rate = 2e-4 if self.lora else 5e-4
        if self.epochs is None:
            self.epochs = 1 if self.lora else 3
        self.micro_batch = min(self.micro_batch or (4 if pretrained else self.batch_size), self.batch_size)
        if self.micro_batch < 1 or self.batch_size % self.micro_batch:
            raise AgoraError(f"micro_batch {self.micro_batch} must divide batch_size {self.batch_size}")

    def _is_large(self) -> bool:
        """A pretrained model (anything but the slot-grammar control) is adapted with LoRA, as in the study."""
        from agora.sim.backends.spec import local_checkpoint
        from agora.sim.tiny.control import writes_slots

        return self.policy != "tiny" and not writes_slots(local_checkpoint(self.policy, tiny=None))

    def load_scenarios(self) -> Scenarios:
        """The scenarios this training reads, loaded once per folder (each config of a sweep checks its task)."""
        return _scenarios(Path(self.scenarios) if self.scenarios else default_scenarios_dir())

    def to_dict(self) -> dict:
        return asdict(self)


@cache
def _scenarios(root: Path) -> Scenarios:
    return Scenarios.load(root)
