"""Smoke episode of the real-VQA path: a ChartQA-shaped parquet dataset made here (``datasets`` Image
feature, list-of-answers column, ClassLabel skill column), a tiny LLaVA with a chat template saved to a
local folder and loaded by path as a Hub VLM would be, and two rounds of `run_episode` with a
data-selection teacher. It checks the plumbing (loader, scoring, student, run directory), not accuracy."""

from __future__ import annotations

import json

import pytest

from teachenv.cli.episode import run_episode
from teachenv.core.config import validate_config
from teachenv.core.run_dir import RunDirectory
from teachenv.tasks.vqa.dataset_task import VQADatasetConfig, VQADatasetTask

COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 200, 30)}
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: "
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image> {% else %}{{ part['text'] }}"
    "{% endif %}{% endfor %}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
)


def _split(n: int, offset: int):
    import datasets
    from PIL import Image

    names = list(COLOURS)
    images = [Image.new("RGB", (24, 24), COLOURS[names[i % 3]]) for i in range(n)]
    for i, image in enumerate(images):  # every picture differs, so no two rows share a content key
        image.putpixel((0, 0), (offset + i, 0, 0))
    features = datasets.Features({
        "image": datasets.Image(), "query": datasets.Value("string"),
        "label": datasets.List(datasets.Value("string")),
        "human_or_machine": datasets.ClassLabel(names=["human", "machine"]),
    })
    return datasets.Dataset.from_dict({
        "image": images,
        "query": ["What colour is the picture?" if i % 2 else "Which colour fills it?" for i in range(n)],
        "label": [[names[i % 3]] for i in range(n)],
        "human_or_machine": [i % 2 for i in range(n)],
    }, features=features)


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("chartqa")
    _split(24, 0).to_parquet(str(root / "train.parquet"))
    _split(6, 100).to_parquet(str(root / "test.parquet"))
    return root


TASK = {"name": "vqa", "eval_split": "test", "question_column": "query", "answer_column": "label",
        "skill_column": "human_or_machine", "scoring": "exact", "val_size": 4}


def test_classlabel_skills_are_named_and_answers_read_from_lists(chart_dir):
    task = VQADatasetTask(VQADatasetConfig(source=str(chart_dir), **{k: v for k, v in TASK.items() if k != "name"}))
    assert task.skills == ("human", "machine")
    test = task.load("test")
    assert len(test) == 6 and all(e.image and e.answer in COLOURS for e in test)
    assert task.credit(test[0], f"{test[0].answer.capitalize()}.") == 1.0


def test_a_real_vqa_episode_runs_with_a_local_vlm(chart_dir, tmp_path):
    from teachenv.core.config import TinyVLMRecipe
    from teachenv.student.tiny_vlm import build_tiny_vlm

    words = "what colour is the picture which fills it ? red blue green assistant user :".split()
    recipe = TinyVLMRecipe(vision_hidden_size=16, vision_layers=1, vision_heads=2, hidden_size=16, num_layers=1,
                           num_heads=2, intermediate_size=32, pretrain_steps=0)
    model, processor = build_tiny_vlm(recipe, words, chat_template=CHAT_TEMPLATE)
    student_dir = tmp_path / "student"
    model.save_pretrained(student_dir)
    processor.save_pretrained(student_dir)

    config = validate_config({
        "name": "vqa-smoke", "seed": 1, "runs_dir": str(tmp_path / "runs"),
        "task": {**TASK, "source": str(chart_dir)},
        "student": {"model": str(student_dir), "train": {"max_steps": 2, "batch_size": 4},
                    "eval": {"max_new_tokens": 3}},
        "agent": {"policy": {"name": "uniform"}, "engine": {"name": "procedural"}},
        "env": {"max_rounds": 2, "examples_per_round": 8, "max_per_skill": 8},
    })
    outcome = run_episode(config, RunDirectory(tmp_path / "runs" / "vqa-smoke"))
    rows = outcome.run_dir.episode_rows()
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert set(rows[0]["val_accuracy_by_skill"]) == {"human", "machine"}
    assert "test_accuracy" in rows[0] and "test_accuracy" in rows[-1]
    assert all(r["examples_accepted"] > 0 and r["train"]["steps"] == 2 for r in rows[1:])
    root = tmp_path / "runs" / "vqa-smoke"
    accepted = [json.loads(line) for line in (root / "rounds" / "1" / "generated.jsonl").read_text().splitlines()]
    assert accepted and all(row["example"]["image"] for row in accepted)
    predictions = [json.loads(line) for line in (root / "rounds" / "2" / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == 4 and all(0.0 <= p["credit"] <= 1.0 for p in predictions)
    assert (root / "rounds" / "2" / "adapter" / "adapter_config.json").is_file()
