"""``MATHTask`` (``math``): competition mathematics (Hendrycks et al.'s MATH) with LaTeX answers.

Rows: ``problem`` and ``solution`` (a worked solution whose final answer is ``\\boxed{...}``), plus the
subject (``type`` in ``EleutherAI/hendrycks_math``, ``subject`` in ``HuggingFaceH4/MATH-500``) and the
level (``"Level 3"`` or ``3``). The original ``lighteval/MATH`` is gone from the Hub, so the source is
a config value: the default reads the seven subject configs of ``EleutherAI/hendrycks_math``; set
``test_source: HuggingFaceH4/MATH-500`` to test on MATH-500 (the usual 500-problem subset of the
test split). The gold answer is the row's ``answer`` column when it has one, else the last boxed
value of the solution; a row with neither is skipped and reported. Skills come from the metadata
(``skill_by``: subject, level, or both) and answers are graded by math-verify.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from teachenv.tasks.math.base import MathConfig, MathDatasetTask
from teachenv.tasks.math.extraction import last_boxed

SUBJECTS = ("algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory",
            "prealgebra", "precalculus")


class MATHConfig(MathConfig):
    source: str = Field("EleutherAI/hendrycks_math", description="A Hub id, or a local directory / data file.")
    subsets: tuple[str, ...] | None = SUBJECTS
    question_column: str = "problem"
    solution_column: str = "solution"
    answer_column: str | None = Field("answer", description="A column with the final answer, used where a row "
                                                            "has it (MATH-500); else the solution's last boxed value.")
    subject_columns: tuple[str, ...] = Field(("type", "subject"), description="Where the subject is (first found).")
    level_column: str = "level"
    skill_by: Literal["subject", "level", "subject-level"] = "subject"
    val_size: int = Field(500, ge=1, description="Validation items drawn from the train split (DataEnvGym: up to 1,750).")


class MATHTask(MathDatasetTask):
    name: ClassVar[str] = "math"
    Config: ClassVar[type[BaseModel]] = MATHConfig
    max_new_tokens: ClassVar[int] = 512

    def __init__(self, config: MATHConfig | None = None) -> None:
        super().__init__(config or MATHConfig())

    def gold_answer(self, raw: dict[str, Any]) -> str:
        column = self.config.answer_column
        given = raw.get(column) if column else None
        if isinstance(given, str) and given.strip():
            return given.strip()
        boxed = last_boxed(str(raw.get(self.config.solution_column) or ""))
        if not boxed or not boxed.strip():
            raise ValueError("the solution has no \\boxed{} final answer and the row no answer column")
        return boxed.strip()

    def row_skill(self, raw: dict[str, Any]) -> str:
        subject = next((str(raw[c]) for c in self.config.subject_columns if raw.get(c)), "unknown subject")
        digits = re.findall(r"\d+", str(raw.get(self.config.level_column, "")))
        level = f"level-{digits[0]}" if digits else "level-?"
        return {"subject": subject, "level": level, "subject-level": f"{subject}/{level}"}[self.config.skill_by]

    def describe_skill(self, skill: str) -> str:
        return f"competition mathematics (MATH), {skill}; the final answer in \\boxed{{}}"
