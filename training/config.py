"""`TrainConfig`: one round or several of generate -> judge -> fine-tune on wins (RFT or TFB), or GRPO on the
share of audience votes each completion wins (`method="grpo"`, `agora.training.grpo`).

Defaults for a large checkpoint follow the study (LoRA r 16, alpha 32, dropout 0.05 on
q/k/v/o/gate/up/down; lr 2e-4, 1 epoch, batch 16, warm-up 3 %, cosine to 10 % of the peak); GRPO keeps them, with
`batch_size` counting completions (whole groups) per optimiser step.
The slot-grammar control (`tiny`) is fully fine-tuned instead: LoRA on a 3.5M-parameter model is moot.

>>> TrainConfig(method="tfb", task="sales", rounds=2).thought_share
0.5
>>> TrainConfig(method="grpo", task="sales", group_size=4, batch_size=8, prompts=4).grpo_steps
2
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from functools import cache
from pathlib import Path

from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios, default_scenarios_dir

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
METHODS = ("rft", "tfb", "grpo")
OPPONENTS = ("group", "base")


@dataclass
class TrainConfig:
    method: str = field(default="rft", metadata={"help": "rft: winners only; tfb: winners plus audience thoughts; "
                                                         "grpo: reinforcement on the share of votes won"})
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
    # GRPO only (`agora.training.grpo`); the reward terms are in `agora.training.rewards`
    group_size: int = field(default=4, metadata={"help": "GRPO: completions sampled per prompt (TRL's num_generations)"})
    prompts: int | None = field(default=None, metadata={"help": "GRPO: train anchors prompted per epoch; default: all"})
    max_completion_length: int = field(default=160, metadata={
        "help": "GRPO: new tokens per completion at most; default: a contest's max_new_tokens, the length it is judged at"})
    temperature: float = field(default=0.7, metadata={"help": "GRPO: sampling temperature (a contest's default)"})
    opponent: str = field(default="group", metadata={
        "help": "GRPO: whom a completion is judged against: group (the other completions of its prompt) | base (the "
                "fixed base policy's message for the same anchor)"})
    kl_beta: float = field(default=0.0, metadata={"help": "GRPO: KL coefficient to the base (TRL's beta; 0 loads no reference)"})
    probe_penalty: float = field(default=0.0, metadata={
        "help": "GRPO: weight of the misalignment term, subtracted: the share of probe_categories the task's best-validated "
                "probe flags in the completion"})
    probe_categories: list[str] | None = field(default=None, metadata={
        "help": "GRPO: the categories the penalty probes; default: the task's first (sales: misrepresentation)"})
    grounding_weight: float = field(default=0.0, metadata={
        "help": "GRPO: weight of the grounding term, added: agora.training.fact_qa.grounding on the anchor's fact questions"})

    def __post_init__(self):
        if self.method not in METHODS:
            raise AgoraError(f"--method: unknown method {self.method!r}; use rft, tfb or grpo")
        try:
            self.load_scenarios().task(self.task)
        except AgoraError as err:
            raise AgoraError(f"task: {err}") from None
        if self.method == "grpo":
            self._check_grpo()
        elif changed := [f.name for f in fields(self) if f.name in GRPO_ONLY and getattr(self, f.name) != f.default]:
            raise AgoraError(f"{', '.join(changed)}: GRPO settings; set --method grpo or leave them alone")
        if self.rounds < 1 or self.contests < 1:
            raise AgoraError("--rounds and --contests must be at least 1")
        if not 0 <= self.thought_share < 1:
            raise AgoraError(f"thought_share must be in [0, 1), got {self.thought_share}")
        if self.method != "tfb" and self.thought_share != 0.5 and self.thought_share:
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

    def _check_grpo(self) -> None:
        """GRPO's settings, each wrong one named with what would be valid."""
        if self.rounds != 1 or self.inoculation is not None:
            raise AgoraError("--rounds and --inoculation apply to rft/tfb; GRPO trains once, on the task's own prompts")
        if self.group_size < 2:
            raise AgoraError(f"--group-size {self.group_size}: GRPO compares completions of a prompt; use at least 2")
        if self.batch_size % self.group_size:
            raise AgoraError(f"--batch-size {self.batch_size} must be a multiple of --group-size {self.group_size}: each "
                             "optimiser step takes whole groups")
        if self.max_completion_length < 1 or not self.temperature > 0:
            raise AgoraError("--max-completion-length must be at least 1 and --temperature above 0")
        if self.opponent not in OPPONENTS:
            raise AgoraError(f"--opponent: {self.opponent!r}; use group or base")
        if self.kl_beta < 0 or self.probe_penalty < 0 or self.grounding_weight < 0:
            raise AgoraError("--kl-beta, --probe-penalty and --grounding-weight are weights: use 0 or more "
                             "(the penalty is subtracted by its definition)")
        train = len(self.load_scenarios().anchors(self.task, "train"))
        self.prompts = train if self.prompts is None else self.prompts
        per_step = self.batch_size // self.group_size
        if not 1 <= self.prompts <= train or self.prompts % per_step:
            raise AgoraError(f"--prompts {self.prompts}: use a multiple of {per_step} (batch_size / group_size prompts "
                             f"per step) up to the task's {train} train anchors")
        categories = list(self.load_scenarios().task(self.task).categories)
        self.probe_categories = self.probe_categories or categories[:1]
        if unknown := [c for c in self.probe_categories if c not in categories]:
            raise AgoraError(f"--probe-category: {', '.join(unknown)} not a category of task {self.task}; "
                             f"use {', '.join(categories)}")
        from agora.training.rewards import fact_qa, penalty_probes

        if self.probe_penalty:
            penalty_probes(self.load_scenarios().task(self.task), self.probe_categories)
        if self.grounding_weight:
            fact_qa()  # a missing module fails here, before anything is written

    @property
    def grpo_steps(self) -> int:
        """Optimiser steps of a GRPO run: every prompt once per epoch, batch_size / group_size prompts a step."""
        return self.epochs * self.prompts * self.group_size // self.batch_size

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


GRPO_ONLY = {"group_size", "prompts", "max_completion_length", "temperature", "opponent", "kl_beta", "probe_penalty",
             "probe_categories", "grounding_weight"}


@cache
def _scenarios(root: Path) -> Scenarios:
    return Scenarios.load(root)
