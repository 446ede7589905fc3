"""``LLMPolicy`` (``llm``): a teacher model reads the state as text and allocates the round's data.

It renders the environment's state (``EnvState.to_text``) with the task's skill descriptions, asks
the teacher (the env's ``agent.teacher`` backend, taken in ``attach``) for
``{"allocation": {skill: count}, "rationale": ...}`` with a JSON schema, validates it, and repairs
a bad reply up to ``max_repairs`` times. A reply still unusable after that is a **recorded no-op**
(an action with no requests whose plan says why), never a crash. Its tokens are charged to the
environment's ledger under the role ``policy``.

The prompt is built from ``EnvState``, which every environment structure has, so the other
structures can reuse ``describe_state`` / ``ask`` with their own reply models.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from teachenv.agents.base import Policy
from teachenv.engines.json_reply import ask_json
from teachenv.core.errors import ConfigError
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.engines.base import GenerationRequest
from teachenv.envs.state import EnvState

ROLE = "policy"

SYSTEM = ("You are an expert teacher of a small language model. You decide what training data it gets next, "
          "to raise its accuracy on held-out questions. Answer with JSON only.")


class LLMPolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    temperature: float = Field(0.0, ge=0, description="0 = greedy.")
    max_new_tokens: int = Field(512, ge=16)
    max_repairs: int = Field(2, ge=0, description="Times a bad reply is sent back with the error before a no-op.")
    instructions: str = Field("", description="Extra guidance appended to the prompt (e.g. a strategy to follow).")


class Allocation(BaseModel):
    allocation: dict[str, int]
    rationale: str = ""


class LLMPolicy(Policy):
    name: ClassVar[str] = "llm"
    Config: ClassVar[type[BaseModel]] = LLMPolicyConfig

    def __init__(self, config: LLMPolicyConfig | None = None) -> None:
        super().__init__(config or LLMPolicyConfig())
        self.config: LLMPolicyConfig
        self.teacher = None
        self.ledger = None
        self.describe_skill = str

    def attach(self, env: Any) -> None:
        if getattr(env, "teacher", None) is None:
            raise ConfigError("Policy 'llm' needs a teacher model: set agent.teacher (e.g. name: openai, "
                              "model: ..., base_url: ...; or name: scripted for the offline demo).")
        self.teacher, self.ledger = env.teacher, env.ledger
        self.describe_skill = env.task.describe_skill

    def allocate(self, state: EnvState) -> DataGenerationAction:
        if self.teacher is None:
            raise ConfigError("Policy 'llm' was not attached to an environment: call policy.attach(env.unwrapped) "
                              "after gymnasium.make (teachenv run does this).")
        seed = int(self.rng.integers(0, 2**31 - 1)) if self.config.temperature > 0 else None
        request = self.request(state, seed)
        reply = ask_json(self.teacher, self.ledger, ROLE, [request], Allocation,
                         max_repairs=self.config.max_repairs, check=lambda a: check_allocation(a, state))[0]
        if reply.value is None:
            return DataGenerationAction(plan=f"no-op: the teacher's reply was unusable after {reply.attempts} "
                                             f"attempt(s): {reply.error}")
        requests = tuple(SkillRequest(skill=skill, count=min(count, state.max_per_skill))
                         for skill, count in reply.value.allocation.items() if count > 0)
        return DataGenerationAction(requests=requests, plan=reply.value.rationale or None)

    # -- prompt ----------------------------------------------------------------------------------
    def request(self, state: EnvState, seed: int | None) -> GenerationRequest:
        return GenerationRequest(prompt=self.prompt(state), system=SYSTEM, json_schema=allocation_schema(state),
                                 schema_name="skill_allocation", temperature=self.config.temperature,
                                 max_new_tokens=self.config.max_new_tokens, seed=seed)

    def prompt(self, state: EnvState) -> str:
        skills = "\n".join(f"- {s}: {self.describe_skill(s)}" for s in state.skills)
        parts = [
            describe_state(state, skills),
            f"Allocate up to {state.examples_per_round} new training examples across the skills for the next "
            f"round (at most {state.max_per_skill} for one skill). Reply with a JSON object "
            '{"allocation": {"<skill>": <number of examples>, ...}, "rationale": "<one sentence>"} '
            "naming every skill above, with a non-negative integer for each.",
        ]
        if self.config.instructions:
            parts.append(self.config.instructions)
        return "\n\n".join(parts)


def describe_state(state: EnvState, skills_text: str) -> str:
    """The state as the teacher reads it: what the skills are, then the numbers."""
    return ("The student is fine-tuned each round on the examples you ask for, then evaluated on held-out "
            f"validation questions you never see.\n\nSkills:\n{skills_text}\n\nCurrent state:\n{state.to_text()}")


def allocation_schema(state: EnvState) -> dict:
    return {
        "type": "object",
        "properties": {
            "allocation": {
                "type": "object",
                "properties": {s: {"type": "integer", "minimum": 0, "maximum": state.max_per_skill}
                               for s in state.skills},
                "required": list(state.skills),
                "additionalProperties": False,
            },
            "rationale": {"type": "string"},
        },
        "required": ["allocation"],
    }


def check_allocation(value: Allocation, state: EnvState) -> str | None:
    """What a schema cannot enforce everywhere: known skills, non-negative counts, a non-empty total."""
    unknown = sorted(set(value.allocation) - set(state.skills))
    if unknown:
        return f"unknown skill(s) {unknown}; the skills are {list(state.skills)}"
    negative = sorted(s for s, c in value.allocation.items() if c < 0)
    if negative:
        return f"counts must be ≥ 0, got negative counts for {negative}"
    if sum(value.allocation.values()) == 0:
        return "the allocation is empty: ask for at least one example"
    return None

