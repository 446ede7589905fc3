"""Student-feedback signals: influence has meaning and leaves the student bit-exact; in-context scores do not
depend on batching and rank a correct exemplar above a wrong one on a student taught to use its
context; learnability is 1 on solved items and 0 on impossible ones (real tiny student, slow)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from teachenv.core.config import StudentConfig, TinyStudentRecipe, TrainConfig
from teachenv.core.errors import ConfigError
from teachenv.student.feedback import in_context_scores, learnability, local_influence
from teachenv.student.lora_student import LoRAStudent
from teachenv.tasks.arith.task import ArithConfig, ArithTask

PLUMBING = TinyStudentRecipe(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, pretrain_steps=0)


@pytest.fixture(scope="module")
def task():
    return ArithTask(ArithConfig(val_per_skill=8, test_per_skill=8))


@pytest.fixture(scope="module")
def student(task):
    config = StudentConfig(model="plumbing", tiny=PLUMBING,
                           train=TrainConfig(max_steps=2, batch_size=8, learning_rate=1e-2))
    s = LoRAStudent(config, task)
    s.train(task.generate("add", 16, np.random.default_rng(0)), seed=0)
    return s


def weights(student):
    return {k: v.detach().clone() for k, v in student.model.state_dict().items()}


def test_training_on_a_probe_copy_helps_more_than_a_wrong_answer(student, task):
    probe = task.generate("add", 4, np.random.default_rng(1))
    wrong = probe[0].model_copy(update={"completion": str(int(probe[0].completion) + 5)})
    scores = local_influence(student, [[probe[0]], [wrong]], probe, learning_rate=0.5)
    assert scores.influence[0] > 0
    assert scores.influence[0] > scores.influence[1]


def test_influence_restores_weights_and_optimizer_state_exactly(student, task):
    params = [p for p in student.model.parameters() if p.requires_grad]
    adam = torch.optim.Adam(params, lr=1e-2)
    batch = task.generate("sub", 4, np.random.default_rng(2))
    probe = task.generate("sub", 4, np.random.default_rng(3))
    # give Adam a real state first, then compare everything bit for bit
    student.model.zero_grad()
    sum(p.sum() for p in params).backward()
    adam.step()
    before, state = weights(student), {k: {n: t.clone() for n, t in v.items() if torch.is_tensor(t)}
                                       for k, v in adam.state_dict()["state"].items()}
    grads = [p.grad.clone() for p in params]
    local_influence(student, [batch[:2], batch[2:]], probe, optimizer=adam)
    after = weights(student)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    for k, v in adam.state_dict()["state"].items():
        assert all(torch.equal(state[k][n], t) for n, t in v.items() if torch.is_tensor(t))
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, params, strict=True))


def test_in_context_scores_do_not_depend_on_batching(student, task):
    rng = np.random.default_rng(4)
    candidates, exam = task.generate("mul", 3, rng), task.generate("max", 5, rng)
    together = in_context_scores(student, candidates, exam, batch_size=4)
    for i, candidate in enumerate(candidates):
        alone = in_context_scores(student, [candidate], exam, batch_size=64)
        assert np.allclose(alone.item_loglik[0], together.item_loglik[i], atol=1e-4)
        assert alone.accuracy[0] == together.accuracy[i]
    assert all(v < 0 for row in together.item_loglik for v in row)


def test_bad_input_is_a_clear_error(student, task):
    with pytest.raises(ConfigError, match="candidates"):
        in_context_scores(student, [], task.generate("add", 1, np.random.default_rng(0)))
    with pytest.raises(ConfigError, match="k=0"):
        learnability(student, [], 0)


@pytest.mark.slow
def test_learnability_is_one_on_solved_items_and_zero_on_impossible_ones(task):
    student = LoRAStudent(StudentConfig(model="tiny"), task)  # the cached quick-start student solves 'add'
    solved = [e.example for e in task.generate("add", 6, np.random.default_rng(5))]
    impossible = [e.model_copy(update={"answer": str(int(e.answer) + 1000)}) for e in solved]
    assert learnability(student, solved, 4, temperature=0.3) == [1.0] * 6
    assert learnability(student, impossible, 4, temperature=0.3) == [0.0] * 6


def test_a_correct_exemplar_scores_above_a_wrong_one_on_a_student_that_uses_its_context(task):
    """A small untrained student is taught (plain Adam on the base, ~300 steps, seconds) to answer a question
    that its exemplar already answered, by copying; then the exam item's own correct exemplar must beat the
    same exemplar with a corrupted answer, in log-likelihood and greedy accuracy."""
    from teachenv.student.feedback import SEPARATOR, _mean_loss, _pair_ids

    recipe = TinyStudentRecipe(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, pretrain_steps=0)
    student = LoRAStudent(StudentConfig(model="plumbing", tiny=recipe), task)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    optimizer = torch.optim.Adam(student.base.parameters(), lr=3e-3)
    for _ in range(300):
        rows = [_pair_ids(student, task.prompt(e.example) + e.completion + SEPARATOR + task.prompt(e.example),
                          e.completion) for e in task.generate("mul", 16, rng)]
        loss = _mean_loss(student, rows, 64, grad=True)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    exam = task.generate("mul", 6, rng)
    for item in exam:
        wrong = item.model_copy(update={"completion": str(int(item.completion) + 7)})
        scores = in_context_scores(student, [item, wrong], [item])
        assert scores.mean_loglik[0] > scores.mean_loglik[1]
        assert scores.accuracy == [1.0, 0.0]
