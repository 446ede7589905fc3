"""The tiny vision student and VisionLoRAStudent on untrained plumbing models: tokenizer, processor and
model round trips, batched generation, LoRA targets, one training round graded per skill, and a
chat-template VLM loaded from a local path (the way a Hub VLM is)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from teachenv.core.config import LoRAConfig, StudentConfig, TinyVLMRecipe, TrainConfig
from teachenv.core.errors import ConfigError
from teachenv.engines.base import GenerationRequest
from teachenv.engines.vision_backend import TransformersVisionBackend
from teachenv.student.build_report import split_record
from teachenv.student.tiny_vlm import build_tiny_vlm, load_vlm
from teachenv.student.vision_student import VisionLoRAStudent, linear_targets, module_part
from teachenv.student.word_tokenizer import build_word_tokenizer
from teachenv.tasks.vqa.shapes import ShapesConfig, ShapesTask

PLUMBING = TinyVLMRecipe(vision_hidden_size=16, vision_layers=1, vision_heads=2, hidden_size=16, num_layers=1,
                         num_heads=2, intermediate_size=32, pretrain_steps=0)
# A chat template in the style of LLaVA-1.5's: what a Hub VLM ships with.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: "
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image> {% else %}{{ part['text'] }}"
    "{% endif %}{% endfor %}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
)


@pytest.fixture(scope="module")
def task():
    return ShapesTask(ShapesConfig(val_per_skill=3, test_per_skill=3))


def make_student(task, **overrides) -> VisionLoRAStudent:
    config = StudentConfig(model="plumbing", tiny_vlm=PLUMBING,
                           train=TrainConfig(max_steps=3, batch_size=8, learning_rate=1e-2), **overrides)
    return VisionLoRAStudent(config, task)


def test_word_tokenizer_reads_questions_and_marks_unknown_words(task):
    tokenizer = build_word_tokenizer(task.vocabulary())
    ids = tokenizer("<image> What colour is the circle?", add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["<image>", "what", "colour", "is", "the", "circle", "?"]
    assert tokenizer.decode(ids[1:]) == "what colour is the circle ?"
    assert tokenizer.convert_ids_to_tokens(tokenizer("one purple circle")["input_ids"]) == ["<unk>", "<unk>", "circle"]


def test_model_and_processor_save_and_reload_exactly(task, tmp_path):
    model, processor = build_tiny_vlm(PLUMBING, task.vocabulary())
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded, loaded_processor = load_vlm(tmp_path)
    examples = task.load("val")[:4]
    backend = TransformersVisionBackend(model, processor)
    inputs = [backend.processor(images=[_image(e)], text=[f"<image> {e.prompt}"], return_tensors="pt") for e in examples]
    again = [loaded_processor(images=[_image(e)], text=[f"<image> {e.prompt}"], return_tensors="pt") for e in examples]
    # One image token per patch of the 64-px image (16 at 16 px), then the question's words.
    patches = (64 // PLUMBING.patch_size) ** 2
    assert inputs[0]["input_ids"].shape[1] == patches + len(examples[0].prompt.replace("?", " ?").split())
    with torch.no_grad():
        for a, b in zip(inputs, again, strict=True):
            assert all(torch.equal(a[k], b[k]) for k in a)
            assert torch.equal(model(**a).logits, loaded(**b).logits)


def test_batched_answers_do_not_depend_on_the_batch_size(task):
    model, processor = build_tiny_vlm(PLUMBING.model_copy(update={"seed": 3}), task.vocabulary())
    requests = [GenerationRequest(prompt=e.prompt, image=e.image, max_new_tokens=3) for e in task.load("test")]
    one = TransformersVisionBackend(model, processor, batch_size=1).generate(requests)
    many = TransformersVisionBackend(model, processor, batch_size=7).generate(requests)
    assert [r.text for r in one] == [r.text for r in many]
    assert all(r.completion_tokens >= 1 for r in many)


def test_lora_targets_the_language_model_and_projector_unless_the_vision_tower_is_asked_for(task):
    model, _ = build_tiny_vlm(PLUMBING, task.vocabulary())
    default = linear_targets(model, vision_tower=False)
    assert {module_part(n) for n in default} == {"language", "projector"}
    assert not any("lm_head" in n for n in default)
    with_tower = linear_targets(model, vision_tower=True)
    assert {module_part(n) for n in with_tower} == {"language", "projector", "vision"}
    assert module_part("model.visual.merger.mlp.0") == "projector"  # Qwen2-VL's names
    assert module_part("model.visual.blocks.0.attn.qkv") == "vision"


def test_one_round_changes_the_adapter_and_is_graded_per_skill(task):
    student = make_student(task)
    before, _ = student.evaluate("val")
    batch = [x for skill in task.skills for x in task.generate(skill, 4, np.random.default_rng(1))]
    metrics = student.train(batch, seed=0)
    assert metrics.examples == len(batch) and metrics.steps == 3 and metrics.train_loss > 0
    lora = {k: v for k, v in student.model.named_parameters() if "lora_B" in k}
    assert lora and any(v.abs().sum() > 0 for v in lora.values())  # B starts at zero; training moved it
    assert not any("vision_tower" in k for k in lora)
    report, predictions = student.evaluate("val")
    assert [s.skill for s in report.skills] == list(task.skills)
    assert all(s.n == 3 for s in report.skills) and len(predictions) == 18
    assert all(p.correct == task.score(e, p.completion) for p, e in zip(predictions, task.load("val"), strict=True))
    assert before.skills[0].n == 3


def test_the_vision_tower_gets_an_adapter_when_asked(task):
    student = make_student(task, lora=LoRAConfig(r=4, alpha=8, vision_tower=True))
    student.train(task.generate("shape", 8, np.random.default_rng(0)), seed=0)
    assert any("vision_tower" in k and "lora_" in k for k, _ in student.model.named_parameters())


def test_vllm_evaluation_is_refused_for_a_vision_student(task):
    with pytest.raises(ConfigError, match="language model only"):
        make_student(task, eval={"backend": "vllm"})


def test_a_chat_template_vlm_from_a_local_path_trains_and_answers(task, tmp_path):
    model, processor = build_tiny_vlm(PLUMBING, task.vocabulary(), chat_template=CHAT_TEMPLATE)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    config = StudentConfig(model=str(tmp_path), train=TrainConfig(max_steps=2, batch_size=4))
    student = VisionLoRAStudent(config, task)
    assert student.prompt_format == "chat"
    metrics = student.train(task.generate("count", 6, np.random.default_rng(0)), seed=0)
    assert metrics.steps == 2
    report, _ = student.evaluate("test")
    assert sum(s.n for s in report.skills) == 18


def _image(example):
    from teachenv.engines.vision_backend import decode_png

    return decode_png(example.image)


def test_a_pretrained_build_is_cached_with_its_report_and_is_deterministic(task, tmp_path, monkeypatch):
    from teachenv.student.tiny_vlm import load_or_build_tiny_vlm, tiny_vlm_path

    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path))
    recipe = PLUMBING.model_copy(update={"pretrain_steps": 3, "batch_size": 8, "warmup_steps": 1,
                                         "skill_weights": {"largest": 0.0}})
    model, _ = load_or_build_tiny_vlm(recipe, task)
    path = tiny_vlm_path(recipe, task)
    report = __import__("json").loads((path / "report.json").read_text())
    assert set(report["val_accuracy"]) == set(task.skills) and report["parameters"] > 0
    assert report["measured_on"] == split_record(task, "val")
    untrained, _ = build_tiny_vlm(recipe, task.vocabulary())
    trained = dict(model.named_parameters())
    assert any(not torch.equal(p, trained[name]) for name, p in untrained.named_parameters())
    # A second build of the same recipe (elsewhere) gives the same weights; loading reuses the cache.
    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path / "again"))
    rebuilt, _ = load_or_build_tiny_vlm(recipe, task)
    assert all(torch.equal(p, trained[name]) for name, p in rebuilt.named_parameters())
