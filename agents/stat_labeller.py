"""STAT's missing-skill labellers: each wrong validation answer → the skill (and subskill) the student lacks.

A labeller sees only what a teacher sees of a wrong answer — the question, the student's answer and the
gold answer (``WrongAnswer``) — never the example's stored parameters, so its labels can be checked
against them (``agreement``). A label is a subskill name as the skill tree writes it
(``add-carry/carries=2``: ``teachenv.envs.subskills.subskill_name``), or the bare skill for a task whose
skills do not split.

- ``ProceduralLabeller``: for the arith world, reads the question (``tasks.arith.diagnosis``).
- ``LLMLabeller``: asks the agent's teacher model, one cached call per wrong answer through the response
  cache, the reply validated against the task's subskill names (``missing_skill`` requests; the scripted
  teacher answers them offline). A reply still unusable after repair leaves the answer unlabelled.

It knows the task and text-backend interfaces, not the environment or any policy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from pydantic import BaseModel, Field

from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import GradedPrediction, Record
from teachenv.engines.base import GenerationRequest, TextBackend
from teachenv.engines.json_reply import ask_json
from teachenv.envs.subskills import subskill_name
from teachenv.tasks.base import GeneratedTask, Task

#: Ledger role of the labeller's calls: a teacher role (``core.ledger.TEACHER_ROLES``), so budgets count them.
ROLE = "policy"
SYSTEM = "You diagnose a student's wrong answers: name the skill each one shows the student is missing. Answer with JSON only."


class WrongAnswer(Record):
    """What a teacher sees of one wrong answer."""

    example_id: str
    question: str
    answer: str
    gold: str


class Label(Record):
    """One wrong answer's label (None: the labeller could not name one) and the slip it shows, if known."""

    example_id: str
    label: str | None
    slip: str = ""


def wrong_answers(predictions: Sequence[GradedPrediction]) -> list[WrongAnswer]:
    """The wrong ones among graded predictions, as a teacher sees them."""
    return [WrongAnswer(example_id=p.example_id, question=p.prompt, answer=p.completion, gold=p.answer)
            for p in predictions if not p.correct]


def subskill_labels(task: Task) -> dict[str, list[str]]:
    """Every label a task's skills can get: its subskill names (a generated world's parameter settings), or the
    skill itself where it does not split."""
    labels = {}
    for skill in task.skills:
        settings = task.subskill_params(skill) if isinstance(task, GeneratedTask) and task.subskill_keys(skill) else []
        labels[skill] = [subskill_name(skill, p) for p in settings] or [skill]
    return labels


def parse_label(label: str) -> tuple[str, dict]:
    """``add-carry/carries=2`` → ("add-carry", {"carries": 2}); a bare skill → (skill, {})."""
    skill, _, rest = label.partition("/")
    params: dict = {}
    for part in filter(None, rest.split(",")):
        key, _, value = part.partition("=")
        params[key] = int(value) if value.lstrip("-").isdigit() else value
    return skill, params


class Labeller(ABC):
    @abstractmethod
    def label(self, wrong: Sequence[WrongAnswer], seed: int) -> list[Label]:
        """One label per wrong answer, in order."""


class ProceduralLabeller(Labeller):
    """The arith world's labeller: the subskill from the question's operands, the slip from the answers."""

    def __init__(self, task: Task) -> None:
        if task.name != "arith":
            raise ConfigError(f"The procedural missing-skill labeller reads arith questions; task {task.name!r} is "
                              "not arith. Set agent.policy.labeller=llm (with agent.teacher).")
        from teachenv.tasks.arith.diagnosis import diagnose

        self._diagnose = diagnose

    def label(self, wrong: Sequence[WrongAnswer], seed: int) -> list[Label]:
        labels = []
        for item in wrong:
            found = self._diagnose(item.question, item.answer, item.gold)
            labels.append(Label(example_id=item.example_id, label=None if found is None else
                                subskill_name(found.skill, found.params) if found.params else found.skill,
                                slip="" if found is None else found.slip))
        return labels


class MissingSkillReply(BaseModel):
    missing_skill: str = Field(min_length=1, max_length=120)


class LLMLabeller(Labeller):
    """The agent's teacher names the missing subskill of each wrong answer, from the task's list of them."""

    def __init__(self, task: Task, teacher: TextBackend | None, ledger: CostLedger | None, max_repairs: int = 1) -> None:
        if teacher is None:
            raise ConfigError("The LLM missing-skill labeller needs a teacher model: set agent.teacher "
                              "(e.g. name: scripted offline), or agent.policy.labeller=procedural on arith.")
        self.task, self.teacher, self.ledger, self.max_repairs = task, teacher, ledger, max_repairs
        self.labels = subskill_labels(task)
        self.known = {name for names in self.labels.values() for name in names}

    def label(self, wrong: Sequence[WrongAnswer], seed: int) -> list[Label]:
        requests = [self._request(item, seed) for item in wrong]
        replies = ask_json(self.teacher, self.ledger, ROLE, requests, MissingSkillReply, max_repairs=self.max_repairs,
                           check=lambda r: None if r.missing_skill.strip() in self.known else
                           f"{r.missing_skill!r} is not one of the listed skills")
        return [Label(example_id=item.example_id,
                      label=reply.value.missing_skill.strip() if reply.value is not None else None)
                for item, reply in zip(wrong, replies, strict=True)]

    def _request(self, item: WrongAnswer, seed: int) -> GenerationRequest:
        lines = [f"A student answered a question of the task '{self.task.name}' wrongly. Name the one skill it is "
                 "missing, from this list:"]
        lines.extend(f"- {name}" for names in self.labels.values() for name in names)
        lines += [f"Student question: {item.question}", f"Student answer: {item.answer}",
                  f"Correct answer: {item.gold}",
                  'Reply with a JSON object {"missing_skill": "<one name from the list>"}.']
        return GenerationRequest(prompt="\n".join(lines), system=SYSTEM,
                                 json_schema=MissingSkillReply.model_json_schema(), schema_name="missing_skill",
                                 temperature=0.0, max_new_tokens=64, seed=seed)


def build_labeller(kind: str, task: Task, teacher: TextBackend | None, ledger: CostLedger | None) -> Labeller:
    return ProceduralLabeller(task) if kind == "procedural" else LLMLabeller(task, teacher, ledger)


def agreement(labels: Sequence[Label], truth: dict[str, str]) -> float | None:
    """Share of labelled-or-not wrong answers whose label equals ``truth[example_id]`` (the subskill of the
    example's stored parameters); None with no wrong answers."""
    if not labels:
        return None
    return sum(label.label == truth.get(label.example_id) for label in labels) / len(labels)


def true_labels(task: Task, examples: Sequence) -> dict[str, str]:
    """The label each evaluation example's stored parameters give it (what the labellers are checked against)."""
    truth = {}
    for example in examples:
        keys = task.subskill_keys(example.skill) if isinstance(task, GeneratedTask) else ()
        params = {k: example.params[k] for k in keys if k in example.params}
        truth[example.id] = subskill_name(example.skill, params) if params else example.skill
    return truth
