"""DPO alignment of the tiny teacher means something: the margin of chosen over rejected goes up, the
SFT term keeps the chosen side from collapsing, and the aligned adapter is what the backend samples."""

from __future__ import annotations

import numpy as np
import pytest

from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.tasks.arith.task import ArithTask
from teachenv.teacher.align import AlignConfig, align_teacher, sequence_logprobs
from teachenv.teacher.backend import adapter_hash
from teachenv.teacher.model import writing_prompt


def _pairs(n: int = 6) -> list[dict[str, str]]:
    """Chosen: a correct example of the skill; rejected: the same question with a wrong answer."""
    task = ArithTask()
    pairs = []
    for item in task.generate("add", n, np.random.default_rng(3)):
        q, a = item.example.prompt, item.example.answer
        pairs.append({"prompt": writing_prompt("add"), "chosen": q + a, "rejected": q + str(int(a) + 3)})
    return pairs


def _margins(teacher, pairs):
    chosen = sequence_logprobs(teacher, [p["prompt"] for p in pairs], [p["chosen"] for p in pairs])
    rejected = sequence_logprobs(teacher, [p["prompt"] for p in pairs], [p["rejected"] for p in pairs])
    return float(np.mean(chosen)), float(np.mean(np.subtract(chosen, rejected)))


@pytest.mark.slow
def test_dpo_with_an_sft_term_raises_the_margin_and_keeps_the_chosen_side(teacher, tmp_path):
    pairs = _pairs()
    teacher.load_adapter(None)
    chosen_before, margin_before = _margins(teacher, pairs)
    ledger = CostLedger()
    try:
        out = align_teacher(teacher, pairs, AlignConfig(steps=12, batch_size=6), tmp_path / "adapter", ledger)
        assert teacher.identity()["adapter"] == adapter_hash(out) != "base"
        chosen_after, margin_after = _margins(teacher, pairs)
        assert margin_after > margin_before + 0.5, (margin_before, margin_after)
        assert chosen_after > chosen_before, (chosen_before, chosen_after)  # SFT on chosen: no collapse
        assert ledger.work["teacher_dpo_steps"] == 12 and ledger.work["teacher_dpo_tokens"] > 0

        # A second alignment continues the saved adapter (a new folder, a new hash); at a lower rate, since
        # Adam's first steps at 5e-3 on an already-trained adapter were measured to overshoot.
        again = align_teacher(teacher, pairs, AlignConfig(steps=2, batch_size=6, learning_rate=1e-3),
                              tmp_path / "adapter2")
        assert adapter_hash(again) != adapter_hash(out)
        assert _margins(teacher, pairs)[1] > margin_before
    finally:
        teacher.load_adapter(None)


def test_bad_pairs_and_loss_mixes_get_a_clear_error(teacher, tmp_path):
    with pytest.raises(ConfigError, match="chosen and rejected that differ"):
        align_teacher(teacher, [{"prompt": "W add|", "chosen": "1+2=3", "rejected": "1+2=3"}], AlignConfig(),
                      tmp_path)
    with pytest.raises(ValueError, match="one weight per loss"):
        AlignConfig(loss_type=("sigmoid", "sft"), loss_weights=(1.0,))
