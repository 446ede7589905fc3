"""``GSM8KTask`` (``gsm8k``): grade-school word problems with a numeric final answer.

Rows: ``question`` and ``answer`` (a worked solution ending in ``#### <number>``), from the Hub
(``openai/gsm8k``, config ``main``) or a local JSONL in that shape. The gold answer is the number after
the last ``####``; a row without one, or with a non-numeric one, is skipped and reported with its id.
GSM8K has no skill labels: it is one skill (``all``) unless ``task.skills`` discovers them (a shipped
mapping file, or LLM labelling and clustering, cached). Graded as numbers when both sides are numbers
(``18``, ``$18.00``, ``18 dollars``, ``1,800``), else by math-verify.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from teachenv.tasks.math.base import MathConfig, MathDatasetTask
from teachenv.tasks.math.extraction import gsm8k_gold, normalize_number

ONE_SKILL = "all"


class GSM8KConfig(MathConfig):
    source: str = Field("openai/gsm8k", description="A Hub id, or a local directory / JSONL ('{split}' for one "
                                                    "file per split) with question / answer rows.")
    subsets: tuple[str, ...] | None = ("main",)
    val_size: int = Field(500, ge=1, description="Validation items drawn from the train split.")


class GSM8KTask(MathDatasetTask):
    name: ClassVar[str] = "gsm8k"
    Config: ClassVar[type[BaseModel]] = GSM8KConfig

    def __init__(self, config: GSM8KConfig | None = None) -> None:
        super().__init__(config or GSM8KConfig())

    def gold_answer(self, raw: dict[str, Any]) -> str:
        solution = str(raw.get(self.config.solution_column) or "")
        final = gsm8k_gold(solution)
        if final is None:
            raise ValueError("the solution has no '#### <number>' final answer")
        number = normalize_number(final)
        if number is None:
            raise ValueError(f"the final answer {final[:40]!r} is not a number")
        return number

    def row_skill(self, raw: dict[str, Any]) -> str:
        return ONE_SKILL

    def describe_skill(self, skill: str) -> str:
        return ("grade-school math word problems: a few steps of arithmetic, answered with one number"
                + ("" if skill == ONE_SKILL else f" (skill: {skill})"))
