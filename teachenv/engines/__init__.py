"""Engines: text-generation backends (requests → texts + token usage) and data-generation engines
(a teacher's action → candidate training examples). Registered by name; heavy backends are lazy."""

from teachenv.core.registry import backends as _backends
from teachenv.core.registry import engines as _engines

_engines.register("procedural", "teachenv.engines.procedural:ProceduralEngine")
_backends.register("transformers", "teachenv.engines.transformers_backend:TransformersBackend")
_backends.register("vllm", "teachenv.engines.vllm_backend:VLLMBackend")
_backends.register("openai", "teachenv.engines.openai_backend:OpenAIBackend")
_backends.register("scripted", "teachenv.scripted.backend:ScriptedBackend")
