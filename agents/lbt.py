"""``lbt``: Learning by Teaching, M1 (selection) as a data engine that wraps any draft source — each round an
inner engine (``inner``: procedural, noisy, llm, agent-instruct, or a tiny teacher's engine) drafts
``drafts`` candidates per wanted example; the student scores every draft with a feedback signal
(``teachenv.student.feedback``); the best draft of each group is the round's data.

- **Signal** (``signal``): ``influence`` (default) — the drop of the student's loss on a probe set of the
  draft's skill after one SGD step on the draft alone (Montessori-Instruct's local influence); or
  ``in-context`` — the student's mean gold log-likelihood on that probe set (the LbT "exam") with the draft
  as its in-context exemplar. On the quick-start tiny student only influence carries information
  (README "Student-feedback signals": in-context is flat there), hence the default; ``tiny-context`` is a
  tiny student on which in-context carries some (on the skills it computes). The probe set is
  ``probe_per_skill`` training-side examples of the skill (never validation or test), drawn each round.
- **Groups**: drafts with the same question compete (the answers to it are picked by score); otherwise each
  skill's drafts are cut, in draft order, into groups of ``drafts`` and the best of each is kept. A
  best-of-group pick keeps the source's coverage, where a global top-k concentrates on one kind of example
  (``../shared/research/influence-tiny.md``: top-400 by influence lost to a random 400).
- **Before the first training** the student has no adapter: a fresh LoRA adapter (as its first ``train``
  would make it) is put on for the scoring and dropped afterwards, the base left untouched.
- **Artefacts** (``rounds/<k>/agent/``): ``lbt-scores.json`` (a workspace memo: per draft its key and score,
  read back on resume instead of scoring a replayed student again) and ``lbt-drafts.json`` (every draft with
  its skill, question, answer, origin, group, score and whether it was selected). Costs: the inner engine's
  teacher tokens go to the ledger as it spends them; the scoring's student forward passes and optimiser
  steps through ``ledger.add_work`` (``student_forward_passes``, ``student_optimizer_steps``).
- **Several students** (``students``): extra student specs beside the environment's own, built once at the
  first scoring and never trained (each scores with a fresh adapter seeded per round, as the own student does
  before its first training); a draft's score is the plain mean of all students' scores (``lbt-scores.json``
  keeps ``per_student``). Their work is counted in the totals and again under ``<name>/student<k>``.
- Unselected drafts are not trained on and not recorded as rejected (they are not faulty, only outranked);
  ``lbt-drafts.json`` keeps them.

- **M2** (``m2``, ``agents.lbt_teacher``): when the draft source samples a teacher with trainable weights
  (``agent.teacher: {name: tiny-teacher}`` offline, ``local-teacher`` on a GPU, through ``inner: {name: llm}``),
  after the scoring each group's best draft is paired (chosen) with its worst (rejected) where the score gap
  exceeds ``m2.margin``; the teacher's LoRA adapter is aligned on the pairs with ``align_teacher`` (DPO, ``m2.align``'s loss mix) and
  drafts the next round (the response cache tells it apart by the adapter's hash). ``lbt-pairs.jsonl`` and
  ``lbt-teacher-adapter/`` are memos (a resume reads them back, a run killed inside DPO aligns again from the
  same pairs); ``lbt-m2.json`` names the adapter that drafted the round and the one that drafts next; the
  DPO steps and tokens go to the ledger. A teacher or draft source that cannot be aligned is a ConfigError.

- **M3** (``m3``, ``agents.lbt_exemplars``): before the teacher drafts, the student answers training-side items
  of each requested skill; its wrong answers and the skill's exemplars go into the teacher's writing request,
  and after the scoring the best-scored selected drafts become the next round's exemplars (``lbt-exam.json``,
  ``lbt-exemplars.json``: memos). It needs a teacher that reads its prompt (not the tiny teacher).

It knows the engine interface, the student feedback functions and the workspace; it knows no policy and no
particular draft source.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.agents.lbt_exemplars import LbtM3Config, exam, guidance, guided_engine, refine
from teachenv.agents.lbt_teacher import LbtM2Config, alignable_teacher, preference_pairs
from teachenv.agents.student_preference import lora_student, probe_items, student_scores
from teachenv.core.config import EngineSpec, StudentConfig
from teachenv.core.errors import ConfigError, EnvStateError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, SkillRequest, TrainingExample
from teachenv.engines.base import TextBackend
from teachenv.envs.build import engine_from_spec
from teachenv.envs.data_engine import DataEngine, EngineOutput
from teachenv.tasks.base import Task

ORIGIN = "lbt"


class LbtConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    inner: EngineSpec = Field(default_factory=EngineSpec, description="The draft source: any registered engine "
                              "with its options (e.g. {name: noisy, wrong_share: 0.3}).")
    drafts: int = Field(3, ge=1, description="Drafts per wanted example (a group); the best of each is kept.")
    signal: Literal["influence", "in-context"] = Field(
        "influence", description="The student's feedback signal that scores a draft (see the module docstring).")
    probe_per_skill: int = Field(8, ge=1, description="Probe / exam items per skill, from the training side.")
    influence_lr: float = Field(0.05, gt=0, description="SGD step size of the one-step influence.")
    batch_size: int = Field(64, ge=1, description="Rows per student forward pass while scoring.")
    students: list[StudentConfig] = Field(default_factory=list, description="Extra scoring students beside the "
                                          "environment's own (student specs, e.g. the tiny student with another "
                                          "tiny.seed): built once, never trained; each draft's score is the mean of "
                                          "all students' scores.")
    m2: LbtM2Config | None = Field(None, description="M2: DPO of the drafting teacher on each round's best-vs-worst "
                                   "drafts (needs an alignable teacher drafting through engine llm); None: M1 only.")
    m3: LbtM3Config | None = Field(None, description="M3: the teacher writes from exemplars refined each round and is "
                                   "shown the student's wrong answers (needs a teacher that reads its prompt, through "
                                   "engine llm); None: no exemplar refinement.")


def group_drafts(drafts: list[TrainingExample], size: int) -> list[int]:
    """A group index per draft: drafts of one skill asking the same question share a group; the others are
    cut into groups of ``size`` in draft order, per skill."""
    asked = Counter((d.example.skill, d.example.prompt) for d in drafts)
    counts: Counter[str] = Counter()
    labels: dict[tuple, int] = {}
    groups = []
    for draft in drafts:
        skill, question = draft.example.skill, draft.example.prompt
        if asked[(skill, question)] > 1:
            key: tuple = ("question", skill, question)
        else:
            key = ("run", skill, counts[skill] // size)
            counts[skill] += 1
        groups.append(labels.setdefault(key, len(labels)))
    return groups


def pick_best(scores: list[float], groups: list[int]) -> list[bool]:
    """Whether each draft is its group's best (the first of equal scores wins)."""
    best: dict[int, int] = {}
    for i, (score, group) in enumerate(zip(scores, groups, strict=True)):
        if group not in best or score > scores[best[group]]:
            best[group] = i
    chosen = set(best.values())
    return [i in chosen for i in range(len(scores))]


def cap_per_skill(chosen: list[bool], scores: list[float], drafts: list[TrainingExample],
                  requests: tuple[SkillRequest, ...]) -> list[bool]:
    """``chosen`` with no skill over what was asked of it: a source that repeats questions (a nearly exhausted
    pool) makes more groups than wanted examples; the lowest-scored picks beyond the request are dropped."""
    asked: Counter[str] = Counter()
    for request in requests:
        asked[request.skill] += request.count
    kept = list(chosen)
    for skill in {d.example.skill for d in drafts}:
        picks = sorted((i for i, d in enumerate(drafts) if kept[i] and d.example.skill == skill),
                       key=lambda i: (-scores[i], i))
        for i in picks[asked[skill]:]:
            kept[i] = False
    return kept


class LbtEngine(DataEngine):
    name: ClassVar[str] = "lbt"
    Config: ClassVar[type[BaseModel]] = LbtConfig

    def __init__(self, task: Task, ledger: CostLedger, config: LbtConfig | None = None, *,
                 teacher: TextBackend | None = None) -> None:
        super().__init__(task, ledger, config or LbtConfig(), teacher=teacher)
        self.config: LbtConfig
        bad = [s.model for s in self.config.students if s.model == "surrogate"]
        if bad:
            raise ConfigError(f"agent.engine.students: model {bad[0]!r} has no LoRA model to score drafts with; give "
                              "each extra student a LoRA model (model: tiny, plumbing, or a Hugging Face model).")
        self.extra: list[Any] = []  # the extra students, built at the first scoring
        self.inner = engine_from_spec(self.config.inner, task, ledger, teacher, path="agent.engine.inner")
        m2 = self.config.m2 is not None
        self.model, self.drafter = alignable_teacher(teacher, self.inner) if m2 else (None, None)
        self.guided = guided_engine(teacher, self.inner) if self.config.m3 is not None else None
        self.exemplars: dict[str, list[dict]] = {}  # M3: per skill, the exemplars that write the next round
        self.env: Any = None

    def attach(self, env: Any) -> None:
        self.env = env
        self.inner.attach(env)

    def reset(self) -> None:
        self.inner.reset()
        self.exemplars = {}
        if self.model is not None:
            self.model.load_adapter(None)  # every episode starts from the unaligned teacher

    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        if self.env is None:
            raise EnvStateError("lbt scores drafts with the environment's student: attach(env) before generate().")
        k = self.config.drafts
        wide = DataGenerationAction(requests=tuple(
            SkillRequest(skill=r.skill, count=r.count * k, params=dict(r.params or {})) for r in action.requests))
        if self.config.m3 is not None:
            self.guide(action, int(rng.integers(0, 2**31 - 1)))
        out = self.inner.generate(wide, rng)
        drafts = list(out.candidates)
        if not drafts:
            return out
        probe_seed = int(rng.integers(0, 2**31 - 1))  # drawn outside the memo: a replay leaves rng where it was
        workspace = self.env.workspace
        drafted_by = self.model.identity()["adapter"] if self.model is not None else None
        keys = [f"{d.example.skill}|{d.example.prompt}|{d.completion}" for d in drafts]
        record = workspace.memo_json("lbt-scores", lambda: {"signal": self.config.signal, "keys": keys,
                                                             **self.score(drafts, probe_seed)})
        if record["keys"] != keys:
            raise EnvStateError("lbt-scores.json does not hold this round's drafts (the draft source is not "
                                "deterministic on replay); delete the run's unfinished rounds and resume again.")
        scores = [float(s) for s in record["scores"]]
        groups = group_drafts(drafts, k)
        chosen = cap_per_skill(pick_best(scores, groups), scores, drafts, action.requests)
        workspace.write_json("lbt-drafts", [
            {"skill": d.example.skill, "question": d.example.prompt, "answer": d.completion, "origin": d.origin,
             "group": g, "score": s, "selected": c} for d, g, s, c in zip(drafts, groups, scores, chosen)])
        if self.config.m2 is not None:
            self.align(drafts, groups, scores, action, drafted_by)
        if self.config.m3 is not None:
            m3 = self.config.m3
            self.exemplars = workspace.memo_json("lbt-exemplars", lambda: refine(
                self.exemplars, self.task, drafts, scores, chosen, m3.exemplars))
        selected = [d.model_copy(update={"origin": f"{ORIGIN}/{d.origin}"}) for d, c in zip(drafts, chosen) if c]
        return EngineOutput(selected, list(out.rejected))

    def align(self, drafts: list[TrainingExample], groups: list[int], scores: list[float],
              action: DataGenerationAction, drafted_by: str | None) -> None:
        """M2: DPO of the teacher on the round's best-vs-worst drafts; the aligned teacher drafts the next round.
        Pairs (``lbt-pairs.jsonl``) and adapter (``lbt-teacher-adapter/``) are memos; ``lbt-m2.json`` records
        which adapter drafted this round and which one drafts the next."""
        from teachenv.agents.teacher_alignment import align_round

        m2, workspace = self.config.m2, self.env.workspace
        params: dict[str, dict] = {}
        for r in action.requests:
            params.setdefault(r.skill, dict(r.params or {}))
        pairs = align_round(self.model, workspace, self.ledger, m2.align,
                            lambda: preference_pairs(self.model, self.drafter, drafts, groups, scores, m2.margin, params),
                            pairs_name="lbt-pairs", adapter_name="lbt-teacher-adapter")
        workspace.write_json("lbt-m2", {"drafted_by": drafted_by, "pairs": len(pairs),
                                        "drafts_next": self.model.identity()["adapter"]})

    def guide(self, action: DataGenerationAction, seed: int) -> None:
        """M3: examine the student on the requested skills (``lbt-exam.json``, a memo) and give the teacher's
        writing requests the exemplars and the student's mistakes."""
        m3 = self.config.m3
        student = self.lora_student()
        skills = [r.skill for r in action.requests if r.skill in self.task.skills]
        record = self.env.workspace.memo_json("lbt-exam", lambda: exam(student, self.task, skills, m3.exam_per_skill,
                                                                        seed, self.ledger))
        self.guided.guidance = guidance(self.exemplars, record, m3.mistakes_shown)

    def lora_student(self) -> Any:
        """The environment's student past a replay wrapper; a ConfigError unless it is a LoRA student."""
        return lora_student(self.env, "lbt (its scoring and M3's exam)")

    # -- scoring -------------------------------------------------------------------------------------
    def probe(self, skill: str, seed: int) -> list[TrainingExample]:
        """``probe_per_skill`` training-side examples of ``skill`` with their gold answers."""
        return probe_items(self.task, skill, self.config.probe_per_skill, seed, ORIGIN)

    def score(self, drafts: list[TrainingExample], seed: int) -> dict[str, Any]:
        """Each draft's score by the configured signal on the probe set of its skill: ``scores`` (the mean over
        the students) and, with extra students, ``per_student`` (the environment's own first)."""
        student = self.lora_student()
        if len(self.extra) < len(self.config.students):
            from teachenv.student.lora_student import LoRAStudent

            self.extra = [LoRAStudent(spec, self.task) for spec in self.config.students]
        per_student = [self.score_with(student, drafts, seed, self.ledger)]
        per_student += [self.score_with(extra, drafts, seed, PerStudentLedger(self.ledger, k))
                        for k, extra in enumerate(self.extra, start=1)]
        scores = [float(np.mean(column)) for column in zip(*per_student, strict=True)]
        return {"scores": scores, "per_student": per_student} if self.extra else {"scores": scores}

    def score_with(self, student: Any, drafts: list[TrainingExample], seed: int, ledger: Any) -> list[float]:
        """One student's score of each draft (in-context: the mean gold log-likelihood)."""
        by_skill: dict[str, list[int]] = defaultdict(list)
        for i, d in enumerate(drafts):
            by_skill[d.example.skill].append(i)
        scores = [0.0] * len(drafts)
        with student.adapter_for_scoring(seed):
            for skill, index in by_skill.items():
                values = student_scores(student, [drafts[i] for i in index], self.probe(skill, seed),
                                        self.config.signal, metric="loglik", learning_rate=self.config.influence_lr,
                                        batch_size=self.config.batch_size, ledger=ledger)
                for i, v in zip(index, values, strict=True):
                    scores[i] = float(v)
        return scores


class PerStudentLedger:
    """The ledger as an extra student's scoring sees it: work counted in the totals and under ``<name>/student<k>``."""

    def __init__(self, ledger: CostLedger, k: int) -> None:
        self.ledger, self.k = ledger, k

    def add_work(self, name: str, amount: float = 1) -> None:
        self.ledger.add_work(name, amount)
        self.ledger.add_work(f"{name}/student{self.k}", amount)
