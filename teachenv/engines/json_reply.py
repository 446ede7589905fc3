"""Ask a teacher model for JSON, validate it with pydantic, and repair a bad reply a bounded number
of times. Shared by the LLM policy, the LLM data engines and
LLM skill discovery.

A reply is read leniently (a ```json fence or prose around one JSON object is tolerated), then
validated by the caller's pydantic model (plus an optional ``check`` for what a schema cannot say,
like "a skill the task has"). A reply that fails is sent back once per repair with the error, as a
new request; what is still unusable after the last repair comes back as a ``JsonReply`` with
``value=None`` and the reason — never an exception. Tokens of every attempt go to the ledger under
the caller's role. It knows nothing about tasks or environments.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from teachenv.core.ledger import CostLedger
from teachenv.engines.base import GenerationRequest, TextBackend

M = TypeVar("M", bound=BaseModel)

#: Where a ``{`` may open the JSON object in prose: the first this many are tried (each try is linear
#: in the text, so an adversarial reply of braces cannot make reading it quadratic).
MAX_OBJECT_STARTS = 200
#: Characters of a bad reply quoted back in a repair request.
QUOTED_REPLY_CHARS = 1500


@dataclass
class JsonReply(Generic[M]):
    value: M | None
    text: str
    error: str | None = None
    attempts: int = 1
    #: The call itself failed (network, server error after retries), as opposed to an unusable reply.
    call_failed: bool = False


def extract_json(text: str) -> object:
    """The JSON value in ``text``: the whole text, else the first ``{...}`` span that parses (of the
    first `MAX_OBJECT_STARTS` ``{``). ValueError for anything else, nesting too deep included."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        first_error = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        first_error = "nested too deeply"
    decoder = json.JSONDecoder()
    starts = (i for i, ch in enumerate(text) if ch == "{")
    for start in itertools.islice(starts, MAX_OBJECT_STARTS):
        try:
            value, _ = decoder.raw_decode(text[start:])
            return value
        except (json.JSONDecodeError, RecursionError):
            continue
    raise ValueError(f"not valid JSON ({first_error})")


def parse_reply(text: str, model: type[M], check: Callable[[M], str | None] | None = None) -> M:
    """Validate ``text`` as ``model``; raise ``ValueError`` with a message a model can act on."""
    data = extract_json(text)
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:5])
        raise ValueError(f"JSON does not match the expected shape ({problems})") from None
    problem = check(value) if check is not None else None
    if problem:
        raise ValueError(problem)
    return value


def repair_request(request: GenerationRequest, reply: str, error: str) -> GenerationRequest:
    quoted = reply if len(reply) <= QUOTED_REPLY_CHARS else reply[:QUOTED_REPLY_CHARS] + " …"
    prompt = (f"{request.prompt}\n\nYour previous reply could not be used: {error}.\nPrevious reply:\n{quoted}\n\n"
              "Reply again with only the corrected JSON object.")
    return request.model_copy(update={"prompt": prompt})


def ask_json(teacher: TextBackend, ledger: CostLedger | None, role: str, requests: Sequence[GenerationRequest],
             model: type[M], *, max_repairs: int = 1,
             check: Callable[[M], str | None] | None = None) -> list[JsonReply[M]]:
    """One ``JsonReply`` per request, in order; the requests (and each wave of repairs) go to the
    teacher as one batch, so a concurrent backend answers them in parallel."""
    replies: list[JsonReply[M] | None] = [None] * len(requests)
    pending = list(range(len(requests)))
    current = list(requests)
    for attempt in range(1, max_repairs + 2):
        results = teacher.generate_metered([current[i] for i in pending], ledger, role)
        retry = []
        for i, result in zip(pending, results, strict=True):
            if result.error is not None:  # the backend already retried the call itself
                replies[i] = JsonReply(None, "", f"teacher call failed: {result.error}", attempt, call_failed=True)
                continue
            try:
                replies[i] = JsonReply(parse_reply(result.text, model, check), result.text, None, attempt)
            except ValueError as exc:
                replies[i] = JsonReply(None, result.text, str(exc), attempt)
                current[i] = repair_request(requests[i], result.text, str(exc))
                retry.append(i)
        pending = retry
        if not pending:
            break
    return replies  # type: ignore[return-value]
