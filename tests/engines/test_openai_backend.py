"""``OpenAIBackend`` against the scripted teacher server: retries, non-retryable errors, timeouts,
request order under concurrency, token usage, and what reaches the server."""

from __future__ import annotations

import json

import pytest

from teachenv.engines.base import GenerationRequest
from teachenv.engines.openai_backend import OpenAIBackend
from teachenv.scripted.brain import ScriptedTeacher
from teachenv.scripted.server import ScriptedTeacherServer
from teachenv.tasks.arith.task import ArithTask

ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


@pytest.fixture()
def server():
    brain = ScriptedTeacher(ArithTask(), malformed_rate=0.0, wrong_rate=0.0)
    with ScriptedTeacherServer(brain) as running:
        yield running


def _backend(server: ScriptedTeacherServer, **options) -> OpenAIBackend:
    options = {"model": "scripted-teacher", "base_url": server.url, "backoff_seconds": 0.01, **options}
    return OpenAIBackend(OpenAIBackend.Config(**options))


def _answer_request(question: str, **fields) -> GenerationRequest:
    return GenerationRequest(prompt=f"Solve it.\nQuestion: {question}", json_schema=ANSWER_SCHEMA,
                             schema_name="answer", **fields)


def test_rate_limited_calls_are_retried_until_they_succeed(server):
    backend = _backend(server)
    server.fail_next(2, status=429)
    [result] = backend.generate([_answer_request("12+34=")])
    backend.close()
    assert server.calls == 3
    assert result.error is None
    assert json.loads(result.text) == {"answer": "46"}
    assert (backend.retries, backend.failures) == (2, 0)


def test_server_errors_past_the_last_retry_become_an_error_result(server):
    backend = _backend(server, max_retries=1)
    server.fail_next(5, status=503)
    [result] = backend.generate([_answer_request("12+34=")])
    backend.close()
    assert server.calls == 2
    assert result.finish_reason == "error"
    assert "503" in result.error
    assert (result.text, result.prompt_tokens, result.completion_tokens) == ("", 0, 0)
    assert (backend.retries, backend.failures) == (1, 1)


def test_a_bad_request_is_not_retried(server):
    backend = _backend(server)
    server.fail_next(1, status=400)
    [result] = backend.generate([_answer_request("12+34=")])
    backend.close()
    assert server.calls == 1
    assert result.finish_reason == "error"
    assert "400" in result.error
    assert (backend.retries, backend.failures) == (0, 1)


def test_a_timeout_is_an_error_result_not_an_exception(server):
    backend = _backend(server, timeout_seconds=0.2, max_retries=0)
    server.delay_seconds = 2.0
    [result] = backend.generate([_answer_request("12+34=")])
    backend.close()
    assert result.finish_reason == "error"
    assert "timeout" in result.error.lower()
    assert backend.failures == 1


def test_results_keep_the_request_order_under_concurrency(server):
    backend = _backend(server, max_concurrency=4)
    questions = [f"{a}+{a + 1}=" for a in range(10, 30)]
    results = backend.generate([_answer_request(q) for q in questions])
    backend.close()
    assert [json.loads(r.text)["answer"] for r in results] == [str(2 * a + 1) for a in range(10, 30)]
    assert server.calls == 20
    assert server.calls_by_kind["answer"] == 20


def test_token_usage_comes_from_the_server(server):
    backend = _backend(server)
    [result] = backend.generate([GenerationRequest(prompt="one two three four five")])
    backend.close()
    assert result.prompt_tokens == 5
    assert result.completion_tokens == len(result.text.split()) > 0
    assert server.calls_by_kind["text"] == 1


def test_system_seed_sampling_schema_and_extra_body_reach_the_server(server):
    backend = _backend(server, extra_body={"top_k": 5})
    backend.generate([_answer_request("12+34=", system="You are terse.", seed=7, max_new_tokens=33,
                                      temperature=0.5, top_p=0.9)])
    backend.close()
    body = server.last_body
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert body["messages"][1]["role"] == "user"
    assert (body["seed"], body["max_tokens"], body["temperature"], body["top_p"]) == (7, 33, 0.5, 0.9)
    assert body["top_k"] == 5
    assert body["response_format"]["json_schema"]["name"] == "answer"
    assert body["response_format"]["json_schema"]["schema"] == ANSWER_SCHEMA


def test_without_structured_output_no_response_format_is_sent(server):
    backend = _backend(server, structured_output=False)
    [result] = backend.generate([_answer_request("20+31=")])
    backend.close()
    assert "response_format" not in server.last_body
    assert "seed" not in server.last_body
    assert json.loads(result.text) == {"answer": "51"}  # kind guessed from the prompt


def test_identity_names_the_model_and_the_server(server):
    backend = _backend(server)
    backend.close()
    assert backend.identity() == {"model": "scripted-teacher", "base_url": server.url}
    assert backend.model_name == "scripted-teacher"


def test_config_rejects_unknown_keys_and_bad_values():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        OpenAIBackend.Config(model="m", max_concurency=2)
    with pytest.raises(ValidationError):
        OpenAIBackend.Config(model="m", max_concurrency=0)
    with pytest.raises(ValidationError):
        OpenAIBackend.Config()


def test_backends_are_registered_by_name():
    from teachenv.core.registry import backends
    from teachenv.scripted.backend import ScriptedBackend

    assert backends.get("openai") is OpenAIBackend
    assert backends.get("scripted") is ScriptedBackend


def test_a_retry_after_header_wins_over_the_backoff(server):
    import time

    backend = _backend(server, backoff_seconds=20.0)
    server.fail_next(1, status=429)  # the scripted 429 says Retry-After: 0
    start = time.monotonic()
    [result] = backend.generate([_answer_request("12+34=")])
    backend.close()
    assert result.error is None
    assert backend.retries == 1
    assert time.monotonic() - start < 5
