"""``LLMDataEngine`` (``llm``): a teacher model writes training examples for a skill.

For each ``SkillRequest`` it asks the teacher (``agent.teacher``) for examples in calls of at most
``examples_per_call``, as JSON ``{"examples": [{"question", "answer"}]}``. Diversity controls: a
sampling temperature with a distinct seed per call, a few-shot block of seed examples from the
task's *training* side, and a list of questions already generated for the skill this episode (to
avoid). Replies are validated and repaired like the policy's; the task turns each item into a
candidate (``Task.candidate``). With ``agreement_samples`` = k ≥ 2 the teacher also solves every
question k times independently, and the example is kept only if every sample agrees with the stated
answer under the task's equivalence check **in both directions** (``answers_equivalent`` may be
asymmetric, as math-verify's is). What it cannot use is returned as rejected with a reason; the
environment verifies the rest with the task. Tokens go to the ledger under ``data-engine``.

A wrapping engine may guide the writing of a skill (``guidance``, a ``SkillGuidance`` per skill): its
exemplars are shown in place of the seed examples, and the student's mistakes (question, the student's
answer, the correct one) are listed for the teacher to write against (LbT M3, ``agents.lbt_exemplars``).

In the open-ended structure the teacher's plan is the prompt: a plan in the plan grammar gives its
per-skill requests (the plan text goes along in every writing prompt), and any other text one
request for the round's examples (skill ``*``), written in calls that show the plan and ask the
teacher to name each example's skill. In the skill tree a request carries its subskill: generator
parameters (a ``Parameters:`` line) or an LLM-proposed subskill's name; the candidates are tagged
with them so the tree can count examples per subskill.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.errors import ConfigError
from teachenv.core.hashing import content_hash
from teachenv.core.ledger import CostLedger
from teachenv.core.plan import ANY_SKILL, PlanError
from teachenv.core.records import DataGenerationAction, RejectedExample, SkillRequest, TaskExample, TrainingExample
from teachenv.engines.base import GenerationRequest, TextBackend
from teachenv.envs.data_engine import DataEngine, EngineOutput
from teachenv.engines.json_reply import JsonReply, ask_json
from teachenv.tasks.base import Task

ROLE = "data-engine"
#: Examples asked by a free-form plan before the environment clips the request to the round's cap.
FREE_PLAN_COUNT = 2**31 - 1
#: Request parameters naming an LLM-proposed subskill (the others are generator parameters).
SUBSKILL_KEYS = frozenset({"subskill", "description"})
ORIGIN = "llm"
SYSTEM = "You write high-quality training data for a small language model. Answer with JSON only."
#: First words of the writing request's list of the student's mistakes (the scripted teacher reads it).
MISTAKES_HEADER = "The student answered these wrong; write examples that teach what it misses"


@dataclass(frozen=True)
class SkillGuidance:
    """What a wrapping engine adds to the writing request of a skill: ``exemplars`` (question, answer) shown in
    place of the seed examples when there are any, and ``mistakes`` (question, the student's answer, the correct
    answer) the student made, listed for the teacher."""

    exemplars: tuple[tuple[str, str], ...] = ()
    mistakes: tuple[tuple[str, str, str], ...] = ()


class LLMEngineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    examples_per_call: int = Field(20, ge=1, description="Examples asked for in one teacher call.")
    temperature: float = Field(0.8, ge=0, description="Sampling temperature of the writing calls.")
    top_p: float = Field(0.95, gt=0, le=1)
    max_new_tokens: int = Field(2048, ge=16)
    few_shot: int = Field(3, ge=0, description="Seed examples from the task's training side shown per call.")
    avoid: int = Field(30, ge=0, description="Questions already generated for the skill listed as ones to avoid.")
    agreement_samples: int = Field(
        1, ge=1, description="k ≥ 2: the teacher solves each question k times; keep it only if all agree."
    )
    solve_temperature: float = Field(0.7, ge=0)
    solve_max_new_tokens: int = Field(512, ge=8)
    max_repairs: int = Field(1, ge=0, description="Times a bad reply is sent back with the error.")


class ExampleItem(BaseModel):
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    tests: list[str] = Field(default_factory=list, description="Test code, for tasks graded by execution.")


class ExamplesReply(BaseModel):
    examples: list[ExampleItem]


class PlannedItem(ExampleItem):
    skill: str = Field(min_length=1)


class PlannedReply(BaseModel):
    examples: list[PlannedItem]


class AnswerReply(BaseModel):
    answer: str


EXAMPLES_SCHEMA = ExamplesReply.model_json_schema()
PLANNED_SCHEMA = PlannedReply.model_json_schema()
ANSWER_SCHEMA = AnswerReply.model_json_schema()


class LLMDataEngine(DataEngine):
    name: ClassVar[str] = "llm"
    Config: ClassVar[type[BaseModel]] = LLMEngineConfig

    def __init__(self, task: Task, ledger: CostLedger, config: LLMEngineConfig | None = None, *,
                 teacher: TextBackend | None = None) -> None:
        if teacher is None:
            raise ConfigError("Engine 'llm' needs a teacher model: set agent.teacher (e.g. name: openai, "
                              "model: ..., base_url: ...; or name: scripted for the offline demo).")
        super().__init__(task, ledger, config or LLMEngineConfig(), teacher=teacher)
        self.config: LLMEngineConfig
        self.teacher: TextBackend
        self.generated: dict[str, list[str]] = defaultdict(list)  # questions made this episode, per skill
        self.guidance: dict[str, SkillGuidance] = {}  # set by a wrapping engine (module docstring)

    def reset(self) -> None:
        self.generated.clear()
        self.guidance = {}

    def read_plan(self, plan: str) -> tuple[SkillRequest, ...]:
        """A plan in the grammar gives its requests; any other text is the prompt itself: one request for
        as many examples as the round allows, each of a skill the teacher picks."""
        try:
            return super().read_plan(plan)
        except PlanError:
            return (SkillRequest(skill=ANY_SKILL, count=FREE_PLAN_COUNT),)

    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        calls: list[tuple[SkillRequest, int]] = []  # (request, examples asked in this call)
        for request in action.requests:
            if request.skill not in (*self.task.skills, ANY_SKILL):
                continue  # the environment only passes known skills; a hand-built action may not
            per_call = self.config.examples_per_call
            for k in range(math.ceil(request.count / per_call)):
                calls.append((request, min(per_call, request.count - k * per_call)))
        requests = [self._writing_request(request, n, action.plan, rng) for request, n in calls]
        planned = [i for i, (request, _) in enumerate(calls) if request.skill == ANY_SKILL]
        replies = ask_json(self.teacher, self.ledger, ROLE, [r for i, r in enumerate(requests) if i not in planned],
                           ExamplesReply, max_repairs=self.config.max_repairs)
        planned_replies = ask_json(self.teacher, self.ledger, ROLE, [requests[i] for i in planned], PlannedReply,
                                   max_repairs=self.config.max_repairs)
        replies_in_order = [planned_replies.pop(0) if i in planned else replies.pop(0) for i in range(len(calls))]
        candidates: list[TrainingExample] = []
        rejected: list[RejectedExample] = []
        for (request, asked), reply in zip(calls, replies_in_order, strict=True):
            if reply.value is None:
                rejected.append(unusable(request.skill, reply))
                continue
            for index, item in enumerate(reply.value.examples):
                skill = getattr(item, "skill", request.skill)
                candidate = with_params(self.task.candidate(skill, item.question, item.answer, ORIGIN), request.params)
                if item.tests and self.task.needs_tests:
                    candidate = candidate.model_copy(update={"example": candidate.example.model_copy(
                        update={"tests": tuple(t for t in item.tests if t.strip())})})
                if skill not in self.task.skills:
                    rejected.append(RejectedExample(candidate=candidate, reason="unknown-skill",
                                                    detail=f"the skills are {list(self.task.skills)}"))
                elif index < asked:
                    candidates.append(candidate)
                    self.generated[skill].append(self.task.teacher_view(candidate.example))
                else:
                    rejected.append(RejectedExample(candidate=candidate, reason="over-budget",
                                                    detail=f"the call asked for {asked} examples"))
        if self.config.agreement_samples >= 2 and candidates:
            candidates, disagreeing = self._agreeing(candidates, rng)
            rejected.extend(disagreeing)
        return EngineOutput(candidates, rejected)

    # -- writing -----------------------------------------------------------------------------------
    def preference_request(self, skill: str, params: dict) -> GenerationRequest:
        """The writing request of one example of ``skill`` (no plan, no already-generated list, few-shot
        exemplars drawn with a fixed seed): the prompt of a preference pair over this engine's drafts."""
        return self._writing_request(SkillRequest(skill=skill, count=1, params=params), 1, None,
                                     np.random.default_rng(0), avoid=False)

    def _writing_request(self, request: SkillRequest, count: int, plan: str | None,
                         rng: np.random.Generator, *, avoid: bool = True) -> GenerationRequest:
        if request.skill == ANY_SKILL:
            return self._planned_request(count, plan or "", rng)
        skill = request.skill
        lines = [
            f"Write new training examples for one skill of the task '{self.task.name}'.",
            f"Skill: {skill}",
            f"What it covers: {self.task.describe_skill(skill)}",
        ]
        params = {k: v for k, v in request.params.items() if k not in SUBSKILL_KEYS}
        if "subskill" in request.params:
            lines.append(f"Subskill: {request.params['subskill']}"
                         + (f" ({request.params['description']})" if "description" in request.params else ""))
        if params:
            lines.append("Parameters: " + " ".join(f"{k}={v}" for k, v in sorted(params.items())))
        if plan:
            lines.append("The teacher's plan for this round:")
            lines.extend(f"> {line}" for line in plan.splitlines())
        lines.append(f"Number of examples: {count}")
        guide = self.guidance.get(skill, SkillGuidance())
        shown = list(guide.exemplars)
        if not shown and self.config.few_shot:  # seed examples only where no exemplars guide the skill
            shown = [(self.task.teacher_view(e), e.answer)
                     for e in self.task.seed_examples(skill, self.config.few_shot, rng)]
        if shown:
            lines.append("Examples of the format (question → answer):")
            lines.extend(f"  {question} → {answer}" for question, answer in shown)
        if guide.mistakes:
            lines.append(f"{MISTAKES_HEADER} (question → the student's answer; the correct answer):")
            lines.extend(f"  {question} → {said}; correct: {gold}" for question, said, gold in guide.mistakes)
        recent = self.generated[skill][-self.config.avoid:] if self.config.avoid and avoid else []
        if recent:
            lines.append("Already generated (write different ones):")
            lines.extend(f"- {q}" for q in recent)
        lines.append('Reply with a JSON object {"examples": [{"question": "...", "answer": "..."'
                     + (', "tests": ["assert ...", ...]' if self.task.needs_tests else "") + '}, ...]} holding '
                     f"exactly {count} varied, correct examples of this skill, each question in the task's format "
                     "and each answer as the student should write it"
                     + (" (a reference solution), with tests that the solution passes and an empty function body "
                        "fails" if self.task.needs_tests else "") + ".")
        return GenerationRequest(prompt="\n".join(lines), system=SYSTEM, json_schema=EXAMPLES_SCHEMA,
                                 schema_name="training_examples", temperature=self.config.temperature,
                                 top_p=self.config.top_p, max_new_tokens=self.config.max_new_tokens,
                                 seed=int(rng.integers(0, 2**31 - 1)))

    def _planned_request(self, count: int, plan: str, rng: np.random.Generator) -> GenerationRequest:
        """A free-form plan is the prompt: the teacher writes ``count`` examples and names each one's skill."""
        lines = [f"Write new training examples for the task '{self.task.name}', following the teacher's plan.",
                 "The plan:", *(f"> {line}" for line in plan.splitlines()),
                 "Skills (give each example one of these names):",
                 *(f"- {s}: {self.task.describe_skill(s)}" for s in self.task.skills),
                 f"Number of examples: {count}",
                 'Reply with a JSON object {"examples": [{"skill": "...", "question": "...", "answer": "..."}, ...]} '
                 f"holding exactly {count} varied, correct examples, each question in the task's format and each "
                 "answer as the student should write it."]
        return GenerationRequest(prompt="\n".join(lines), system=SYSTEM, json_schema=PLANNED_SCHEMA,
                                 schema_name="planned_examples", temperature=self.config.temperature,
                                 top_p=self.config.top_p, max_new_tokens=self.config.max_new_tokens,
                                 seed=int(rng.integers(0, 2**31 - 1)))

    # -- agreement ---------------------------------------------------------------------------------
    def _agreeing(self, candidates: list[TrainingExample], rng: np.random.Generator
                  ) -> tuple[list[TrainingExample], list[RejectedExample]]:
        k = self.config.agreement_samples
        requests = [self._solving_request(self.task.teacher_view(c.example), rng) for c in candidates for _ in range(k)]
        replies = ask_json(self.teacher, self.ledger, ROLE, requests, AnswerReply, max_repairs=self.config.max_repairs)
        kept: list[TrainingExample] = []
        rejected: list[RejectedExample] = []
        for i, candidate in enumerate(candidates):
            answers = [r.value.answer if r.value is not None else None for r in replies[i * k:(i + 1) * k]]
            stated = candidate.example.answer
            if all(a is not None and self.task.answers_equivalent(stated, a) and self.task.answers_equivalent(a, stated)
                   for a in answers):
                kept.append(candidate)
            else:
                rejected.append(RejectedExample(candidate=candidate, reason="disagreement",
                                                detail=f"stated {stated!r}; {k} independent answers: {answers!r}"))
        return kept, rejected

    def _solving_request(self, question: str, rng: np.random.Generator) -> GenerationRequest:
        prompt = (f"Solve this question of the task '{self.task.name}'.\nQuestion: {question}\n"
                  'Reply with a JSON object {"answer": "..."} holding only the final answer, written as the '
                  "task expects it.")
        return GenerationRequest(prompt=prompt, system=SYSTEM, json_schema=ANSWER_SCHEMA, schema_name="answer",
                                 temperature=self.config.solve_temperature, max_new_tokens=self.config.solve_max_new_tokens,
                                 seed=int(rng.integers(0, 2**31 - 1)))


def llm_engine_inside(engine: DataEngine) -> LLMDataEngine | None:
    """The LLM engine that ``engine`` is or wraps (past wrappers with an ``inner`` engine, such as noisy), if any."""
    while not isinstance(engine, LLMDataEngine) and getattr(engine, "inner", None) is not None:
        engine = engine.inner  # type: ignore[attr-defined]
    return engine if isinstance(engine, LLMDataEngine) else None


def with_params(candidate: TrainingExample, params: dict) -> TrainingExample:
    """The candidate tagged with its request's (subskill) parameters; what the task itself read wins."""
    if not params:
        return candidate
    example = candidate.example.model_copy(update={"params": {**params, **candidate.example.params}})
    return candidate.model_copy(update={"example": example})


def unusable(skill: str, reply: JsonReply) -> RejectedExample:
    """A reply that gave no examples, kept (its raw text as the prompt) so the yield is measurable."""
    example = TaskExample(id=f"{ORIGIN}/{skill}/unusable/{content_hash(reply.text or reply.error)}", skill=skill,
                          prompt=reply.text[:4000], answer="")
    return RejectedExample(candidate=TrainingExample(example=example, completion="", origin=ORIGIN),
                           reason="teacher-error" if reply.call_failed else "unparseable",
                           detail=f"{reply.error} (after {reply.attempts} attempt(s))")
