"""``LocalTeacherBackend`` (``local-teacher``): a causal LM at any local path or Hub id, in-process through
``transformers``, that can be aligned — the GPU counterpart of the tiny teacher for loops whose teacher learns
(LbT M2 through ``agents.lbt``).

It is the ``transformers`` backend (chat-template prompts: the LLM engine's normal requests, not the tiny
teacher's compact form) plus the shared LoRA-adapter handling (``teachenv.teacher.adapters``): ``adapter``
(a folder ``align_teacher`` wrote) is sampled instead of the base; ``identity()`` holds the adapter's content
hash, so the response cache never hands an aligned teacher the base's samples; ``preference_text`` gives a
DPO pair the chat-rendered writing request and the JSON reply the engine parses. Switching adapters reloads
the base from its path (seconds for a 7B model on a GPU, once a round). It knows nothing about DPO or tasks.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from teachenv.engines.base import GenerationRequest
from teachenv.engines.transformers_backend import TransformersBackend, TransformersBackendConfig
from teachenv.teacher.adapters import AdapterTeacher

NAME = "local-teacher"


class LocalTeacherConfig(TransformersBackendConfig):
    """Options of ``local-teacher``: the ``transformers`` backend's, and the adapter to sample."""

    adapter: str | None = Field(None, description="A LoRA adapter folder to sample instead of the base teacher.")


class LocalTeacherBackend(AdapterTeacher, TransformersBackend):
    Config = LocalTeacherConfig

    @classmethod
    def from_config(cls, config: Any) -> LocalTeacherBackend:
        backend = cls.from_pretrained(config.model, batch_size=config.batch_size, device=config.device,
                                      dtype=config.dtype,
                                      prompt_format="chat-template" if config.chat_template else "system-line")
        backend.config = config
        if config.adapter is not None:
            backend.load_adapter(config.adapter)
        return backend

    def fresh_base(self) -> Any:
        """A new copy of the base model from its path, on the configured device and dtype."""
        import torch
        from transformers import AutoModelForCausalLM

        from teachenv.core.model_store import load_pretrained

        return load_pretrained(AutoModelForCausalLM, self.config.model,
                               dtype=getattr(torch, self.config.dtype)).to(self.config.device)

    def identity(self) -> dict[str, Any]:
        return {"model": self.model_name, "adapter": self.adapter_id}

    def preference_text(self, request: GenerationRequest, question: str, answer: str) -> tuple[str, str]:
        """(prompt, completion) of an example written for ``request`` as the model sees it: the rendered request
        and the JSON reply the LLM engine parses."""
        templated = self.prompt_format == "chat-template" and bool(getattr(self.tokenizer, "chat_template", None))
        reply = json.dumps({"examples": [{"question": question, "answer": answer}]})
        return self._render(request, templated), reply
