"""LbT's M2: the teacher that drafted a round learns from the student's scores of its drafts.

``preference_pairs`` turns one round's scored draft groups (``agents.lbt``: drafts, group labels, scores)
into DPO pairs — per group its best draft (chosen) against its worst (rejected), kept only where the score
gap exceeds ``margin`` and the two texts differ — in the form the drafting backend was prompted with
(``backend.preference_text`` of the LLM engine's one-example writing request: the tiny teacher's compact
``W <skill>|`` prompt and ``<question><answer>`` completion; a local transformers teacher's chat-rendered
request and JSON reply). ``alignable_teacher`` finds the weights behind the agent's teacher and refuses, naming why and
the fix, a teacher or a draft source that cannot be aligned: an OpenAI-compatible endpoint (teachenv cannot
reach its weights), or a draft source that does not sample the teacher (procedural, noisy over procedural).
The DPO run itself is ``teachenv.teacher.align.align_teacher``; the memos and the adapter switch are the
engine's. It knows nothing of the student or the environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.errors import ConfigError
from teachenv.core.records import TrainingExample
from teachenv.teacher.align import AlignConfig, text_pair


class LbtM2Config(BaseModel):
    """LbT M2 (``agent.engine.m2``): DPO of the drafting teacher on best-vs-worst drafts of each group."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    margin: float = Field(0.0, ge=0, description="A group gives a pair only where best score - worst score > margin.")
    align: AlignConfig = Field(default_factory=lambda: AlignConfig(steps=10), description="The DPO run of each round "
                               "(loss mix, beta, steps, learning rate).")


def alignable_teacher(teacher: Any, inner: Any) -> tuple[Any, Any]:
    """(the trainable backend behind ``teacher`` past the response cache, the LLM engine that samples it)."""
    from teachenv.agents.llm_engine import llm_engine_inside

    model = getattr(teacher, "inner", teacher)
    if model is None or not hasattr(model, "trainable_model") or not hasattr(model, "preference_text"):
        raise ConfigError(f"agent.engine.m2 aligns the teacher that drafts, and {type(model).__name__} has no weights "
                          "teachenv can train (an OpenAI-compatible endpoint or a vLLM server can be scored and "
                          "selected from, not aligned): set agent.teacher.name: tiny-teacher (offline) or "
                          "local-teacher (a local causal LM), or remove agent.engine.m2 (M1 selection only).")
    engine = llm_engine_inside(inner)
    if engine is None:
        raise ConfigError(f"agent.engine.m2 aligns the teacher on its own drafts, but the draft source "
                          f"({type(inner).__name__}) does not sample agent.teacher: set agent.engine.inner.name: llm, "
                          "or remove agent.engine.m2.")
    return model, engine


def preference_pairs(backend: Any, engine: Any, drafts: Sequence[TrainingExample], groups: Sequence[int],
                     scores: Sequence[float], margin: float, params: dict[str, dict]) -> list[dict[str, Any]]:
    """Per group, best (chosen) vs worst (rejected) draft where the gap exceeds ``margin``; the prompt is the
    ``engine``'s one-example writing request with the parameters ``params`` gives the skill, in the backend's
    form. Each pair carries its scores for the record."""
    members: dict[int, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    pairs = []
    for index in members.values():
        best = max(index, key=lambda i: (scores[i], -i))
        worst = min(index, key=lambda i: (scores[i], -i))
        if scores[best] - scores[worst] <= margin:
            continue
        d_best, d_worst = drafts[best], drafts[worst]
        skill = d_best.example.skill
        request = engine.preference_request(skill, params.get(skill, {}))
        pair = text_pair(backend, request, (d_best.example.prompt, d_best.example.answer),
                         (d_worst.example.prompt, d_worst.example.answer))
        if pair is not None:
            pairs.append({**pair, "chosen_score": float(scores[best]), "rejected_score": float(scores[worst])})
    return pairs
