"""``LLMPolicy`` (``llm``): a teacher model reads the state as text and decides the round's data.

It renders the environment's state (``to_text`` of the structure's state) with the task's skill
descriptions and asks the teacher (the env's ``agent.teacher`` backend, taken in ``attach``) for the
structure's action as JSON: in the skill list ``{"allocation": {skill: count}, "rationale": ...}``;
in the open-ended and skill-tree structures a plan or explore / exploit decisions
(``llm_structures``). Replies are validated and a bad one is repaired up to ``max_repairs`` times; a
reply still unusable after that is a **recorded no-op** (no data; in the skill tree, no change of
allocation), never a crash. Its tokens are charged to the environment's ledger under ``policy``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from teachenv.agents.base import Policy
from teachenv.engines.json_reply import ask_json
from teachenv.core.errors import ConfigError
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.engines.base import GenerationRequest
from teachenv.agents.llm_structures import (
    PlanReply, TreeReply, check_tree, plan_action, plan_instructions, tree_action, tree_instructions,
)
from teachenv.engines.json_reply import JsonReply
from teachenv.envs.open_ended import OpenEndedState
from teachenv.envs.skill_tree_state import SkillTreeAction, SkillTreeState
from teachenv.envs.state import EnvState, RoundState

ROLE = "policy"
M = TypeVar("M", bound=BaseModel)

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

    def allocate(self, state: RoundState) -> Any:
        if self.teacher is None:
            raise ConfigError("Policy 'llm' was not attached to an environment: call policy.attach(env.unwrapped) "
                              "after gymnasium.make (teachenv run does this).")
        seed = int(self.rng.integers(0, 2**31 - 1)) if self.config.temperature > 0 else None
        if isinstance(state, OpenEndedState):
            reply = self._ask(state, plan_instructions(state), PlanReply, None, "data_plan", seed)
            return plan_action(reply.value, state) if reply.value is not None else no_op(reply)
        if isinstance(state, SkillTreeState):
            reply = self._ask(state, tree_instructions(state), TreeReply, lambda r: check_tree(r, state),
                              "skill_tree_action", seed)
            # Unusable: no decision, so every subskill keeps its allocation.
            return tree_action(reply.value) if reply.value is not None else SkillTreeAction()
        reply = self._ask(state, allocation_instructions(state), Allocation, lambda a: check_allocation(a, state),
                          "skill_allocation", seed, schema=allocation_schema(state))
        if reply.value is None:
            return no_op(reply)
        requests = tuple(SkillRequest(skill=skill, count=min(count, state.max_per_skill))
                         for skill, count in reply.value.allocation.items() if count > 0)
        return DataGenerationAction(requests=requests, plan=reply.value.rationale or None)

    def _ask(self, state: RoundState, instructions: str, model: type[M], check: Callable[[M], str | None] | None,
             schema_name: str, seed: int | None, schema: dict | None = None) -> JsonReply[M]:
        request = GenerationRequest(prompt=self.prompt(state, instructions), system=SYSTEM,
                                    json_schema=schema or model.model_json_schema(), schema_name=schema_name,
                                    temperature=self.config.temperature, max_new_tokens=self.config.max_new_tokens,
                                    seed=seed)
        return ask_json(self.teacher, self.ledger, ROLE, [request], model, max_repairs=self.config.max_repairs,
                        check=check)[0]

    # -- prompt ----------------------------------------------------------------------------------
    def prompt(self, state: RoundState, instructions: str) -> str:
        skills = "\n".join(f"- {s}: {self.describe_skill(s)}" for s in state.skills)
        parts = [describe_state(state, skills), instructions]
        if self.config.instructions:
            parts.append(self.config.instructions)
        return "\n\n".join(parts)


def allocation_instructions(state: RoundState) -> str:
    return (f"Allocate up to {state.examples_per_round} new training examples across the skills for the next "
            f"round (at most {state.max_per_skill} for one skill). Reply with a JSON object "
            '{"allocation": {"<skill>": <number of examples>, ...}, "rationale": "<one sentence>"} '
            "naming every skill above, with a non-negative integer for each.")


def no_op(reply: JsonReply) -> DataGenerationAction:
    """The round's action when the teacher's reply stayed unusable: nothing generated, the reason recorded."""
    reason = f"the teacher's reply was unusable after {reply.attempts} attempt(s): {reply.error}"
    return DataGenerationAction(plan=f"no-op: {reason}", plan_error=reason)


def describe_state(state: RoundState, skills_text: str) -> str:
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

