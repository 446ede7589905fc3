"""``TinyTeacherBackend`` (``tiny-teacher``): the tiny teacher LM behind the ``TextBackend`` interface, so
the LLM data engine, verification and the response cache all apply to it.

The LLM engine's full instruction prompt is far too long for a tiny LM, so the backend reads the two
lines it needs from a writing request (``Skill: <skill>`` and ``Number of examples: <n>``), samples n
completions of the compact prompt the teacher was trained on (``tiny_teacher.teacher_prompt``) with the
request's temperature, top-p and seed, and answers with the JSON the engine asked for
(``{"examples": [{"question", "answer"}]}``). The engine parses and verifies that reply as it would any
teacher's; a sample not in the trained format goes in as given (question = the raw text, answer ``?``) so
that verification rejects it and the yield shows it. A request that is not a writing request (a policy's
or a solving prompt) gets an ``error`` result: this teacher only writes examples.

``identity()`` holds the teacher's build (its cache directory's content hash) and the content hash of the
LoRA adapter it samples (``base`` when none), so an aligned teacher never receives the unaligned one's
cached samples. ``load_adapter(path)`` switches to another adapter (``teacher_dpo.align_teacher`` calls
it). It knows nothing about DPO or the environment.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.config import TaskSpec
from teachenv.core.errors import ConfigError
from teachenv.engines.base import GenerationRequest, GenerationResult, TextBackend
from teachenv.scripted.tiny_teacher import (
    TinyTeacherRecipe,
    load_or_build_teacher,
    parse_completion,
    teacher_path,
    teacher_prompt,
)
from teachenv.tasks.base import GeneratedTask

_SKILL = re.compile(r"^Skill: (.+)$", re.MULTILINE)
_COUNT = re.compile(r"^Number of examples: (\d+)$", re.MULTILINE)
#: Tokens of one sampled example (question + answer), enough for the arith world's longest.
MAX_EXAMPLE_TOKENS = 32


class TinyTeacherConfig(BaseModel):
    """Options of the ``tiny-teacher`` backend (``agent.teacher`` with ``name: tiny-teacher``)."""

    model_config = ConfigDict(extra="forbid")
    task: TaskSpec | None = Field(
        None, description="The generated world the teacher is built from (default: the run's task).")
    recipe: TinyTeacherRecipe = Field(default_factory=TinyTeacherRecipe)
    adapter: str | None = Field(None, description="A LoRA adapter directory to sample (None = the base teacher).")
    batch_size: int = Field(64, ge=1)


class TinyTeacherBackend(TextBackend):
    """Samples the tiny teacher (base, or base + the loaded LoRA adapter)."""

    Config = TinyTeacherConfig

    def __init__(self, model: Any, tokenizer: Any, *, build: str, batch_size: int = 64) -> None:
        self.base = model
        self.model = model
        self.tokenizer = tokenizer
        self.build = build
        self.batch_size = batch_size
        self.adapter_hash: str | None = None
        self.adapter_path: Path | None = None
        self.model_name = "tiny-teacher"

    @classmethod
    def build_for(cls, task: GeneratedTask, recipe: TinyTeacherRecipe | None = None, *,
                  batch_size: int = 64) -> TinyTeacherBackend:
        """The teacher of ``task`` for ``recipe``: from the model store, or built now (seconds to minutes)."""
        recipe = recipe or TinyTeacherRecipe()
        model, tokenizer = load_or_build_teacher(recipe, task)
        return cls(model, tokenizer, build=teacher_path(recipe, task).name, batch_size=batch_size)

    @classmethod
    def from_config(cls, config: Any) -> TinyTeacherBackend:
        from teachenv.scripted.backend import world

        task = world(config.task)
        if task is None:
            raise ConfigError("agent.teacher.task must name a generated world (e.g. name: arith) for tiny-teacher.")
        backend = cls.build_for(task, config.recipe, batch_size=config.batch_size)
        if config.adapter is not None:
            backend.load_adapter(Path(config.adapter))
        return backend

    # -- adapter -----------------------------------------------------------------------------------
    def load_adapter(self, path: Path | None) -> None:
        """Sample base + the LoRA adapter saved in ``path`` from now on (None: the base teacher)."""
        if path is not None and not (path / "adapter_config.json").is_file():
            raise ConfigError(f"{path} holds no LoRA adapter (no adapter_config.json); pass a directory that "
                              "align_teacher or save_pretrained wrote.")
        if self.model is not self.base:
            # PEFT injects LoRA layers into the base in place: take them out, base weights untouched.
            self.base = self.model.unload()
        self.model, self.adapter_hash, self.adapter_path = self.base, None, None
        if path is None:
            return
        from peft import PeftModel

        self.model = PeftModel.from_pretrained(self.base, str(path), is_trainable=False)
        self.model.eval()
        self.adapter_hash = adapter_hash(path)
        self.adapter_path = path

    def identity(self) -> dict[str, Any]:
        return {"model": self.model_name, "build": self.build, "adapter": self.adapter_hash or "base"}

    # -- generation --------------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        from teachenv.engines.transformers_backend import TransformersBackend

        sampler = TransformersBackend(self.model, self.tokenizer, batch_size=self.batch_size, model_name=self.model_name)
        results = []
        for request in requests:
            skill, count = _SKILL.search(request.prompt), _COUNT.search(request.prompt)
            if skill is None or count is None:
                results.append(GenerationResult(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error",
                                                error="tiny-teacher only writes examples: the request has no "
                                                      "'Skill:' and 'Number of examples:' lines"))
                continue
            compact = GenerationRequest(prompt=teacher_prompt(skill.group(1).strip()), temperature=request.temperature,
                                        top_p=request.top_p, seed=request.seed, max_new_tokens=MAX_EXAMPLE_TOKENS)
            samples = sampler.generate([compact] * int(count.group(1)))
            items = [dict(zip(("question", "answer"), parse_completion(s.text) or (s.text.strip() or "?", "?")))
                     for s in samples]
            results.append(GenerationResult(text=json.dumps({"examples": items}),
                                            prompt_tokens=sum(s.prompt_tokens for s in samples),
                                            completion_tokens=sum(s.completion_tokens for s in samples)))
        return results


def adapter_hash(path: Path) -> str:
    """Content hash of an adapter directory's weights and config (what decides its samples)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.iterdir() if p.is_file() and p.name.startswith("adapter_")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]
