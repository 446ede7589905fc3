"""The tiny vision student: a LLaVA model built and pretrained locally, for worlds whose questions
carry an image (``shapes``).

Architecture (``TinyVLMRecipe``): ``LlavaForConditionalGeneration`` with a small CLIP vision tower
(images resized to 64 px, cut into ``patch_size`` patches; every patch becomes one image
token, the class token is dropped), a two-layer projector and a small Llama over a word-level
tokenizer built from the task's closed ``vocabulary()``. The features of the tower's *last* layer
feed the projector (LLaVA's default, the second-to-last, would skip half of a two-layer tower).
``LlavaProcessor`` with ``CLIPImageProcessorPil`` (no torchvision needed) turns images and text into
model inputs; model and processor save and load through ``AutoModelForImageTextToText`` and
``AutoProcessor`` like any Hub VLM.

Pretraining: a plain torch loop (AdamW, warm-up then cosine decay, ``pretrain_steps`` steps), each
step a fresh batch from the task's generator, skills drawn with probability proportional to
``skill_weights`` (an under-weighted skill starts weak), collated by TRL's vision collator exactly as
the LoRA rounds will be (prompt = image token + question, completion = answer + ``<eos>``; loss on
the completion). Cached under ``teachenv_home()/students/tiny-vlm-<hash>/`` with a ``report.json``
of validation accuracy per skill and the split it was measured on (``build_report``), atomically, like
the text student; ``pretrain_steps == 0`` is an untrained plumbing model built in memory. Deterministic
for ``recipe.seed``; the caller's torch RNG is left untouched. This module knows nothing about LoRA,
teachers or environments.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teachenv.core.config import TinyVLMRecipe
from teachenv.core.errors import ConfigError
from teachenv.student.tiny_model import (
    build_atomically, cached_student_path, run_pretraining, skill_probabilities, write_build_record,
)
from teachenv.student.progress import no_loading_bars
from teachenv.student.word_tokenizer import IMAGE, build_word_tokenizer

if TYPE_CHECKING:
    import numpy as np
    from transformers import LlavaForConditionalGeneration, LlavaProcessor

    from teachenv.tasks.base import GeneratedTask, Task

#: Part of the cache key: bump when the architecture, the corpus or the training loop changes.
BUILD_VERSION = 1
#: The image side the tower sees (the processor resizes every image to it).
IMAGE_SIZE = 64
_EVAL_BATCH_SIZE = 128

log = logging.getLogger(__name__)


def tiny_vlm_path(recipe: TinyVLMRecipe, task: GeneratedTask) -> Path:
    """Where the pretrained tiny vision student for ``recipe`` and ``task`` is (or will be) cached."""
    return cached_student_path("tiny-vlm", recipe, task, BUILD_VERSION)


def load_or_build_tiny_vlm(recipe: TinyVLMRecipe, task: Task, *,
                           progress: bool = False) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """The tiny vision student for ``task`` (model in eval mode, processor): cached, or built now."""
    vocabulary = task.vocabulary()
    if vocabulary is None:
        raise ConfigError(
            f"The tiny vision student needs a world with a closed vocabulary (like 'shapes'); task {task.name!r} "
            "has open text. Set student.model to a Hugging Face image-text-to-text model id or local path."
        )
    if recipe.pretrain_steps == 0:
        return build_tiny_vlm(recipe, vocabulary)
    path = tiny_vlm_path(recipe, task)  # type: ignore[arg-type]
    if not path.is_dir():
        def write(staging: Path) -> None:
            model, processor = build_tiny_vlm(recipe, vocabulary)
            seconds = pretrain_vlm(model, processor, recipe, task, progress=progress)  # type: ignore[arg-type]
            report = {**vlm_validation_report(model, processor, task),
                      "pretrain_seconds": round(seconds, 2),
                      "parameters": sum(p.numel() for p in model.parameters()), "build_version": BUILD_VERSION}
            model.save_pretrained(staging)
            processor.save_pretrained(staging)
            write_build_record(staging, recipe, task, report)  # type: ignore[arg-type]

        build_atomically(path, write)
    with no_loading_bars():
        return load_vlm(path)


def load_vlm(path: str | Path) -> tuple[Any, Any]:
    """Any image-text-to-text model directory (or Hub id) and its processor, the model in eval mode."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(str(path))
    model = AutoModelForImageTextToText.from_pretrained(str(path))
    model.eval()
    return model, processor


def build_tiny_vlm(recipe: TinyVLMRecipe, vocabulary: tuple[str, ...] | list[str], *,
                   chat_template: str | None = None) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """An untrained tiny LLaVA for ``recipe`` over ``vocabulary`` (weights fixed by ``recipe.seed``)."""
    import torch
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    for width, heads, name in ((recipe.hidden_size, recipe.num_heads, ""),
                               (recipe.vision_hidden_size, recipe.vision_heads, "vision_")):
        if width % heads:
            raise ConfigError(f"student.tiny_vlm.{name}hidden_size ({width}) must be a multiple of "
                              f"student.tiny_vlm.{name}{'heads' if name else 'num_heads'} ({heads}).")
    if IMAGE_SIZE % recipe.patch_size:
        raise ConfigError(f"student.tiny_vlm.patch_size ({recipe.patch_size}) must divide the image size {IMAGE_SIZE}.")
    tokenizer = build_word_tokenizer(vocabulary)
    patches = (IMAGE_SIZE // recipe.patch_size) ** 2
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": IMAGE_SIZE},
                                            crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=recipe.patch_size,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               image_token=IMAGE, chat_template=chat_template)
    vision = CLIPVisionConfig(hidden_size=recipe.vision_hidden_size, intermediate_size=2 * recipe.vision_hidden_size,
                              num_hidden_layers=recipe.vision_layers, num_attention_heads=recipe.vision_heads,
                              image_size=IMAGE_SIZE, patch_size=recipe.patch_size)
    text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=recipe.hidden_size,
                       intermediate_size=recipe.intermediate_size, num_hidden_layers=recipe.num_layers,
                       num_attention_heads=recipe.num_heads, num_key_value_heads=recipe.num_heads,
                       max_position_embeddings=patches + 64, tie_word_embeddings=True,
                       pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                       eos_token_id=tokenizer.eos_token_id)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_id=tokenizer.convert_tokens_to_ids(IMAGE),
                         vision_feature_layer=-1, vision_feature_select_strategy="default", image_seq_length=patches,
                         tie_word_embeddings=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        model = LlavaForConditionalGeneration(config)
    generation = model.generation_config
    generation.pad_token_id, generation.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
    generation.bos_token_id = tokenizer.bos_token_id
    model.eval()
    return model, processor


# -- pretraining ---------------------------------------------------------------------------------


def training_rows(examples: list[Any], task: Task, processor: Any) -> list[dict[str, Any]]:
    """TRL vision rows (``images``, ``prompt``, ``completion``) for training examples, in the plain format
    (image token + question → answer + eos): the rows of pretraining and of the LoRA rounds alike."""
    from teachenv.engines.vision_backend import decode_png, prompt_text

    eos = processor.tokenizer.eos_token
    return [{"images": [decode_png(t.example.image)],
             "prompt": prompt_text(processor, "plain", task.prompt(t.example)),
             "completion": f"{t.completion}{eos}"} for t in examples]


def _batch(task: GeneratedTask, probabilities: list[float], size: int, rng: np.random.Generator) -> list[Any]:
    import numpy as np

    skill_of = rng.choice(len(task.skills), size=size, p=probabilities)
    examples: list[Any] = []
    for index, skill in enumerate(task.skills):
        count = int(np.count_nonzero(skill_of == index))
        if count:
            examples.extend(task.generate(skill, count, rng))
    return examples


def pretrain_vlm(model: Any, processor: Any, recipe: TinyVLMRecipe, task: GeneratedTask, *,
                 progress: bool = False) -> float:
    """Train ``model`` in place for ``recipe.pretrain_steps`` steps of fresh data; return the seconds."""
    import numpy as np
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    start = time.perf_counter()
    probabilities = skill_probabilities(recipe, task)
    collate = DataCollatorForVisionLanguageModeling(processor=processor, completion_only_loss=True)
    rng = np.random.default_rng(recipe.seed)

    def loss_at(step: int) -> Any:
        batch = collate(training_rows(_batch(task, probabilities, recipe.batch_size, rng), task, processor))
        batch.pop("completion_mask", None)
        return model(**batch).loss

    run_pretraining(model, recipe, loss_at, progress=progress, description="pretraining tiny vision student",
                    log_every=100)
    return time.perf_counter() - start


def vlm_validation_report(model: Any, processor: Any, task: Task) -> dict[str, Any]:
    """Greedy accuracy per skill on the task's validation split, with the record of that split."""
    from teachenv.engines.vision_backend import TransformersVisionBackend
    from teachenv.student.build_report import measured_validation

    backend = TransformersVisionBackend(model, processor, batch_size=_EVAL_BATCH_SIZE, model_name="tiny-vlm",
                                        prompt_format="plain")
    return measured_validation(backend, task)
