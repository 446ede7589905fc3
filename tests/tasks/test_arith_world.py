"""The arithmetic world: held-out splits, the generator, the checker and the scorer."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from teachenv.core.errors import InvalidActionError
from teachenv.core.records import TaskExample, TrainingExample
from teachenv.tasks.arith.task import ArithConfig, ArithTask
from teachenv.tasks.arith.world import SKILLS, Problem, belongs_to, parse_prompt, skill_of

GENERATED_PER_SKILL = 5000


@pytest.fixture(scope="module")
def task() -> ArithTask:
    return ArithTask()


@pytest.fixture(scope="module")
def generated(task) -> dict[str, list[TrainingExample]]:
    return {skill: task.generate(skill, GENERATED_PER_SKILL, np.random.default_rng(123)) for skill in SKILLS}


def _candidate(prompt: str, skill: str, answer: str, completion: str | None = None) -> TrainingExample:
    example = TaskExample(id="c", skill=skill, prompt=prompt, answer=answer)
    return TrainingExample(example=example, completion=answer if completion is None else completion)


def _problem(example: TaskExample) -> Problem:
    op, a, b = parse_prompt(example.prompt)
    return Problem(skill_of(op, a, b), a, b)


# -- splits -------------------------------------------------------------------------------------


def test_each_skill_gets_val_per_skill_and_test_per_skill_items(task):
    for split in ("val", "test"):
        counts = Counter(e.skill for e in task.load(split))
        assert counts == {skill: 100 for skill in SKILLS}


def test_split_sizes_follow_the_config():
    small = ArithTask(ArithConfig(val_per_skill=7, test_per_skill=3))
    assert Counter(e.skill for e in small.load("val")) == {skill: 7 for skill in SKILLS}
    assert Counter(e.skill for e in small.load("test")) == {skill: 3 for skill in SKILLS}


def test_val_and_test_have_no_repeated_prompts_and_are_disjoint(task):
    val = [e.prompt for e in task.load("val")]
    test = [e.prompt for e in task.load("test")]
    assert len(set(val)) == len(val)
    assert len(set(test)) == len(test)
    assert not set(val) & set(test)


def test_splits_are_identical_across_task_instances(task):
    other = ArithTask()
    assert other.load("val") == task.load("val")
    assert other.load("test") == task.load("test")


def test_split_seed_changes_which_items_are_drawn(task):
    other = ArithTask(ArithConfig(split_seed=1))
    assert {e.prompt for e in other.load("val")} != {e.prompt for e in task.load("val")}


def test_load_returns_a_copy_that_callers_cannot_corrupt(task):
    val = task.load("val")
    val.clear()
    assert len(task.load("val")) == 100 * len(SKILLS)


def test_eval_items_are_correct_and_of_their_skill(task):
    for example in [*task.load("val"), *task.load("test")]:
        problem = _problem(example)
        assert problem is not None, example
        assert problem.skill == example.skill
        assert problem.answer == example.answer


@pytest.mark.parametrize("skill", ["add-carry", "sub", "add", "max"])
def test_held_out_answers_cover_every_last_digit(task, skill):
    # A linear hold-out rule such as (a*p + b*q) % 10 would hold out all answers ending in one digit.
    for split in ("val", "test"):
        last_digits = {int(e.answer) % 10 for e in task.load(split) if e.skill == skill}
        assert last_digits == set(range(10)), (split, sorted(last_digits))


@pytest.mark.parametrize("skill", ["add-carry", "sub"])
def test_held_out_operands_cover_every_last_digit(task, skill):
    val = [_problem(e) for e in task.load("val") if e.skill == skill]
    assert {p.a % 10 for p in val} == set(range(10))
    assert {p.b % 10 for p in val} == set(range(10))


# -- generate -----------------------------------------------------------------------------------


def test_generated_examples_never_come_from_val_or_test(task, generated):
    held_out = {e.prompt for e in task.load("val")} | {e.prompt for e in task.load("test")}
    for skill, examples in generated.items():
        assert len(examples) == GENERATED_PER_SKILL
        leaked = [c.example.prompt for c in examples if c.example.prompt in held_out]
        assert leaked == [], (skill, leaked[:5])
        assert all(_problem(c.example).split(task.config.holdout) == "train" for c in examples)


def test_generated_examples_have_the_right_skill_label(generated):
    for skill, examples in generated.items():
        problems = [_problem(c.example) for c in examples]
        assert all(p is not None and p.skill == skill for p in problems), skill
        assert all(c.example.skill == skill for c in examples)
    assert all(c.example.params["carries"] > 0 for c in generated["add-carry"])
    assert all(c.example.params["carries"] == 0 for c in generated["add"])
    assert all(_problem(c.example).a >= _problem(c.example).b for c in generated["sub"])
    assert {_problem(c.example).b for c in generated["mul"]} == set(range(2, 10))


def test_generated_examples_use_two_digit_operands(generated):
    for skill in ("add", "add-carry", "sub", "max"):
        for c in generated[skill][:500]:
            p = _problem(c.example)
            assert 10 <= p.a <= 99 and 10 <= p.b <= 99
    assert all(10 <= _problem(c.example).a <= 99 for c in generated["mul"][:500])


def test_generated_examples_pass_verification(task, generated):
    for examples in generated.values():
        verdicts = [task.verify(c) for c in examples[:1000]]
        assert all(v.accepted for v in verdicts), next(v for v in verdicts if not v.accepted)


def test_generated_completion_is_the_answer(generated):
    for examples in generated.values():
        assert all(c.completion == c.example.answer == _problem(c.example).answer for c in examples[:1000])


def test_generate_is_deterministic_for_a_seeded_generator(task):
    first = task.generate("add-carry", 50, np.random.default_rng(7))
    second = task.generate("add-carry", 50, np.random.default_rng(7))
    third = task.generate("add-carry", 50, np.random.default_rng(8))
    assert first == second
    assert first != third


def test_generate_for_an_unknown_skill_is_empty(task):
    assert task.generate("division", 5, np.random.default_rng(0)) == []


def test_generate_for_zero_examples_is_empty(task):
    assert task.generate("add", 0, np.random.default_rng(0)) == []


# -- verify -------------------------------------------------------------------------------------


def test_verify_accepts_a_correct_example():
    assert ArithTask().verify(_candidate("15+67=", "add-carry", "82")).accepted


def test_verify_rejects_a_wrong_completion():
    verdict = ArithTask().verify(_candidate("15+67=", "add-carry", "82", completion="81"))
    assert (verdict.accepted, verdict.reason) == (False, "wrong-answer")
    assert "82" in verdict.detail


def test_verify_rejects_a_wrong_gold_answer_even_with_a_right_completion():
    verdict = ArithTask().verify(_candidate("15+67=", "add-carry", "83", completion="82"))
    assert verdict.reason == "wrong-answer"


@pytest.mark.parametrize("prompt", ["15 plus 67", "15+67", "15/67=", "", "max(15)="])
def test_verify_rejects_a_malformed_prompt_as_unparseable(prompt):
    verdict = ArithTask().verify(_candidate(prompt, "add-carry", "82"))
    assert (verdict.accepted, verdict.reason) == (False, "unparseable")


def test_verify_rejects_operands_with_the_wrong_number_of_digits():
    verdict = ArithTask().verify(_candidate("150+670=", "add-carry", "820"))
    assert not verdict.accepted


def test_verify_rejects_an_unknown_skill():
    verdict = ArithTask().verify(_candidate("15+67=", "division", "82"))
    assert (verdict.accepted, verdict.reason) == (False, "unknown-skill")


@pytest.mark.parametrize(("prompt", "claimed", "answer"), [
    ("15+17=", "add", "32"),        # has a carry
    ("12+34=", "add-carry", "46"),  # has none
    ("20-10=", "add", "10"),
    ("12*3=", "sub", "36"),
])
def test_verify_rejects_a_mislabeled_skill(prompt, claimed, answer):
    verdict = ArithTask().verify(_candidate(prompt, claimed, answer))
    assert (verdict.accepted, verdict.reason) == (False, "skill-mismatch")


def test_verify_accepts_each_skill_in_its_own_format():
    task = ArithTask()
    for prompt, skill, answer in [("12+34=", "add", "46"), ("15+17=", "add-carry", "32"),
                                  ("52-17=", "sub", "35"), ("12*3=", "mul", "36"), ("max(12,34)=", "max", "34")]:
        assert task.verify(_candidate(prompt, skill, answer)).accepted, prompt


@pytest.mark.parametrize("prompt", ["015+67=", "15+067=", "\uff11\uff15+\uff16\uff17="])
def test_verify_rejects_a_non_canonical_spelling_of_a_problem(prompt):
    assert not ArithTask().verify(_candidate(prompt, "add-carry", "82")).accepted


# -- score --------------------------------------------------------------------------------------


@pytest.mark.parametrize("completion", ["82", "82\n15+3=18", " 82 ", "\n82\n", "82 \nmore"])
def test_score_accepts_the_answer_on_the_first_line(completion):
    example = TaskExample(id="x", skill="add-carry", prompt="15+67=", answer="82")
    assert ArithTask().score(example, completion)


@pytest.mark.parametrize("completion", ["81", "820", "8 2", "", "82.0", "-82", "the answer is 82"])
def test_score_rejects_anything_but_the_answer(completion):
    example = TaskExample(id="x", skill="add-carry", prompt="15+67=", answer="82")
    assert not ArithTask().score(example, completion)


# -- the world's helpers --------------------------------------------------------------------------


def test_parse_prompt_reads_each_operator():
    assert parse_prompt("12+34=") == ("+", 12, 34)
    assert parse_prompt(" 52-17= ") == ("-", 52, 17)
    assert parse_prompt("12*3=") == ("*", 12, 3)
    assert parse_prompt("max(12,34)=") == ("max", 12, 34)
    assert parse_prompt("12+34") is None


def test_belongs_to_enforces_each_skills_rule():
    assert belongs_to("add", 12, 34, 2) and not belongs_to("add", 15, 17, 2)
    assert belongs_to("add-carry", 15, 17, 2) and not belongs_to("add-carry", 12, 34, 2)
    assert belongs_to("sub", 34, 34, 2) and not belongs_to("sub", 12, 34, 2)
    assert belongs_to("mul", 12, 9, 2) and not belongs_to("mul", 12, 1, 2) and not belongs_to("mul", 12, 10, 2)
    assert not belongs_to("max", 5, 34, 2) and not belongs_to("max", 100, 34, 2)


def test_problem_params_count_carries_borrows_and_each_skills_subskill_axis():
    assert Problem("add-carry", 99, 99).params == {"digits": 2, "carries": 2}
    assert Problem("add", 10, 34).params == {"digits": 2, "carries": 0, "zeros": 1}
    assert Problem("sub", 50, 17).params == {"digits": 2, "borrows": 1}
    assert Problem("mul", 12, 3).params == {"digits": 2, "multiplier": 3}
    assert Problem("max", 41, 47).params == {"digits": 2, "same_lead": 1}
    assert Problem("max", 41, 57).params == {"digits": 2, "same_lead": 0}


def test_generation_with_parameters_makes_only_problems_that_have_them():
    task = ArithTask()
    rng = np.random.default_rng(0)
    for skill in task.skills:
        for params in task.subskill_params(skill):
            made = task.generate(skill, 5, rng, params)
            assert len(made) == 5 and all(params.items() <= m.example.params.items() for m in made), (skill, params)
    assert task.generate("add-carry", 5, rng, {"carries": 3}) == []  # two digits carry at most twice
    with pytest.raises(InvalidActionError, match="takes the parameters"):
        task.generate("mul", 1, rng, {"carries": 1})


def test_subskills_from_the_generator_are_every_parameter_setting_in_order():
    task = ArithTask()
    assert task.subskill_params("add-carry") == [{"carries": 1}, {"carries": 2}]
    assert task.subskill_params("mul") == [{"multiplier": m} for m in range(2, 10)]
    assert task.subskill_params("sub") == [{"borrows": 0}, {"borrows": 1}]
    assert ArithTask(ArithConfig(digits=3)).subskill_params("add-carry") == [{"carries": c} for c in (1, 2, 3)]


def test_holdout_share_is_close_to_the_configured_share():
    problems = [Problem("max", a, b) for a in range(10, 100) for b in range(10, 100)]
    splits = Counter(p.split(0.15) for p in problems)
    assert abs(splits["val"] / len(problems) - 0.15) < 0.02
    assert abs(splits["test"] / len(problems) - 0.15) < 0.02


def test_a_teachers_example_carries_the_parameters_of_the_problem_it_really_is():
    made = ArithTask().candidate("add-carry", "68+92=", "160", "llm")
    assert made.example.params == {"digits": 2, "carries": 2}
    assert ArithTask().candidate("add", "what is 2+2", "4", "llm").example.params == {}


def test_arith_prompts_are_plain_text_unless_a_chat_student_asks_for_its_template():
    from teachenv.core.errors import ConfigError
    from teachenv.envs.build import as_run_config, build_task
    from teachenv.envs.defaults import plumbing_config

    assert build_task(plumbing_config()).prompt_style == "plain"  # the tiny students read bare text
    chat = plumbing_config().model_dump(mode="json")
    chat["task"]["prompt_style"] = "chat"
    assert build_task(as_run_config(chat)).prompt_style == "chat"
    chat["task"]["prompt_style"] = "markdown"
    with pytest.raises(ConfigError, match="prompt_style"):
        build_task(as_run_config(chat))


def test_a_skills_train_pool_is_every_distinct_problem_its_generator_can_make(task):
    made = {e.example.content_key for e in task.generate("mul", 8000, np.random.default_rng(5))}
    assert len(made) == task.train_pool("mul") == 497  # 8,000 draws of 497 miss none (odds about 1e-5)
    assert task.train_pool("add") < task.train_pool("sub") < task.train_pool("max")
    assert ArithTask(ArithConfig(digits=4)).train_pool("max") is None  # too many pairs to count: never the limit
