"""The cost ledger: dollars from the price table, teacher-token budget, exhaustion, snapshots."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from teachenv.core.ledger import BudgetConfig, CostLedger, CostSnapshot, TokenPrice


def test_dollars_come_from_the_price_table_per_million_tokens():
    ledger = CostLedger(prices={"big": TokenPrice(prompt=2.0, completion=8.0)})
    ledger.add_tokens("teacher", "big", prompt=500_000, completion=250_000)
    assert ledger.dollars == pytest.approx(1.0 + 2.0)


def test_tokens_of_a_model_without_a_price_cost_nothing_but_are_counted():
    ledger = CostLedger(prices={"big": TokenPrice(prompt=2.0, completion=8.0)})
    ledger.add_tokens("teacher", "unpriced", prompt=1_000_000, completion=1_000_000)
    assert ledger.dollars == 0.0
    assert ledger.teacher_tokens == 2_000_000


def test_tokens_accumulate_per_role_with_calls():
    ledger = CostLedger()
    ledger.add_tokens("teacher", "m", prompt=10, completion=5)
    ledger.add_tokens("teacher", "m", prompt=1, completion=2, calls=3)
    usage = ledger.tokens["teacher"]
    assert (usage.prompt, usage.completion, usage.calls) == (11, 7, 4)


def test_teacher_token_budget_counts_only_teacher_roles():
    ledger = CostLedger(BudgetConfig(teacher_tokens=100))
    ledger.add_tokens("student-eval", "s", prompt=1_000, completion=1_000)
    assert ledger.teacher_tokens == 0
    assert ledger.exhausted() == []
    ledger.add_tokens("data-engine", "t", prompt=30, completion=20)
    ledger.add_tokens("policy", "t", prompt=10, completion=10)
    assert ledger.teacher_tokens == 70
    assert ledger.fraction_left("teacher_tokens") == pytest.approx(0.3)


@pytest.mark.parametrize(("generated", "expected"), [(9, []), (10, ["examples"]), (11, ["examples"])])
def test_examples_budget_is_exhausted_exactly_when_used_reaches_the_limit(generated, expected):
    ledger = CostLedger(BudgetConfig(examples=10))
    ledger.add_examples(generated=generated, accepted=0)
    assert ledger.exhausted() == expected


@pytest.mark.parametrize(("tokens", "expected"), [(99, []), (100, ["teacher_tokens"]), (101, ["teacher_tokens"])])
def test_teacher_token_budget_is_exhausted_exactly_at_the_limit(tokens, expected):
    ledger = CostLedger(BudgetConfig(teacher_tokens=100))
    ledger.add_tokens("teacher", "m", prompt=tokens, completion=0)
    assert ledger.exhausted() == expected


@pytest.mark.parametrize(("prompt_tokens", "expected"), [(999_999, []), (1_000_000, ["dollars"]), (1_000_001, ["dollars"])])
def test_dollar_budget_is_exhausted_exactly_at_the_limit(prompt_tokens, expected):
    ledger = CostLedger(BudgetConfig(dollars=1.0), {"m": TokenPrice(prompt=1.0)})
    ledger.add_tokens("teacher", "m", prompt=prompt_tokens, completion=0)
    assert ledger.exhausted() == expected


def test_wall_clock_budget_can_be_left_out_of_exhaustion():
    ledger = CostLedger(BudgetConfig(seconds=5.0, examples=10))
    ledger.add_seconds(6.0)
    ledger.add_examples(10, 10)
    assert ledger.exhausted() == ["examples", "seconds"]
    assert ledger.exhausted(include_wall_clock=False) == ["examples"]


def test_unlimited_budgets_are_never_exhausted():
    ledger = CostLedger()
    ledger.add_examples(10**9, 0)
    ledger.add_tokens("teacher", "m", 10**9, 10**9)
    ledger.add_seconds(1e9)
    assert ledger.exhausted() == []
    assert ledger.fraction_left("examples") == 1.0


def test_fraction_left_is_the_share_left_and_never_negative():
    ledger = CostLedger(BudgetConfig(examples=200))
    ledger.add_examples(50, 40)
    assert ledger.fraction_left("examples") == pytest.approx(0.75)
    ledger.add_examples(500, 0)
    assert ledger.fraction_left("examples") == 0.0


def test_remaining_examples_counts_generated_not_accepted_and_stops_at_zero():
    assert CostLedger().remaining_examples() is None
    ledger = CostLedger(BudgetConfig(examples=100))
    ledger.add_examples(generated=30, accepted=10)
    assert ledger.remaining_examples() == 70
    ledger.add_examples(generated=80, accepted=0)
    assert ledger.remaining_examples() == 0


def test_reset_clears_every_count():
    ledger = CostLedger(BudgetConfig(examples=5), {"m": TokenPrice(prompt=1.0)})
    ledger.add_examples(5, 5)
    ledger.add_tokens("teacher", "m", 10, 10)
    ledger.add_seconds(3)
    ledger.reset()
    assert ledger.exhausted() == []
    assert (ledger.examples_generated, ledger.teacher_tokens, ledger.dollars, ledger.seconds) == (0, 0, 0.0, 0.0)


def _busy_ledger() -> CostLedger:
    ledger = CostLedger(prices={"m": TokenPrice(prompt=1.5, completion=3.0)})
    ledger.add_tokens("teacher", "m", 1000, 200)
    ledger.add_tokens("student-eval", "m", 50, 5)
    ledger.add_examples(12, 9)
    return ledger


def test_equal_ledgers_give_equal_snapshots():
    assert _busy_ledger().snapshot() == _busy_ledger().snapshot()
    other = _busy_ledger()
    other.add_examples(1, 0)
    assert other.snapshot() != _busy_ledger().snapshot()


def test_snapshot_round_trips_through_json():
    snapshot = _busy_ledger().snapshot()
    data = json.loads(snapshot.model_dump_json())
    assert data["teacher_tokens"] == 1200
    assert data["examples_accepted"] == 9
    assert CostSnapshot.model_validate(data) == snapshot


def test_snapshot_does_not_change_when_the_ledger_goes_on():
    ledger = _busy_ledger()
    snapshot = ledger.snapshot()
    ledger.add_tokens("teacher", "m", 1, 1)
    assert snapshot.tokens["teacher"].prompt == 1000
    assert snapshot.teacher_tokens == 1200


def test_snapshot_excludes_wall_seconds():
    a, b = _busy_ledger(), _busy_ledger()
    b.add_seconds(42.0)
    assert a.snapshot() == b.snapshot()


def test_budget_rejects_unknown_and_non_positive_limits():
    with pytest.raises(ValidationError):
        BudgetConfig(exampels=3)
    with pytest.raises(ValidationError):
        BudgetConfig(dollars=0)
    with pytest.raises(ValidationError):
        TokenPrice(prompt=-1)
