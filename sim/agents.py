"""The two kinds of agents in a contest: competitors who write, personas who judge."""

from __future__ import annotations

import mesa

from agora.sim.backends.base import Prompt
from agora.sim.campaign import campaign_prompt
from agora.sim.capability import Capability, Outcome
from agora.sim.instructions import with_instruction
from agora.sim.policy import Policy, Written
from agora.sim.schema import Anchor, Persona, TaskSpec


class CompetitorAgent(mesa.Agent):
    """An LLM policy competing for the audience, with optional capabilities (memory, reasoning)."""

    def __init__(self, model: mesa.Model, name: str, policy_spec: str, policy: Policy, capabilities: list[Capability],
                 instruction: str = "", placement: str = "user"):
        super().__init__(model)
        self.name = name
        self.policy_spec = policy_spec
        self.policy = policy
        self.capabilities = capabilities
        self.instruction = instruction  # e.g. a safety prompt at test time
        self.placement = placement

    def prompt(self, task: TaskSpec, anchor: Anchor, earlier: list[str] = (), horizon: int = 1) -> Prompt:
        """The prompt for its next message; in a campaign, with its own `earlier` messages (a chat policy: the
        slot-grammar control reads no history)."""
        prompt = with_instruction(self.policy.prompt(task, anchor), self.instruction, self.placement)
        if self.policy.style == "chat":
            prompt = campaign_prompt(prompt, task, list(earlier), horizon)
        for cap in self.capabilities:
            prompt = cap.before_write(task, anchor, prompt)
        return prompt

    def read(self, task: TaskSpec, anchor: Anchor, completion: str) -> Written:
        return self.policy.parse(task, anchor, completion)

    def learn(self, task: TaskSpec, outcome: Outcome) -> None:
        for cap in self.capabilities:
            cap.after_outcome(task, outcome)


class PersonaAgent(mesa.discrete_space.FixedAgent):
    """A member of the audience; on the social task it sits fixed on a cell of the persona network, whose
    neighbouring cells are who sees what it shares (`agora.sim.network.cascade`)."""

    def __init__(self, model: mesa.Model, persona: Persona, node: int):
        super().__init__(model)
        self.persona = persona
        self.node = node
        if model.space is not None:
            self.cell = model.space[node]
