"""``ArteEngine`` (``arte``): ARTE (Aligning Teacher with Student Preferences) as a data engine — the teacher
drafts examples (question and answer; a worked rationale where the world's answers carry one), the student
scores each draft with it as the in-context exemplar of a small per-skill *preference set*, the teacher is
aligned with DPO on top- vs bottom-scored drafts, and the aligned teacher writes the round's data.

The preference set is ``probe_per_skill`` training-side items of the draft's skill (never validation or
test). ``signal``:

- ``in-context`` (the paper's, default): ``teachenv.student.feedback.in_context_scores`` with the draft as
  exemplar; ``metric: accuracy`` (teacher-forced greedy accuracy on the preference set, ARTE's) or ``loglik``
  (mean gold log-likelihood, finer-grained on a small set).
- ``influence``: local data influence (as ``montessori``), for students that do not use their context.

**Limitation**: the existing tiny students were pretrained on single items and do not use their context (any
exemplar before the prompt breaks them; the in-context signal is flat, README "Student-feedback signals"), so
on them ``in-context`` cannot tell good drafts from bad ones. The offline config
(``configs/arte-arith.yaml``) therefore uses ``signal: influence`` and says why; a tiny student that uses its
context (a separate recipe, being built elsewhere) or a real LLM student (``configs/gpu-loop-arte.yaml``)
makes ``in-context`` meaningful. The round's body is ``agents.student_preference``; this module only chooses
the signal. An OpenAI-compatible teacher cannot be aligned: a ConfigError says so.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from teachenv.agents.student_preference import Signal, StudentPreferenceConfig, StudentPreferenceEngine


class ArteConfig(StudentPreferenceConfig):
    signal: Signal = Field("in-context", description="How the student scores a draft: in-context (ARTE's) or "
                           "influence (for a student that does not use its context).")
    metric: Literal["accuracy", "loglik"] = Field(
        "accuracy", description="With signal in-context: the preference set's greedy accuracy or gold log-likelihood.")


class ArteEngine(StudentPreferenceEngine):
    name: ClassVar[str] = "arte"
    Config: ClassVar[type[BaseModel]] = ArteConfig
    prefix: ClassVar[str] = "arte"

    def __init__(self, task: Any, ledger: Any, config: ArteConfig | None = None, *, teacher: Any = None) -> None:
        super().__init__(task, ledger, config or ArteConfig(), teacher=teacher)
        self.config: ArteConfig

    @property
    def signal(self) -> Literal["influence", "in-context"]:
        return self.config.signal

    @property
    def metric(self) -> Literal["accuracy", "loglik"]:
        return self.config.metric
