"""Student-feedback signals for teachers that learn from the student: in-context score, local influence,
learnability.

- ``in_context_scores``: for many candidate exemplars at once, the student's log-likelihood of the gold
  completions of an exam set when the candidate (rendered as ``task.prompt(candidate) + completion``) stands
  before each exam prompt as its in-context exemplar (LbT, ARTE). Padded forwards over candidates × exam
  items, in chunks of ``batch_size`` rows. Accuracy is teacher-forced greedy: every gold token is the
  student's argmax.
- ``local_influence``: the change of the student's mean completion loss on a probe set after one optimiser
  step on a candidate (or a small group) (Montessori-Instruct); positive = the step helped. Only the
  trainable (LoRA) parameters, their gradients and the optimiser's state are saved and restored, bit-exact.
- ``learnability``: the student's pass rate over ``k`` sampled answers per question (through the student's
  own generation and the task's grading), the "not too easy, not impossible" signal; ``student_answers``
  gives the answers themselves with their credit (LbT M3 shows the teacher the wrong ones).

It works on a ``LoRAStudent`` (its ``model``, ``tokenizer`` and ``task``) and knows nothing about teachers,
preference pairs or rounds; a caller inside an environment round wraps a call in
``env.workspace.memo_json`` so a resumed run reads it back. With a ``ledger`` given, the work is counted
(``student_forward_passes``: rows through the model; ``student_optimizer_steps``). torch is imported inside
the functions, so importing this module stays light.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from teachenv.core.errors import ConfigError
from teachenv.core.records import TaskExample, TrainingExample

if TYPE_CHECKING:
    from teachenv.student.lora_student import LoRAStudent

SEPARATOR = "\n"  # between the exemplar's completion and the exam item's prompt


@dataclass(frozen=True)
class InContextScores:
    """Per candidate: mean gold log-likelihood over the exam (``mean_loglik``), the per-item values
    (``item_loglik[c][i]``, summed over the gold tokens) and the teacher-forced greedy accuracy."""

    mean_loglik: list[float]
    item_loglik: list[list[float]]
    accuracy: list[float]


@dataclass(frozen=True)
class InfluenceScores:
    """Probe loss before any step, and per candidate group the loss after one step and the influence
    (``before - after``: positive when the step lowered the probe loss)."""

    probe_loss_before: float
    probe_loss_after: list[float]
    influence: list[float]


def _pair_ids(student: LoRAStudent, prefix: str, completion: str) -> tuple[list[int], int]:
    """Token ids of prefix + completion (the prompt tokenised as training does) and where the completion starts."""
    tokenizer = student.tokenizer
    prompt_ids = tokenizer(prefix).input_ids
    completion_ids = tokenizer(completion, add_special_tokens=False).input_ids
    if not completion_ids:
        raise ConfigError(f"The gold completion {completion!r} tokenises to nothing; give a non-empty completion.")
    return prompt_ids + completion_ids, len(prompt_ids)


def _completion_logliks(student: LoRAStudent, rows: Sequence[tuple[list[int], int]], batch_size: int,
                        *, grad: bool = False) -> tuple[Any, Any]:
    """Per row: summed log-likelihood of its completion tokens and whether all are the argmax (tensors)."""
    import torch

    model = student.model
    device = next(model.parameters()).device
    pad_id = student.tokenizer.pad_token_id or 0
    sums, greedy = [], []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(chunk), width), dtype=torch.long)
        target_mask = torch.zeros((len(chunk), width), dtype=torch.bool)
        for r, (ids, boundary) in enumerate(chunk):  # right padding: positions stay those of training
            input_ids[r, :len(ids)] = torch.tensor(ids)
            attention[r, :len(ids)] = 1
            target_mask[r, boundary:len(ids)] = True
        input_ids, attention, target_mask = input_ids.to(device), attention.to(device), target_mask.to(device)
        with torch.set_grad_enabled(grad):
            logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].float()
            logp = torch.log_softmax(logits, dim=-1)
            targets = input_ids[:, 1:]
            mask = target_mask[:, 1:]
            token_lp = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            sums.append((token_lp * mask).sum(-1))
            hit = (logits.argmax(-1) == targets) | ~mask
            greedy.append(hit.all(-1))
    return torch.cat(sums), torch.cat(greedy)


def _count(ledger: Any, name: str, amount: int) -> None:
    if ledger is not None and amount:
        ledger.add_work(name, amount)


def in_context_scores(student: LoRAStudent, candidates: Sequence[TrainingExample],
                      exam: Sequence[TrainingExample], *, batch_size: int = 64,
                      ledger: Any = None) -> InContextScores:
    """Score every candidate as the in-context exemplar of every exam item (see the module docstring)."""
    if not candidates or not exam:
        raise ConfigError(f"in_context_scores needs candidates and exam items; got {len(candidates)} candidates "
                          f"and {len(exam)} exam items.")
    if batch_size < 1:
        raise ConfigError(f"in_context_scores batch_size must be ≥ 1, got {batch_size}.")
    task = student.task
    exam_prompts = [task.prompt(e.example) for e in exam]
    rows = []
    for candidate in candidates:
        exemplar = task.prompt(candidate.example) + candidate.completion + SEPARATOR
        rows.extend(_pair_ids(student, exemplar + p, e.completion) for p, e in zip(exam_prompts, exam, strict=True))
    sums, greedy = _completion_logliks(student, rows, batch_size)
    _count(ledger, "student_forward_passes", len(rows))
    per_item = sums.view(len(candidates), len(exam))
    hits = greedy.view(len(candidates), len(exam)).float()
    return InContextScores(mean_loglik=per_item.mean(1).tolist(), item_loglik=per_item.tolist(),
                           accuracy=hits.mean(1).tolist())


def _mean_loss(student: LoRAStudent, rows: Sequence[tuple[list[int], int]], batch_size: int, *,
               grad: bool = False) -> Any:
    """Mean per-token completion loss over ``rows`` (as a tensor; differentiable with ``grad``)."""
    sums, _ = _completion_logliks(student, rows, batch_size, grad=grad)
    tokens = sum(len(ids) - boundary for ids, boundary in rows)
    return -sums.sum() / tokens


def local_influence(student: LoRAStudent, candidates: Sequence[Sequence[TrainingExample]],
                    probe: Sequence[TrainingExample], *, learning_rate: float | None = None,
                    optimizer: Any = None, batch_size: int = 64, ledger: Any = None) -> InfluenceScores:
    """Probe-loss change after one step on each candidate group; the student is left exactly as found.

    ``optimizer``: a torch optimiser over the student's trainable parameters (its state is saved and restored,
    so an Adam in mid-training takes its real next step); default a plain SGD step of ``learning_rate``
    (default ``student.config.train.learning_rate``).
    """
    import torch

    if student.adapter is None:
        raise ConfigError("local_influence needs the student's LoRA adapter (the trainable weights); train the "
                          "student once (student.train) before asking for influence.")
    if not probe or not candidates or any(not group for group in candidates):
        raise ConfigError(f"local_influence needs a non-empty probe set and non-empty candidate groups; got "
                          f"{len(probe)} probe items and group sizes {[len(g) for g in candidates]}.")
    task = student.task
    params = [p for p in student.model.parameters() if p.requires_grad]
    if optimizer is None:
        optimizer = torch.optim.SGD(params, lr=learning_rate or student.config.train.learning_rate)
    probe_rows = [_pair_ids(student, task.prompt(e.example), e.completion) for e in probe]
    saved_params = [p.detach().clone() for p in params]
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
    saved_state = copy.deepcopy(optimizer.state_dict())
    was_training = student.model.training
    student.model.eval()  # no dropout: the step and the probe are deterministic
    after = []
    try:
        before = float(_mean_loss(student, probe_rows, batch_size))
        for group in candidates:
            rows = [_pair_ids(student, task.prompt(e.example), e.completion) for e in group]
            optimizer.zero_grad(set_to_none=True)
            _mean_loss(student, rows, batch_size, grad=True).backward()
            optimizer.step()
            after.append(float(_mean_loss(student, probe_rows, batch_size)))
            with torch.no_grad():
                for p, saved in zip(params, saved_params, strict=True):
                    p.copy_(saved)
            optimizer.load_state_dict(copy.deepcopy(saved_state))
        _count(ledger, "student_forward_passes", len(probe_rows) * (1 + len(candidates))
               + sum(len(g) for g in candidates))
        _count(ledger, "student_optimizer_steps", len(candidates))
    finally:
        with torch.no_grad():
            for p, saved, grad in zip(params, saved_params, saved_grads, strict=True):
                p.copy_(saved)
                p.grad = grad
        optimizer.load_state_dict(saved_state)
        student.model.train(was_training)
    return InfluenceScores(probe_loss_before=before, probe_loss_after=after, influence=[before - a for a in after])


def student_answers(student: LoRAStudent, questions: Sequence[TaskExample], k: int = 1, *, temperature: float = 0.0,
                    seed: int = 0, ledger: Any = None) -> list[list[tuple[str, float]]]:
    """Per question, ``k`` of the student's answers (greedy at temperature 0; sample j seeded ``seed + j``), each
    with the task's credit (1.0 = fully correct)."""
    from teachenv.student.grading import sample_completions

    if k < 1:
        raise ConfigError(f"student_answers needs k ≥ 1 answers per question, got k={k}.")
    if not questions:
        return []
    task = student.task
    max_new_tokens = student.config.eval.max_new_tokens or task.max_new_tokens
    samples = sample_completions(student._eval_backend(), task, questions, k, max_new_tokens,
                                 temperature=temperature, seed=seed)
    credits = task.credit_many([q for q in questions for _ in range(k)], [c for s in samples for c in s])
    _count(ledger, "student_forward_passes", len(questions) * k)
    return [list(zip(s, credits[i * k:(i + 1) * k], strict=True)) for i, s in enumerate(samples)]


def learnability(student: LoRAStudent, questions: Sequence[TaskExample], k: int, *, temperature: float = 0.8,
                 seed: int = 0, ledger: Any = None) -> list[float]:
    """Per question, the fraction of ``k`` sampled answers (temperature ``temperature``) graded fully correct."""
    if k < 1:
        raise ConfigError(f"learnability needs k ≥ 1 samples per question, got k={k}.")
    answers = student_answers(student, questions, k, temperature=temperature, seed=seed, ledger=ledger)
    return [sum(1 for _, credit in row if credit >= 1.0) / k for row in answers]
