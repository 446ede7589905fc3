"""``ScriptedBackend``: the ``scripted`` text backend — ``OpenAIBackend`` pointed at its own
``ScriptedTeacherServer``, so the whole LLM path (HTTP, the ``openai`` client, retries, JSON
parsing) runs offline with no model.

It owns the server's lifetime (started when built, stopped by ``close``) and needs a
``GeneratedTask``, whose generator and solver play the teacher. It knows nothing about what the
replies mean beyond what ``ScriptedTeacher`` does.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from teachenv.core.errors import ConfigError
from teachenv.engines.openai_backend import OpenAIBackend, OpenAIBackendConfig
from teachenv.scripted.brain import BRAIN_VERSION, ScriptedTeacher
from teachenv.scripted.server import ScriptedTeacherServer
from teachenv.tasks.base import GeneratedTask, Task


class ScriptedBackendConfig(OpenAIBackendConfig):
    """Options of the ``scripted`` backend: the ``openai`` ones (``base_url`` stays unset: the
    backend serves itself) plus the scripted teacher's imperfections."""

    model: str = Field("scripted-teacher", description="Model name sent with every request.")
    malformed_rate: float = Field(0.05, ge=0, le=1, description="Share of JSON replies cut in half (not parseable).")
    wrong_rate: float = Field(0.02, ge=0, le=1, description="Share of generated examples given a wrong answer.")
    seed: int = Field(0, description="Seed of the scripted teacher's choices (with each request's own seed).")


class ScriptedBackend(OpenAIBackend):
    """An ``OpenAIBackend`` talking to a scripted teacher server it starts for ``task``."""

    Config = ScriptedBackendConfig

    def __init__(self, config: ScriptedBackendConfig, task: GeneratedTask) -> None:
        if config.base_url is not None:
            raise ConfigError(f"agent.teacher.base_url={config.base_url!r}: the scripted backend serves itself; "
                              "remove base_url, or use name: openai to reach a real server.")
        brain = ScriptedTeacher(task, malformed_rate=config.malformed_rate, wrong_rate=config.wrong_rate,
                                seed=config.seed)
        self._brain_settings = {"malformed_rate": config.malformed_rate, "wrong_rate": config.wrong_rate,
                                "seed": config.seed, "version": BRAIN_VERSION}
        self.server = ScriptedTeacherServer(brain, model=config.model).start()
        try:
            super().__init__(config, base_url=self.server.url, api_key="scripted")
        except BaseException:
            self.server.stop()
            raise

    @classmethod
    def from_config(cls, config: Any, task: Task) -> ScriptedBackend:
        if not isinstance(task, GeneratedTask):
            raise ConfigError(
                f"agent.teacher.name='scripted' needs a generated task (one that can generate and solve its own "
                f"problems, such as 'arith'); task {getattr(task, 'name', type(task).__name__)!r} is not one. "
                "Use a generated task, or a real teacher (name: openai or vllm)."
            )
        return cls(config, task)

    def identity(self) -> dict[str, Any]:
        """The brain's settings and version, not the server's port (a new one each run): re-runs hit
        the cache, a changed brain does not."""
        return {"model": self.model_name, "scripted": self._brain_settings}

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.server.stop()
