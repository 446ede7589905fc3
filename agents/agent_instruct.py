"""``agent-instruct``: the AgentInstruct flows (Orca-3) as a data engine, closed-loop — seed material goes
through three stages, each a separate, logged step whose output is validated:

1. **content transformation**: seed material (the task's own training side, or a folder of documents named
   in the config) → content fit for making instructions;
2. **seed instruction generation**: a taxonomy of skills × instruction types; how many instructions each
   cell gets comes from the environment's state — after a ``replay_share`` spread evenly over the skills,
   the skills the student is weak on weigh more (``weak_floor`` + 1 − the skill's validation accuracy),
   times the type's weight; each instruction is answered and verified by the task, and a question this
   episode already produced is skipped (it would only be dropped as a duplicate);
3. **refinement**: a suggester proposes how to make an instruction harder and an editor rewrites it; the
   edit is verified again, and an edit that fails verification is counted and the unedited instruction kept.

Each stage's rejections are counted by reason in ``rounds/<k>/agent/agentinstruct-log.json`` (with what it
made and kept), its outputs in ``agentinstruct-<n>-<stage>.json``; the rejected instructions and edits also
go to the round's rejected examples (``rejected_by_reason`` in ``episode.jsonl``). The stages are
procedural for the arith world (``agents.agent_instruct_flows``) or calls to the agent's teacher model
(``stages: llm``, ``agents.agent_instruct_llm``). It knows the task and engine interfaces and reads the
student's validation answers from the environment (``attach``); it knows no policy.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from teachenv.agents.agent_instruct_flows import INSTRUCTION_TYPES, Content, procedural_flows
from teachenv.core.apportion import apportion
from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, RejectedExample, TrainingExample
from teachenv.engines.base import TextBackend
from teachenv.envs.data_engine import DataEngine, EngineOutput
from teachenv.tasks.base import Task

ORIGIN = "agentinstruct"
#: Tries per wanted instruction of a taxonomy cell before the cell is left short.
TRIES_PER_INSTRUCTION = 3
STAGES = ("content", "instructions", "refinement")


class AgentInstructConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    stages: Literal["procedural", "llm"] = Field(
        "procedural", description="Who runs the stages: the world's procedural flows (arith), or agent.teacher.")
    seeds: Literal["train", "documents"] = Field("train", description="Seed material: the task's training side, or "
                                                 "the text files of `documents`.")
    documents: str | None = Field(None, description="A folder of .txt / .md documents (seeds: documents).")
    instruction_types: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(INSTRUCTION_TYPES, 1.0),
        description=f"Weight of each instruction type of the taxonomy ({', '.join(INSTRUCTION_TYPES)}).")
    weak_floor: float = Field(0.1, ge=0, description="A skill's taxonomy weight is this + 1 - its validation accuracy.")
    replay_share: float = Field(0.5, ge=0, le=1, description="Share of each round spread evenly over every skill before "
                                "the rest is weighted by weakness (without it the student forgets what it knew).")
    follow_requests: bool = Field(False, description="Split each skill's instructions as the policy asked, instead "
                                  "of by the student's weak skills.")
    refine: float = Field(1.0, ge=0, le=1, description="Share of instructions sent to the suggester / editor.")

    @model_validator(mode="after")
    def _check(self) -> AgentInstructConfig:
        unknown = sorted(set(self.instruction_types) - set(INSTRUCTION_TYPES))
        if unknown:
            raise ValueError(f"unknown instruction types {unknown}; the taxonomy's types are {list(INSTRUCTION_TYPES)}")
        if not any(w > 0 for w in self.instruction_types.values()):
            raise ValueError("give at least one instruction type a weight above 0")
        if self.seeds == "documents" and not self.documents:
            raise ValueError("seeds: documents needs `documents`, a folder of .txt / .md files")
        return self


class StageLog:
    """What each stage made, kept and rejected (by reason) in one round."""

    def __init__(self) -> None:
        self.made: Counter[str] = Counter()
        self.kept: Counter[str] = Counter()
        self.rejected: dict[str, Counter[str]] = defaultdict(Counter)
        self.notes: dict[str, Counter[str]] = defaultdict(Counter)

    def as_json(self) -> dict:
        return {stage: {"made": self.made[stage], "kept": self.kept[stage],
                        "rejected": dict(sorted(self.rejected[stage].items())),
                        **({"notes": dict(sorted(self.notes[stage].items()))} if self.notes[stage] else {})}
                for stage in STAGES}


class AgentInstructEngine(DataEngine):
    name: ClassVar[str] = "agent-instruct"
    Config: ClassVar[type[BaseModel]] = AgentInstructConfig

    def __init__(self, task: Task, ledger: CostLedger, config: AgentInstructConfig | None = None, *,
                 teacher: TextBackend | None = None) -> None:
        super().__init__(task, ledger, config or AgentInstructConfig(), teacher=teacher)
        self.config: AgentInstructConfig
        if self.config.stages == "llm":
            from teachenv.agents.agent_instruct_llm import LLMFlows

            self.flows: Any = LLMFlows(task, teacher, ledger)
        else:
            self.flows = procedural_flows(task)
        self.documents = self._read_documents() if self.config.seeds == "documents" else []
        self.env: Any = None
        #: Questions this episode's rounds already produced (a repeat would only be dropped as a duplicate).
        self.seen: set[str] = set()
        #: The last round's log and (seed, edit) pairs, for callers without a run directory.
        self.last_log: dict = {}
        self.last_pairs: list[dict] = []

    def attach(self, env: Any) -> None:
        self.env = env

    def reset(self) -> None:
        self.seen = set()

    def _read_documents(self) -> list[tuple[str, str]]:
        folder = Path(self.config.documents or "").expanduser()
        files = sorted(p for p in folder.glob("**/*") if p.suffix in (".txt", ".md") and p.is_file()) \
            if folder.is_dir() else []
        if not files:
            raise ConfigError(f"agent.engine.documents={self.config.documents!r} is not a folder holding .txt or .md "
                              "files; point it at one, or set agent.engine.seeds=train.")
        return [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in files]

    # -- the taxonomy's weights from the state ---------------------------------------------------
    def skill_weights(self) -> dict[str, float]:
        """``weak_floor`` + 1 − validation accuracy per skill (1 everywhere before any evaluation)."""
        predictions = getattr(self.env, "val_predictions", None) or []
        credit: dict[str, list[float]] = defaultdict(list)
        for p in predictions:
            credit[p.skill].append(p.credit)
        return {s: self.config.weak_floor + 1 - (float(np.mean(credit[s])) if credit[s] else 0.0)
                for s in self.task.skills}

    def taxonomy(self, action: DataGenerationAction) -> dict[tuple[str, str], int]:
        """Instructions per (skill, instruction type) for the round's total."""
        types = {k: w for k, w in self.config.instruction_types.items() if w > 0}
        asked: Counter[str] = Counter()
        for request in action.requests:
            asked[request.skill] += request.count
        if self.config.follow_requests:
            per_skill = {s: asked[s] for s in self.task.skills}
        else:
            weights, total, n = self.skill_weights(), sum(asked.values()), len(self.task.skills)
            replay = int(round(total * self.config.replay_share))
            weighted = apportion(total - replay, [weights[s] for s in self.task.skills])
            per_skill = {s: int(w + r) for s, w, r in zip(self.task.skills, weighted, apportion(replay, [1.0] * n))}
        cells = {}
        for skill, count in per_skill.items():
            for kind, n in zip(types, apportion(int(count), list(types.values()))):
                cells[(skill, kind)] = int(n)
        return cells

    # -- the round ---------------------------------------------------------------------------------
    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        log, rejected = StageLog(), []
        cells = self.taxonomy(action)
        contents = self.contents(cells, rng, log)
        instructions = self.instructions(cells, contents, rng, log, rejected)
        final, pairs = self.refinement(instructions, rng, log, rejected)
        self.seen.update(c.example.content_key for c in final)
        self.last_log, self.last_pairs = log.as_json(), pairs
        workspace = getattr(self.env, "workspace", None)
        if workspace is not None:
            workspace.write_json("agentinstruct-0-taxonomy", [{"skill": s, "type": k, "count": n}
                                                              for (s, k), n in cells.items()])
            workspace.write_json("agentinstruct-1-content", {s: [c.model_dump(mode="json") for c in cs]
                                                             for s, cs in contents.items()})
            workspace.write_json("agentinstruct-2-instructions", [self._row(c) for c in instructions])
            workspace.write_json("agentinstruct-3-refinement", pairs)
            workspace.write_json("agentinstruct-log", self.last_log)
        return EngineOutput(final, rejected)

    def contents(self, cells: dict[tuple[str, str], int], rng: np.random.Generator,
                 log: StageLog) -> dict[str, list[Content]]:
        """Stage 1: each skill's seed material, transformed (rejected content counted by reason)."""
        wanted: Counter[str] = Counter()
        for (skill, _kind), n in cells.items():
            wanted[skill] += n
        if self.config.seeds == "documents":
            shared = self.flows.transform_documents(self.documents, log, rng)
            return {skill: shared for skill in wanted}
        return {skill: self.flows.transform_seeds(skill, self.task.seed_examples(skill, n, rng), log, rng)
                if n else [] for skill, n in wanted.items()}

    def instructions(self, cells: dict[tuple[str, str], int], contents: dict[str, list[Content]],
                     rng: np.random.Generator, log: StageLog, rejected: list[RejectedExample]) -> list[TrainingExample]:
        """Stage 2: ``n`` verified instructions per taxonomy cell, made from the skill's content."""
        made, taken = [], set()
        for (skill, kind), n in cells.items():
            pool = contents.get(skill) or []
            if not n:
                continue
            if not pool:
                log.notes["instructions"]["no-content"] += n
                continue
            kept = 0
            for _ in range(TRIES_PER_INSTRUCTION * n):
                if kept == n:
                    break
                content = pool[int(rng.integers(len(pool)))]
                candidate = self.flows.instruction(content, skill, kind, rng, log)
                if candidate is None:
                    continue
                if candidate.example.content_key in self.seen or candidate.example.content_key in taken:
                    log.notes["instructions"]["repeat-skipped"] += 1
                    continue
                taken.add(candidate.example.content_key)
                log.made["instructions"] += 1
                verdict = self.task.verify(candidate)
                if not verdict.accepted:
                    log.rejected["instructions"][verdict.reason] += 1
                    rejected.append(RejectedExample(candidate=candidate, reason=verdict.reason,
                                                    detail=f"instruction ({kind}): {verdict.detail}"))
                    continue
                log.kept["instructions"] += 1
                kept += 1
                made.append(candidate.model_copy(update={"origin": f"{ORIGIN}/{kind}"}))
        return made

    def refinement(self, instructions: list[TrainingExample], rng: np.random.Generator, log: StageLog,
                   rejected: list[RejectedExample]) -> tuple[list[TrainingExample], list[dict]]:
        """Stage 3: the suggester / editor pair on a ``refine`` share of the instructions; an edit that fails
        verification is counted and the instruction kept unedited."""
        final, pairs = [], []
        taken = {c.example.content_key for c in instructions}
        for seed in instructions:
            if rng.random() >= self.config.refine:
                final.append(seed)
                continue
            edited, suggestion = self.flows.refine(seed, rng, log)
            if edited is None:
                final.append(seed)
                continue
            if edited.example.content_key in self.seen or edited.example.content_key in taken:
                log.notes["refinement"]["edit-repeats-keep-seed"] += 1
                final.append(seed)
                continue
            taken.add(edited.example.content_key)
            log.made["refinement"] += 1
            verdict = self.task.verify(edited)
            pair = {"skill": seed.example.skill, "seed": seed.example.prompt, "suggestion": suggestion,
                    "edited": edited.example.prompt, "accepted": verdict.accepted, "reason": verdict.reason}
            pairs.append(pair)
            if not verdict.accepted:
                log.rejected["refinement"][verdict.reason] += 1
                rejected.append(RejectedExample(candidate=edited, reason=verdict.reason,
                                                detail=f"refinement of {seed.example.prompt!r}: {verdict.detail}"))
                final.append(seed)
                continue
            log.kept["refinement"] += 1
            final.append(edited.model_copy(update={"origin": f"{ORIGIN}/refined"}))
        return final, pairs

    @staticmethod
    def _row(candidate: TrainingExample) -> dict:
        return {"skill": candidate.example.skill, "question": candidate.example.prompt,
                "answer": candidate.completion, "origin": candidate.origin}
