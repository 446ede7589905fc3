"""``TinyTeacherBackend`` (``tiny-teacher``): the tiny teacher LM behind the ``TextBackend`` interface,
so the LLM data engine (``engine: llm``), its JSON parsing and repairs, the task's verification and
the response cache all apply to it unchanged.

The tiny LM cannot read the engine's long instruction prompt, so the backend reads the two kinds of
request the engine sends and turns each into the compact form the teacher was trained on
(``teachenv.teacher.model``): a *writing* request (lines ``Skill:``, optional ``Parameters:`` and
``Number of examples:``) becomes that many sampled ``W <skill> k=v|`` completions, returned as the
JSON ``{"examples": [{"question", "answer"}]}`` the engine parses; a *solving* request (a
``Question:`` line) becomes one ``S|<question>`` completion, returned as ``{"answer": ...}``. Any other
request (a policy's plan, skill discovery, a free-form plan) is answered with an ``error`` naming the
fix, never a crash. Sampling follows the request's temperature, top-p and seed.

``identity()`` (the response cache's key) holds the cached base model's folder name (its content
hash) and the content hash of the LoRA adapter being sampled (``"base"`` when none), so an aligned
teacher never receives the unaligned teacher's cached samples. ``load_adapter`` switches adapters and
``trainable_model`` gives alignment a fresh PEFT copy to train (``teachenv.teacher.adapters``);
``preference_text`` writes a drafted example in the compact form the teacher is prompted with (for
preference pairs). It knows nothing about DPO.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.config import TaskSpec
from teachenv.core.errors import ConfigError
from teachenv.engines.base import GenerationRequest, GenerationResult, TextBackend
from teachenv.teacher.adapters import AdapterTeacher, adapter_hash  # noqa: F401 (adapter_hash: re-exported)
from teachenv.teacher.model import TinyTeacherRecipe, sample, solving_prompt, split_example, writing_prompt

_SKILL = re.compile(r"^\s*Skill:\s*(.+?)\s*$", re.MULTILINE)
_COUNT = re.compile(r"^\s*Number of examples:\s*(\d+)", re.MULTILINE)
_PARAMS = re.compile(r"^\s*Parameters:\s*(.+?)\s*$", re.MULTILINE)
_QUESTION = re.compile(r"^\s*Question:\s*(.+?)\s*$", re.MULTILINE)
NAME = "tiny-teacher"


class TinyTeacherConfig(BaseModel):
    """Options of the ``tiny-teacher`` backend (``agent.teacher`` with ``name: tiny-teacher``)."""

    model_config = ConfigDict(extra="forbid")
    task: TaskSpec | None = Field(None, description="The generated world it writes for (default: the run's task).")
    recipe: TinyTeacherRecipe = Field(default_factory=TinyTeacherRecipe, description="How the teacher is built.")
    adapter: str | None = Field(None, description="A LoRA adapter folder to sample instead of the base teacher.")
    batch_size: int = Field(256, ge=1)
    max_new_tokens: int = Field(24, ge=4, description="Cap per compact completion (requests ask for more).")


class TinyTeacherBackend(AdapterTeacher, TextBackend):
    Config = TinyTeacherConfig
    model_name = NAME
    #: It writes from the request's skill tag (and parameters) alone; the rest of the prompt is not read.
    reads_prompt = False

    def __init__(self, config: TinyTeacherConfig, task: Any) -> None:
        from teachenv.tasks.base import GeneratedTask
        from teachenv.teacher.model import load_or_build_teacher

        if not isinstance(task, GeneratedTask):
            raise ConfigError(f"tiny-teacher writes for a generated world (arith, shapes), not {type(task).__name__}; "
                              "set task.name to one, or use another agent.teacher.")
        self.config, self.task = config, task
        self.base_path, self.model, self.tokenizer = load_or_build_teacher(config.recipe, task)
        self.adapter_path: Path | None = None
        self.adapter_id = "base"
        if config.adapter is not None:
            self.load_adapter(config.adapter)

    @classmethod
    def from_config(cls, config: Any) -> TinyTeacherBackend:
        from teachenv.scripted.backend import world

        if config.task is None:
            raise ConfigError("tiny-teacher needs a task: set agent.teacher.task (or run it inside an environment).")
        return cls(config, world(config.task))

    # -- weights -----------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        return {"model": NAME, "base": self.base_path.name, "adapter": self.adapter_id}

    def fresh_base(self) -> Any:
        """A new copy of the base teacher (from its cache folder), untouched by any adapter."""
        from teachenv.student.tiny_model import load_tiny

        return load_tiny(self.base_path)[0]

    def preference_text(self, request: GenerationRequest, question: str, answer: str) -> tuple[str, str]:
        """(prompt, completion) of an example written for the engine's writing ``request``, as the teacher
        is trained on it: the compact writing prompt and ``<question><answer>`` (what a DPO pair holds)."""
        skill, params = writing_parts(request.prompt)
        return writing_prompt(skill, params), question + answer

    # -- generation --------------------------------------------------------------------------------
    def sample(self, prompts: Sequence[str], *, temperature: float, top_p: float = 1.0, seed: int | None = 0,
               max_new_tokens: int | None = None) -> list[GenerationResult]:
        """One completion per compact prompt, sampled in one seeded batch group."""
        cap = min(max_new_tokens or self.config.max_new_tokens, self.config.max_new_tokens)
        return sample(self.model, self.tokenizer, prompts, temperature=temperature, top_p=top_p, seed=seed,
                      max_new_tokens=cap, batch_size=self.config.batch_size)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return [self._answer(r) for r in requests]

    def _answer(self, request: GenerationRequest) -> GenerationResult:
        prompt = request.prompt
        skill, count, question = _SKILL.search(prompt), _COUNT.search(prompt), _QUESTION.search(prompt)
        sampling = {"temperature": request.temperature, "top_p": request.top_p, "seed": request.seed}
        if skill and count:
            compact = [writing_prompt(*writing_parts(prompt))] * int(count.group(1))
            results = self.sample(compact, **sampling)
            items = [dict(zip(("question", "answer"), split_example(r.text), strict=True)) for r in results]
            text = json.dumps({"examples": [{k: v or "?" for k, v in item.items()} for item in items]})
        elif question:
            results = self.sample([solving_prompt(question.group(1))], **sampling)
            text = json.dumps({"answer": results[0].text.strip() or "?"})
        else:
            return GenerationResult(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error",
                                    error="tiny-teacher only writes examples (a 'Skill:' + 'Number of examples:' "
                                          "request) and solves questions (a 'Question:' line), as engine 'llm' asks; "
                                          "use a policy and skill list that need no teacher LM, or another backend.")
        return GenerationResult(text=text, prompt_tokens=sum(r.prompt_tokens for r in results),
                                completion_tokens=sum(r.completion_tokens for r in results))


def writing_parts(prompt: str) -> tuple[str, dict[str, str]]:
    """(skill, parameters) of the LLM engine's writing request (its ``Skill:`` and ``Parameters:`` lines)."""
    skill, listed = _SKILL.search(prompt), _PARAMS.search(prompt)
    if skill is None:
        raise ConfigError("tiny-teacher: a writing request without a 'Skill:' line; the LLM engine writes one.")
    params = dict(kv.split("=", 1) for kv in listed.group(1).split() if "=" in kv) if listed else {}
    return skill.group(1), params
