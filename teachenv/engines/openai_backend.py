"""``OpenAIBackend``: any OpenAI-compatible chat-completions endpoint, through the ``openai`` client.

One request → one chat completion (an optional system message, then the prompt as the user
message), sent from a thread pool of ``max_concurrency`` workers; results come back in the order
of the requests. A JSON schema on a request becomes ``response_format`` (structured output) unless
``structured_output`` is off, in which case the caller describes the schema in the prompt.

Retries are ours, not the client's (it is built with ``max_retries=0``), so that they are counted
and the backoff is the documented one: HTTP 429, 5xx, connection errors and timeouts are retried
with exponential backoff (``backoff_seconds`` doubled per retry, capped at 30 s; a ``Retry-After``
header wins when present); other 4xx are not. A call that still fails becomes a result with
``finish_reason="error"`` and the reason in ``error`` — a failed call is data, never an exception,
so an episode does not crash on a flaky server.

It knows nothing about tasks, prompts or what the replies mean; ``openai`` and ``httpx`` are
imported only when a backend is built.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from teachenv.engines.base import GenerationRequest, GenerationResult, TextBackend

if TYPE_CHECKING:
    import openai


#: Longest wait between two tries, whatever the backoff or the server's Retry-After says.
MAX_BACKOFF_SECONDS = 30.0


class OpenAIBackendConfig(BaseModel):
    """Options of the ``openai`` backend (``agent.teacher`` with ``name: openai``)."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(description="Model name sent with every request (e.g. what `vllm serve` was given).")
    base_url: str | None = Field(
        None, description="Server URL ending in /v1 (default: env OPENAI_BASE_URL, else the client's default)."
    )
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="Name of the environment variable holding the API key; if it is unset the "
        "key 'EMPTY' is sent, which local servers such as `vllm serve` accept."
    )
    max_concurrency: int = Field(8, ge=1, description="Requests in flight at once.")
    timeout_seconds: float = Field(60, gt=0, description="Timeout of one HTTP call.")
    max_retries: int = Field(4, ge=0, description="Retries of a call after a 429, 5xx, connection error or timeout.")
    backoff_seconds: float = Field(
        1.0, ge=0, description="Wait before the first retry; doubled per retry, capped at 30 s (Retry-After wins)."
    )
    structured_output: bool = Field(
        True, description="Send a request's JSON schema as response_format; if False the caller describes it in the "
        "prompt (for servers without structured output)."
    )
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Extra JSON fields sent with every request (e.g. vLLM's top_k)."
    )


class OpenAIBackend(TextBackend):
    """Chat completions from an OpenAI-compatible server, ``max_concurrency`` at a time."""

    Config = OpenAIBackendConfig

    def __init__(self, config: OpenAIBackendConfig, *, base_url: str | None = None,
                 api_key: str | None = None) -> None:
        """``base_url`` / ``api_key`` override the config (used by backends that run their own server)."""
        import openai

        self.config = config
        self.model_name = config.model
        self.retries = 0
        self.failures = 0
        self._counter_lock = threading.Lock()
        self.client = openai.OpenAI(
            base_url=base_url or config.base_url or os.environ.get("OPENAI_BASE_URL") or None,
            api_key=api_key or os.environ.get(config.api_key_env) or "EMPTY",
            max_retries=0,
            timeout=config.timeout_seconds,
        )

    @classmethod
    def from_config(cls, config: Any) -> OpenAIBackend:
        return cls(config)

    @property
    def base_url(self) -> str:
        return str(self.client.base_url).rstrip("/")

    def identity(self) -> dict[str, Any]:
        return {"model": self.config.model, "base_url": self.base_url}

    def close(self) -> None:
        self.client.close()

    # -- generation ----------------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        workers = min(self.config.max_concurrency, len(requests))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-backend") as pool:
            return list(pool.map(self._call_with_retries, requests))

    def _call_with_retries(self, request: GenerationRequest) -> GenerationResult:
        import openai

        kwargs = self._request_kwargs(request)
        for attempt in range(self.config.max_retries + 1):
            try:
                response = self.client.chat.completions.create(**kwargs)
            except openai.APIError as exc:  # every failure the client reports; bugs still raise
                if not _retryable(exc) or attempt == self.config.max_retries:
                    return self._failed(_describe(exc, self.config.timeout_seconds))
                with self._counter_lock:
                    self.retries += 1
                time.sleep(self._wait_seconds(exc, attempt))
                continue
            return self._result(response)
        raise AssertionError("unreachable: the last attempt returns")  # pragma: no cover

    def _request_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "messages": request.chat_messages(),
            "max_tokens": request.max_new_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.json_schema is not None and self.config.structured_output:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.json_schema, "strict": False},
            }
        if self.config.extra_body:
            kwargs["extra_body"] = dict(self.config.extra_body)
        return kwargs

    def _result(self, response: Any) -> GenerationResult:
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage is not None else 0
        completion_tokens = usage.completion_tokens if usage is not None else 0
        if not response.choices:
            with self._counter_lock:
                self.failures += 1
            return GenerationResult(text="", prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                                    finish_reason="error", error="the server replied with no choices")
        choice = response.choices[0]
        return GenerationResult(text=choice.message.content or "", prompt_tokens=prompt_tokens,
                                completion_tokens=completion_tokens, finish_reason=choice.finish_reason or "stop")

    def _failed(self, reason: str) -> GenerationResult:
        with self._counter_lock:
            self.failures += 1
        return GenerationResult(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error", error=reason)

    def _wait_seconds(self, exc: openai.APIError, attempt: int) -> float:
        retry_after = _retry_after_seconds(exc)
        if retry_after is None:
            retry_after = self.config.backoff_seconds * 2**attempt
        return max(0.0, min(retry_after, MAX_BACKOFF_SECONDS))


def _retryable(exc: openai.APIError) -> bool:
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)):
        return True  # APIConnectionError covers APITimeoutError
    return isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


def _describe(exc: openai.APIError, timeout_seconds: float) -> str:
    """A short reason for the run log: the HTTP status (if any), the error's kind and message."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return f"timeout after {timeout_seconds:g} s (APITimeoutError)"
    if isinstance(exc, openai.APIConnectionError):
        return f"connection error (APIConnectionError): {_short(exc.message)}"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code} ({type(exc).__name__}): {_short(exc.message)}"
    return f"{type(exc).__name__}: {_short(exc.message)}"


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after_seconds(exc: openai.APIError) -> float | None:
    """The server's ``Retry-After`` (seconds or an HTTP date; ``retry-after-ms`` too), if it sent one."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None
