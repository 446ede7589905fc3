"""Engines: text-generation backends (requests → texts + token usage), registered by name; heavy
backends are lazy. (Data-generation engines are agents' components: ``teachenv.agents``.)"""

from teachenv.core.registry import backends as _backends

_backends.register("transformers", "teachenv.engines.transformers_backend:TransformersBackend")
_backends.register("vllm", "teachenv.engines.vllm_backend:VLLMBackend")
_backends.register("openai", "teachenv.engines.openai_backend:OpenAIBackend")
_backends.register("scripted", "teachenv.scripted.backend:ScriptedBackend")
_backends.register("tiny-teacher", "teachenv.teacher.backend:TinyTeacherBackend")
_backends.register("local-teacher", "teachenv.teacher.local:LocalTeacherBackend")
