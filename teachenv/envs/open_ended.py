"""The open-ended environment (DataEnvGym's open-ended structure) as a ``gymnasium.Env``.

Observation: a sample of the student's validation errors (question as the teacher reads it, the
student's answer, the gold answer, the skill), the overall validation accuracy, the round and the
share of each budget left — no per-skill accuracy. Action: a free-form data-generation plan, as
text (a gymnasium ``Text`` space over printable ASCII) or as a typed ``Plan`` record (or a
``DataGenerationAction``). The agent's engine reads the text (``DataEngine.read_plan``: the
procedural engine understands the plan grammar of ``teachenv.core.plan``; an LLM engine takes the
plan as its prompt). A plan the engine cannot use is a recorded no-op round (``plan_error`` in the
log), never a crash.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from gymnasium import spaces
from pydantic import Field

from teachenv.core.errors import InvalidActionError
from teachenv.core.ledger import BUDGET_NAMES
from teachenv.core.plan import ANY_SKILL, Plan, PlanError
from teachenv.core.records import DataGenerationAction, Record, SkillRequest
from teachenv.envs.skill_list import MAX_COUNT
from teachenv.envs.state import RoundState
from teachenv.envs.teaching_env import TeachingEnv
from teachenv.envs.text_space import PRINTABLE, printable

#: Characters of an error's question shown to the teacher (a shapes scene specification takes ~300).
QUESTION_CHARS = 800
#: Characters of an error's student and gold answers shown.
ANSWER_CHARS = 200


class ErrorSample(Record):
    question: str = Field(description="The question as the teacher reads it (``Task.teacher_view``).")
    student_answer: str
    gold_answer: str
    skill: str | None = None

    def to_line(self) -> str:
        skill = f"[{self.skill}] " if self.skill else ""
        return (f"- {skill}question: {_one_line(self.question)} | student: {_one_line(self.student_answer)} | "
                f"gold: {_one_line(self.gold_answer)}")


class OpenEndedState(RoundState):
    errors: tuple[ErrorSample, ...] = Field(description="A sample of this round's validation errors.")
    val_errors: int = Field(description="Validation questions the student got (at least partly) wrong.")
    val_questions: int
    plan_max_chars: int = Field(description="Longest plan text the action space holds.")

    def skill_scores(self) -> dict[str, float]:
        """1 - the skill's share of the sampled errors: the skill with the most errors shown ranks lowest."""
        counts = Counter(e.skill for e in self.errors)
        return {s: 1.0 - counts[s] / max(1, len(self.errors)) for s in self.skills}

    def to_action(self, counts: np.ndarray) -> Plan:
        return Plan(requests=tuple(SkillRequest(skill=s, count=int(c)) for s, c in zip(self.skills, counts) if c > 0))

    def errors_text(self) -> str:
        return "\n".join(e.to_line() for e in self.errors)

    def to_text(self) -> str:
        lines = [*self.header_lines(), f"Skills: {', '.join(self.skills)}",
                 f"Validation errors: {self.val_errors} of {self.val_questions} questions wrong; "
                 f"a sample of {len(self.errors)}:"]
        return "\n".join([*lines, self.errors_text() or "(none)", *self.budget_line()])


class OpenEndedEnv(TeachingEnv[dict[str, Any], str | Plan | DataGenerationAction]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors_shown = self.config.env.errors_shown
        self.error_chars = self.errors_shown * (QUESTION_CHARS + 2 * ANSWER_CHARS + 64)
        self.action_space = spaces.Text(max_length=self.config.env.plan_max_chars, min_length=0, charset=PRINTABLE)
        self.observation_space = spaces.Dict({
            "val_accuracy": spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32),
            "val_errors": spaces.Box(0, MAX_COUNT, shape=(1,), dtype=np.int64),
            "errors": spaces.Text(max_length=self.error_chars, min_length=0, charset=PRINTABLE),
            "round": spaces.Discrete(self.max_rounds + 1),
            "budget_left": spaces.Box(0.0, 1.0, shape=(len(BUDGET_NAMES),), dtype=np.float32),
        })

    def to_generation_action(self, action: Any) -> DataGenerationAction:
        if isinstance(action, DataGenerationAction):
            unknown = sorted({r.skill for r in action.requests} - {*self.skills, ANY_SKILL})
            if unknown:
                raise InvalidActionError(f"Action requests unknown skills {unknown}; skills are {list(self.skills)}.")
            return action
        if isinstance(action, Plan):
            return self.to_generation_action(DataGenerationAction(requests=action.requests, plan=action.to_text()))
        if not isinstance(action, str):
            raise InvalidActionError(f"Action must be a plan: a str, a teachenv Plan or a DataGenerationAction, "
                                     f"got {type(action).__name__}.")
        if not self.action_space.contains(action):
            bad = sorted({c for c in action if c not in PRINTABLE})[:5]
            raise InvalidActionError(
                f"Plan text is outside the action space: at most {self.action_space.max_length} characters "
                f"(env.plan_max_chars; got {len(action)}) of printable ASCII"
                + (f" (got {''.join(bad)!r})" if bad else "") + "."
            )
        try:
            requests = self.engine.read_plan(action)
        except PlanError as exc:
            return DataGenerationAction(plan=action, plan_error=str(exc))
        return DataGenerationAction(requests=requests, plan=action)

    def state(self) -> OpenEndedState:
        wrong = [p for p in self.val_predictions if p.credit < 1.0]
        rng = np.random.default_rng([self.np_random_seed or 0, self._round or 0])
        shown = sorted(rng.choice(len(wrong), size=min(self.errors_shown, len(wrong)), replace=False)) if wrong else []
        errors = []
        for i in shown:
            prediction = wrong[i]
            example = self.val_examples.get(prediction.example_id)
            question = self.task.teacher_view(example) if example is not None else prediction.prompt
            errors.append(ErrorSample(question=question[:QUESTION_CHARS],
                                      student_answer=prediction.completion.strip()[:ANSWER_CHARS],
                                      gold_answer=prediction.answer[:ANSWER_CHARS], skill=prediction.skill))
        return OpenEndedState(**self.common_state(), errors=tuple(errors), val_errors=len(wrong),
                              val_questions=len(self.val_predictions), plan_max_chars=self.action_space.max_length)

    def observation(self, state: OpenEndedState) -> dict[str, Any]:
        return {
            "val_accuracy": np.array([state.val_accuracy], dtype=np.float32),
            "val_errors": np.array([state.val_errors], dtype=np.int64),
            "errors": printable(state.errors_text(), self.error_chars),
            "round": int(state.round),
            "budget_left": np.array([state.budget_left[n] for n in BUDGET_NAMES], dtype=np.float32),
        }


def _one_line(text: str) -> str:
    return " ".join(text.split())
