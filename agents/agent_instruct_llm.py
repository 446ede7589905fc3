"""The three AgentInstruct stages as calls to the agent's teacher model (``stages: llm``): any text backend,
through the response cache, each reply a JSON object validated (and repaired once) by ``ask_json``:

- ``content_transformation``: a seed (a training question as the teacher sees it, or a document's text)
  → ``{"content"}``, a passage fit for making questions of a skill;
- ``seed_instruction``: a (skill, instruction type) cell of the taxonomy and a content → ``{"question",
  "answer"}``, which the task then verifies;
- ``refinement_suggestion`` (the suggester) → ``{"suggestion"}`` ("none": the question stays), and
  ``refined_instruction`` (the editor) → the rewritten ``{"question", "answer"}``, verified again.

A reply still unusable after repair is counted as the stage's ``unparseable`` rejection. The engine
(``agents.agent_instruct``) runs the stages and logs them; this module knows the task and backend
interfaces, not the environment. The scripted teacher answers every kind (``teachenv.scripted.agent_replies``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from teachenv.agents.agent_instruct_flows import Content
from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import TaskExample, TrainingExample
from teachenv.engines.base import GenerationRequest, TextBackend
from teachenv.engines.json_reply import ask_json
from teachenv.tasks.base import Task

#: Ledger role of every stage's calls: a teacher role (``core.ledger.TEACHER_ROLES``), so budgets count them.
ROLE = "data-engine"
SYSTEM = "You write instruction data that teaches a small language model a skill. Answer with JSON only."
#: Characters of a document passed to the content-transformation stage.
DOCUMENT_CHARS = 4000


class ContentReply(BaseModel):
    content: str = Field(min_length=1, max_length=4000)


class InstructionReply(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=2000)


class SuggestionReply(BaseModel):
    suggestion: str = Field(min_length=1, max_length=500)


class LLMFlows:
    def __init__(self, task: Task, teacher: TextBackend | None, ledger: CostLedger | None) -> None:
        if teacher is None:
            raise ConfigError("agent.engine.stages=llm needs a teacher model: set agent.teacher (name: scripted "
                              "offline), or stages: procedural on arith.")
        self.task, self.teacher, self.ledger = task, teacher, ledger

    def _ask(self, kind: str, lines: list[str], model: type[BaseModel], rng: np.random.Generator) -> Any:
        request = GenerationRequest(prompt="\n".join(lines), system=SYSTEM, json_schema=model.model_json_schema(),
                                    schema_name=kind, temperature=0.7, max_new_tokens=1024,
                                    seed=int(rng.integers(0, 2**31 - 1)))
        return ask_json(self.teacher, self.ledger, ROLE, [request], model)[0].value

    def _skill_lines(self, skill: str) -> list[str]:
        return [f"Skill: {skill}", f"What it covers: {self.task.describe_skill(skill)}"]

    # -- stage 1 ---------------------------------------------------------------------------------
    def _transform(self, source: str, material: str, skill: str | None, log: Any,
                   rng: np.random.Generator) -> Content | None:
        log.made["content"] += 1
        lines = ["Rewrite this seed material as a short passage from which questions of the skill can be made.",
                 *(self._skill_lines(skill) if skill else [f"Task: {self.task.name}"]),
                 "Seed material:", material, 'Reply with a JSON object {"content": "<the passage>"}.']
        reply = self._ask("content_transformation", lines, ContentReply, rng)
        if reply is None:
            log.rejected["content"]["unparseable"] += 1
            return None
        log.kept["content"] += 1
        return Content(source=source, text=reply.content, skill=skill)

    def transform_seeds(self, skill: str, seeds: list[TaskExample], log: Any, rng: np.random.Generator) -> list[Content]:
        found = (self._transform(seed.id, self.task.teacher_view(seed), skill, log, rng) for seed in seeds)
        return [c for c in found if c is not None]

    def transform_documents(self, documents: list[tuple[str, str]], log: Any, rng: np.random.Generator) -> list[Content]:
        found = (self._transform(name, text[:DOCUMENT_CHARS], None, log, rng) for name, text in documents)
        return [c for c in found if c is not None]

    # -- stage 2 ---------------------------------------------------------------------------------
    def instruction(self, content: Content, skill: str, kind: str, rng: np.random.Generator,
                    log: Any) -> TrainingExample | None:
        lines = [f"Write one question of the task '{self.task.name}' and its answer, in the task's own format.",
                 *self._skill_lines(skill), f"Instruction type: {kind}", f"Content: {content.text}",
                 'Reply with a JSON object {"question": "...", "answer": "..."}.']
        reply = self._ask("seed_instruction", lines, InstructionReply, rng)
        if reply is None:
            log.rejected["instructions"]["unparseable"] += 1
            return None
        return self.task.candidate(skill, reply.question, reply.answer, "agentinstruct")

    # -- stage 3 ---------------------------------------------------------------------------------
    def refine(self, seed: TrainingExample, rng: np.random.Generator, log: Any) -> tuple[TrainingExample | None, Any]:
        skill, question = seed.example.skill, self.task.teacher_view(seed.example)
        lines = ["Suggest one change that makes this question harder while it stays a valid question of the skill, "
                 'or "none".', *self._skill_lines(skill), f"Seed question: {question}",
                 'Reply with a JSON object {"suggestion": "..."}.']
        suggestion = self._ask("refinement_suggestion", lines, SuggestionReply, rng)
        if suggestion is None:
            log.rejected["refinement"]["unparseable"] += 1
            return None, None
        if suggestion.suggestion.strip().lower() == "none":
            log.notes["refinement"]["no-harder-setting"] += 1
            return None, None
        lines = ["Rewrite the question following the suggestion; give the new question and its answer.",
                 *self._skill_lines(skill), f"Seed question: {question}", f"Suggestion: {suggestion.suggestion}",
                 'Reply with a JSON object {"question": "...", "answer": "..."}.']
        reply = self._ask("refined_instruction", lines, InstructionReply, rng)
        if reply is None:
            log.rejected["refinement"]["unparseable"] += 1
            return None, suggestion.suggestion
        return self.task.candidate(skill, reply.question, reply.answer, "agentinstruct"), suggestion.suggestion
