"""The three AgentInstruct stages for a generated world, done procedurally (no model): the arith world's
flows. The engine (``agents.agent_instruct``) runs them, validates each one's output and logs it; the LLM
flows (``agents.agent_instruct_llm``) do the same stages through a teacher model.

- content transformation: seed material → ``Content`` (a pair of operands the world can use, and the skill
  of the problem it came from, if any): a training-side question is read as its operands; a document's text
  gives every pair of neighbouring numbers with the world's number of digits;
- seed instruction generation: one question per (content, skill, instruction type), where the types are
  ``from-content`` (the skill's problem on the content's own operands, which may not fit the skill: then
  verification rejects it) and ``fresh-variant`` (a new problem of the skill with the content's subskill
  when the content is of that skill);
- refinement: the world's suggester / editor (``tasks.arith.editors``) — a harder setting of the problem's
  own parameters, realised by the smallest edit of its operands.

It knows the arith world and the task interface, not the environment.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np

from teachenv.core.errors import ConfigError
from teachenv.core.records import Record, TaskExample, TrainingExample
from teachenv.tasks.base import Task

INSTRUCTION_TYPES: tuple[str, ...] = ("from-content", "fresh-variant")
_NUMBER = re.compile(r"(?<![\d.])\d+(?![\d.])")


class Content(Record):
    """Seed material transformed into a form the world's instructions are made from."""

    source: str
    #: The operands a procedural flow reads (None for a teacher's text).
    operands: tuple[int, int] | None = None
    #: The transformed text a teacher model wrote ("" for a procedural flow).
    text: str = ""
    #: The skill of the problem the content was (None for a document's numbers).
    skill: str | None = None


class ArithFlows:
    """The arith world's procedural stages."""

    world: ClassVar[str] = "arith"

    def __init__(self, task: Task) -> None:
        from teachenv.tasks.arith import editors

        self.task = task
        self.editors = editors
        self.digits: int = task.config.digits
        self.settings = {skill: task.subskill_params(skill) for skill in task.skills}

    # -- stage 1 ---------------------------------------------------------------------------------
    def transform_question(self, source: str, question: str) -> Content | None:
        problem = self.editors.problem_of(question)
        if problem is None:
            return None
        return Content(source=source, operands=(problem.a, problem.b), skill=problem.skill)

    def transform_document(self, source: str, text: str) -> tuple[list[Content], int]:
        """Contents of a document's neighbouring numbers, and how many numbers were out of the world's range."""
        numbers = [int(n) for n in _NUMBER.findall(text)]
        fit = [n for n in numbers if len(str(n)) == self.digits]
        contents = [Content(source=f"{source}#{i}", operands=(a, b)) for i, (a, b) in enumerate(zip(fit[::2], fit[1::2]))]
        return contents, len(numbers) - len(fit)

    # -- stage 2 ---------------------------------------------------------------------------------
    def instruct(self, content: Content, skill: str, kind: str, rng: np.random.Generator) -> str | None:
        a, b = content.operands
        if kind == "from-content":
            if skill == "mul":
                b = 2 + b % 8
            elif skill == "sub":
                a, b = max(a, b), min(a, b)
            symbol = {"add": "+", "add-carry": "+", "sub": "-", "mul": "*"}.get(skill)
            return f"{a}{symbol}{b}=" if symbol else f"max({a},{b})="
        params = None
        if content.skill == skill:
            problem = self.editors.problem_of(self._question(content))
            params = {k: problem.params[k] for k in self.task.subskill_keys(skill)} if problem else None
        made = self.task.generate(skill, 1, rng, params)
        return made[0].example.prompt if made else None

    @staticmethod
    def _question(content: Content) -> str:
        a, b = content.operands
        return {"add": f"{a}+{b}=", "add-carry": f"{a}+{b}=", "sub": f"{a}-{b}=", "mul": f"{a}*{b}="}.get(
            content.skill or "", f"max({a},{b})=")

    # -- stage 3 ---------------------------------------------------------------------------------
    def suggest(self, question: str) -> list[dict]:
        problem = self.editors.problem_of(question)
        return self.editors.suggest(question, self.settings.get(problem.skill, [])) if problem else []

    def edit(self, question: str, suggestion: dict, rng: np.random.Generator) -> str | None:
        return self.editors.edit(question, suggestion, self.digits, self.task.config.holdout, rng)

    # -- the stages as the engine calls them (``log``: the engine's ``StageLog``) ------------------
    def transform_seeds(self, skill: str, seeds: list[TaskExample], log: Any, rng: np.random.Generator) -> list[Content]:
        contents = []
        for seed in seeds:
            log.made["content"] += 1
            content = self.transform_question(seed.id, seed.prompt)
            if content is None:
                log.rejected["content"]["unparseable"] += 1
                continue
            log.kept["content"] += 1
            contents.append(content)
        return contents

    def transform_documents(self, documents: list[tuple[str, str]], log: Any, rng: np.random.Generator) -> list[Content]:
        contents = []
        for name, text in documents:
            found, out_of_range = self.transform_document(name, text)
            log.made["content"] += len(found) + out_of_range
            log.kept["content"] += len(found)
            if out_of_range:
                log.rejected["content"]["out-of-range"] += out_of_range
            if not found:
                log.rejected["content"]["no-numbers"] += 1
            contents.extend(found)
        return contents

    def instruction(self, content: Content, skill: str, kind: str, rng: np.random.Generator,
                    log: Any) -> TrainingExample | None:
        question = self.instruct(content, skill, kind, rng)
        if question is None:
            log.notes["instructions"]["no-such-problem"] += 1
            return None
        answer = self.task.solve(question) or ""
        return self.task.candidate(skill, question, answer, "agentinstruct")

    def refine(self, seed: TrainingExample, rng: np.random.Generator, log: Any) -> tuple[TrainingExample | None, Any]:
        suggestions = self.suggest(seed.example.prompt)
        if not suggestions:
            log.notes["refinement"]["no-harder-setting"] += 1
            return None, None
        edited = self.edit(seed.example.prompt, suggestions[0], rng)
        if edited is None:
            log.notes["refinement"]["editor-found-no-edit"] += 1
            return None, suggestions[0]
        return self.task.candidate(seed.example.skill, edited, self.task.solve(edited) or "", "agentinstruct"), suggestions[0]


FLOWS = {"arith": ArithFlows}


def procedural_flows(task: Task) -> ArithFlows:
    if task.name not in FLOWS:
        raise ConfigError(f"AgentInstruct's procedural stages exist for {sorted(FLOWS)}, not task {task.name!r}: set "
                          "agent.engine.stages=llm (with agent.teacher).")
    return FLOWS[task.name](task)
