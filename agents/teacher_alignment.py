"""The round of every engine whose teacher is aligned before it writes (``aligned-teacher``, ``montessori``,
``arte``; LbT M2 shares ``align_round``): draft → score → preference pairs → ``align_teacher`` (DPO on the
teacher's LoRA adapter) → the aligned teacher writes the round's data through the ordinary LLM-engine path.

``TeacherAligningEngine`` owns everything but the preference signal: the check that the teacher has weights
teachenv can train, the episode reset to the unaligned teacher, the drafts (``draft``: ``drafts_per_skill``
examples of a skill at temperature 1, in one writing request or in requests of ``drafts_per_call``, straight from
the backend past the response cache, their tokens to the ledger), the memos in the round's agent folder (``<prefix>-pairs.jsonl``,
``<prefix>-adapter/``: a resumed run reads them back instead of aligning again), the one adapter load per
round, ``<prefix>-round.json`` (the adapter that drafted, the pair count, the adapter that writes) and
``<prefix>-data.json`` (the round's examples as written). A subclass gives ``round_pairs`` (its signal turned
into ``{"prompt", "chosen", "rejected"}`` rows, each built by ``teachenv.teacher.align.text_pair``). A round
without pairs writes with the teacher it has. It knows no student and no particular signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from teachenv.agents.llm_engine import ExamplesReply, LLMDataEngine, LLMEngineConfig
from teachenv.core.errors import ConfigError, EnvStateError
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.engines.json_reply import parse_reply
from teachenv.envs.data_engine import EngineOutput
from teachenv.teacher.align import AlignConfig


def align_round(model: Any, workspace: Any, ledger: Any, config: AlignConfig, pairs: Callable[[], list[dict]], *,
                pairs_name: str, adapter_name: str) -> list[dict]:
    """The round's pairs (a memo ``<pairs_name>.jsonl``) and, if there are any, the teacher aligned on them (a memo
    ``<adapter_name>/``), which ``model`` samples from then on (loaded once, from its final folder). The pairs."""
    from teachenv.teacher.align import align_teacher

    rows = workspace.memo_jsonl(pairs_name, pairs)
    if rows:
        adapter = workspace.memo_dir(adapter_name, lambda path: align_teacher(
            model, rows, config, path, ledger, callbacks=getattr(workspace, "trainer_callbacks", ()), load=False))
        model.load_adapter(adapter)
    return rows


class TeacherAligningConfig(LLMEngineConfig):
    drafts_per_skill: int = Field(16, ge=2, description="Drafts sampled per requested skill to build the pairs.")
    drafts_per_call: int | None = Field(None, ge=1, description="Drafts asked for in one writing request (seeds "
                                        "seed, seed+1, ...); None: all of a skill's drafts in one request.")
    align: AlignConfig = Field(default_factory=lambda: AlignConfig(steps=10), description="The DPO run of each round.")


class TeacherAligningEngine(LLMDataEngine):
    """An LLM data engine that aligns its teacher on the round's preference pairs before writing the round."""

    #: Names the round's artefacts: ``<prefix>-pairs.jsonl``, ``<prefix>-adapter/``, ...
    prefix: ClassVar[str] = "teacher"

    def __init__(self, task: Any, ledger: Any, config: TeacherAligningConfig, *, teacher: Any = None) -> None:
        super().__init__(task, ledger, config, teacher=teacher)
        self.config: TeacherAligningConfig
        self.model = getattr(teacher, "inner", teacher)  # past the response cache
        if not hasattr(self.model, "trainable_model") or not hasattr(self.model, "preference_text"):
            raise ConfigError(f"Engine {self.name!r} aligns its teacher's weights, and {type(self.model).__name__} "
                              "has none teachenv can train (an OpenAI-compatible endpoint can be scored and selected "
                              "from, not aligned): set agent.teacher.name: tiny-teacher (offline) or local-teacher.")
        self.env: Any = None
        self.workspace: Any = None

    def attach(self, env: Any) -> None:
        self.env, self.workspace = env, env.workspace

    def reset(self) -> None:
        super().reset()
        self.model.load_adapter(None)  # every episode starts from the unaligned teacher

    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        if self.workspace is None:
            raise EnvStateError(f"Engine {self.name!r} keeps its pairs and adapters in the environment's workspace: "
                                "attach(env) before generate().")
        seed = int(rng.integers(0, 2**31 - 1))  # drawn outside the memos (see AgentWorkspace)
        skills = sorted({r.skill for r in action.requests if r.skill in self.task.skills})
        drafted_by = self.model.identity()["adapter"]
        pairs = self.round_pairs(skills, seed)
        out = super().generate(action, rng)
        self.workspace.write_json(f"{self.prefix}-round", {"drafted_by": drafted_by, "pairs": len(pairs),
                                                           "writes_with": self.model.identity()["adapter"]})
        self.workspace.write_json(f"{self.prefix}-data", [
            {"skill": c.example.skill, "question": c.example.prompt, "answer": c.example.answer}
            for c in out.candidates])
        return out

    def round_pairs(self, skills: list[str], seed: int) -> list[dict]:
        """The round's pairs, with the teacher aligned on them (``align_round``); subclasses build the pairs."""
        return align_round(self.model, self.workspace, self.ledger, self.config.align,
                           lambda: self.preference_pairs(skills, seed),
                           pairs_name=f"{self.prefix}-pairs", adapter_name=f"{self.prefix}-adapter")

    def preference_pairs(self, skills: list[str], seed: int) -> list[dict]:
        raise NotImplementedError

    def draft(self, skill: str, seed: int) -> list[tuple[str, str]]:
        """``drafts_per_skill`` (question, answer) drafts of ``skill`` sampled at temperature 1, in writing requests
        of ``drafts_per_call`` (the k-th seeded ``seed + k``); an unusable reply gives none."""
        total = self.config.drafts_per_skill
        per_call = self.config.drafts_per_call or total
        drafts: list[tuple[str, str]] = []
        for k, start in enumerate(range(0, total, per_call)):
            n, call_seed = min(per_call, total - start), seed + k
            ask = self._writing_request(SkillRequest(skill=skill, count=n), n, None, np.random.default_rng(call_seed),
                                        avoid=False).model_copy(update={"temperature": 1.0, "top_p": 1.0,
                                                                        "seed": call_seed})
            result = self.model.generate([ask])[0]
            self.ledger.add_tokens("teacher-drafts", self.model.model_name, result.prompt_tokens,
                                   result.completion_tokens, calls=1)
            try:
                drafts += [(e.question, e.answer) for e in parse_reply(result.text, ExamplesReply, None).examples[:n]]
            except ValueError:
                pass  # an unusable reply: no drafts from this request
        return drafts
