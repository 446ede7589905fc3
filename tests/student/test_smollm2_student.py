"""A real pretrained instruct model as the student, offline on CPU: SmolLM2-135M-Instruct (fetched once
with `teachenv models fetch smollm2`), chat prompts on GSM8K-shaped word problems. Checks what a stand-in
cannot: the chat template frames training and evaluation alike, generation stops at the end of the answer,
answers are graded from natural-language text, and a few LoRA steps lower the loss on held-out examples of
the trained skill.

Marked `real_model` (and `slow`): left out of the default `python -m pytest` (see pyproject.toml) because
a LoRA step of a 135M model takes tens of seconds on 2 CPU cores. Run it with
`python -m pytest -m real_model tests/student/test_smollm2_student.py`. It skips, saying why, where the
model cannot be fetched or GGUF files cannot be read."""

from __future__ import annotations

import json

import numpy as np
import pytest

from teachenv.core.config import EvalConfig, LoRAConfig, StudentConfig, TrainConfig
from teachenv.core.errors import ConfigError
from teachenv.core.records import TrainingExample

pytestmark = [pytest.mark.slow, pytest.mark.real_model]


def word_problem(i: int) -> dict:
    a, b = 2 + i % 7, 3 + i % 5
    return {"question": f"Tom has {a} boxes with {b} pens in each box. How many pens does Tom have? (case {i})",
            "answer": f"Tom has {a} boxes of {b} pens, so he has {a} * {b} = {a * b} pens.\n#### {a * b}"}


@pytest.fixture(scope="module")
def smollm2_student(tmp_path_factory):
    pytest.importorskip("gguf", reason="reading GGUF files needs the gguf package: pip install 'teachenv[smollm2]'")
    from teachenv.core.model_store import fetch

    try:
        fetch("smollm2")
    except ConfigError as exc:
        pytest.skip(f"SmolLM2 cannot be fetched here: {exc}")
    from teachenv.student.lora_student import LoRAStudent
    from teachenv.tasks.math.gsm8k import GSM8KConfig, GSM8KTask

    source = tmp_path_factory.mktemp("gsm")
    for split, rows in (("train", range(60)), ("test", range(100, 108))):
        (source / f"{split}.jsonl").write_text("".join(json.dumps(word_problem(i)) + "\n" for i in rows))
    task = GSM8KTask(GSM8KConfig(source=str(source), val_size=12, test_size=4, prompt_style="chat", grader_workers=1))
    config = StudentConfig(model="smollm2", lora=LoRAConfig(r=8, alpha=16),
                           train=TrainConfig(max_steps=4, batch_size=4, learning_rate=1e-3),
                           eval=EvalConfig(batch_size=12, max_new_tokens=48))
    student = LoRAStudent(config, task)
    student.reset(seed=0)
    return student, task


def held_out_loss(student, task, examples: list[TrainingExample]) -> float:
    """Mean loss on the completions of ``examples``, rendered with the chat template as training renders them."""
    import torch

    tokenizer, model, losses = student.tokenizer, student.model, []
    model.eval()
    with torch.no_grad():
        for example in examples:
            user = [{"role": "user", "content": task.prompt(example.example)}]
            prompt = tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=False)
            full = tokenizer.apply_chat_template([*user, {"role": "assistant", "content": example.completion}],
                                                 tokenize=False)
            ids = tokenizer(full, return_tensors="pt").input_ids
            labels = ids.clone()
            labels[:, :len(tokenizer(prompt).input_ids)] = -100
            losses.append(model(input_ids=ids, labels=labels).loss.item())
    return float(np.mean(losses))


def test_smollm2_chat_student_stops_is_graded_from_text_and_learns_the_trained_skill(smollm2_student):
    from teachenv.engines.base import GenerationRequest

    student, task = smollm2_student
    val = task.load("val")
    # The chat template frames evaluation as it frames training (TRL's conversational rows).
    row = student._train_dataset([TrainingExample(example=val[0], completion="x")])[0]
    assert row["prompt"] == [{"role": "user", "content": task.prompt(val[0])}]
    rendered = student._eval_backend()._render(GenerationRequest(prompt=task.prompt(val[0])), templated=True)
    assert rendered == student.tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=False)
    assert rendered.endswith("<|im_start|>assistant\n")

    report, predictions = student.evaluate("val")
    completions = [p.completion for p in predictions]
    # Generation stops at the end of the answer: no end-of-turn marker or a next turn in the text, and
    # answers end well before the token limit.
    assert not any("<|im_end|>" in c or "<|im_start|>" in c for c in completions), completions
    lengths = [len(student.tokenizer(c).input_ids) for c in completions]
    assert sum(n < 48 for n in lengths) >= len(lengths) // 2, lengths
    # Graded from natural-language text: the answers are sentences, and the grade is the task's extraction.
    assert sum(any(ch.isalpha() for ch in c) for c in completions) >= len(completions) // 2, completions
    assert [p.correct for p in predictions] == [task.score(e, p.completion) for e, p in zip(val, predictions)]

    rows = task.generate("all", 22, np.random.default_rng(0))  # distinct rows: 16 to train on, 6 held out
    train, held_out = rows[:16], rows[16:]
    before = held_out_loss(student, task, held_out)
    metrics = student.train(train, seed=0)
    after = held_out_loss(student, task, held_out)
    assert metrics.steps == 4 and metrics.train_loss > 0
    assert after < before, (before, after)
