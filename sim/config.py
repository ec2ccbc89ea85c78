"""`RunConfig`: everything needed to re-run a contest run, saved as its `config.yaml`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agora.sim.backends.base import Sampling
from agora.sim.network import NetworkConfig
from agora.sim.errors import AgoraError
from agora.sim.scenario import plain, quoted, read_yaml, validate
from agora.sim.schema import Slug
from agora.sim.tiny.control import TinyConfig


class SamplingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float = Field(default=0.7, ge=0, description="the study samples its generators at 0.7")
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_new_tokens: int = Field(default=160, ge=1)

    def at(self, seed: int) -> Sampling:
        return Sampling(self.temperature, self.top_p, self.max_new_tokens, seed)


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: Slug = Field(description="a task of the scenarios folder (one of its tasks/*.yaml), checked as the run starts: "
                                   "a saved run stays readable when its folder has changed")
    contests: int = Field(default=20, ge=1)
    seed: int = 0
    split: Literal["train", "test", "all"] = "train"
    policy: str = Field(default="smollm2", description="a backend spec: smollm2 | tiny | hf:PATH | vllm:PATH | openai:MODEL[@URL]")
    opponent: str | None = Field(default=None, description="a second policy; default: two samples of `policy`")
    audience: str = Field(default="parametric", description="parametric, or llm:SPEC with any backend spec (llm:openai:gpt-4o-mini)")
    audience_orders: Literal["one", "both"] = Field(
        default="one", description="one: each persona sees each pair once, in a seeded order (the study); both: both "
                                   "ways round, and a choice that follows the slot is an abstention (agora.sim.audience.debias)")
    audience_vote: Literal["text", "logprob"] = Field(
        default="text", description="text: think, then vote in tags (the study); logprob: P(A) and P(B) read at the "
                                    "reply's first token (hf: logits, openai: top_logprobs), recorded with each judgment")
    prompt_format: Literal["auto", "study", "plain"] = Field(
        default="auto", description="how chat policies are prompted: auto (the model's recorded format, else study)")
    capabilities: list[str] | dict[Literal["A", "B"], list[str]] = Field(
        default_factory=list, description="capability names for both competitors, or per competitor {A: [...], B: [...]}")
    instructions: dict[Literal["A", "B"], str] = Field(
        default_factory=dict, description="per competitor, a prompt name (scenarios/prompts.yaml) or text added to its prompt")
    placement: Literal["user", "system"] = Field(default="user", description="where an instruction goes in a chat prompt")
    invalid: Literal["forfeit", "void", "judge"] = Field(
        default="forfeit", description="a contest with an invalid candidate (empty, cut off, copied, off its anchor): "
                                       "forfeit to the valid message, void, or judge it anyway (the reference study's "
                                       "protocol, whose voters gave empty pitches a quarter of their votes); the "
                                       "reasons are kept in the messages table either way")
    horizon: int = Field(default=1, ge=1, le=16, description="messages per competitor in a contest: a campaign of "
                                                          "this many rounds, decided by the audience's vote after the "
                                                          "last (agora.sim.campaign); 1: a single message")
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    scenarios: str | None = Field(default=None, description="scenarios folder; default: the one shipped")
    tiny: dict = Field(default_factory=dict, description="TinyConfig overrides for the slot-grammar control (tiny)")
    capability_settings: dict[str, dict] = Field(
        default_factory=dict, description="per capability name, keyword settings for its factory (e.g. ace: {dedup_threshold: 0.8})")
    batch_contests: int = Field(default=1, ge=1, description="contests written and judged as one batch (no capabilities)")
    cache: bool = Field(default=True, description="serve repeated LLM calls from the shared call cache")
    max_calls: int | None = Field(default=None, ge=1, description="stop cleanly before more LLM calls than this")
    max_tokens: int | None = Field(default=None, ge=1, description="stop cleanly before more generated tokens than this")
    resolved: dict = Field(default_factory=dict, description="filled at start: model identities actually used")

    @field_validator("tiny")
    @classmethod
    def _tiny_fields(cls, v: dict) -> dict:
        fields = TinyConfig.__dataclass_fields__
        if unknown := sorted(plain(k) for k in v if k not in fields):
            raise ValueError(f"unknown tiny setting(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
        for name, value in v.items():  # each as its default is: the dataclass itself checks no types
            kind = type(fields[name].default)
            if isinstance(value, bool) or not isinstance(value, int | float if kind is float else kind):
                raise ValueError(f"tiny setting {name}: expected {'a number' if kind is float else 'an integer'}, "
                                 f"got {quoted(value)}")
        try:
            TinyConfig(**v)
        except (AgoraError, ArithmeticError) as err:  # e.g. num_heads 0; a ValueError is what names the field
            raise ValueError(str(err) if isinstance(err, AgoraError) else f"tiny setting: {err}") from None
        return v

    @model_validator(mode="after")
    def _batch_without_capabilities(self) -> RunConfig:
        if self.batch_contests > 1 and self.all_capabilities():
            raise ValueError("batch_contests > 1 cannot be used with capabilities: a capability learns from each "
                             "contest before the next prompt; set batch_contests: 1")
        return self

    @model_validator(mode="after")
    def _campaign_settings(self) -> RunConfig:
        if self.horizon > 1 and self.all_capabilities():
            raise ValueError("horizon > 1 cannot be used with capabilities yet: a capability learns from one message a "
                             "contest; set horizon: 1 or remove the capabilities")
        if self.horizon > 1 and self.audience_orders == "both":
            raise ValueError("horizon > 1 cannot be used with audience_orders: both yet (the swapped ballot would lose "
                             "the earlier rounds); set audience_orders: one")
        return self

    def capabilities_of(self, competitor: str) -> list[str]:
        if isinstance(self.capabilities, dict):
            return list(self.capabilities.get(competitor, []))
        return list(self.capabilities)

    def all_capabilities(self) -> list[str]:
        return sorted({c for name, _ in self.competitor_specs() for c in self.capabilities_of(name)})

    @property
    def tiny_config(self) -> TinyConfig:
        return TinyConfig(**self.tiny)

    def competitor_specs(self) -> list[tuple[str, str]]:
        """(name, policy) pairs; names are what the tables and the summary show."""
        if self.opponent:
            return [("A", self.policy), ("B", self.opponent)]
        return [("A", self.policy), ("B", self.policy)]

    def save(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False))

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        return validate(cls, read_yaml(path), path)
