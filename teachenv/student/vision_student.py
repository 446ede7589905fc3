"""``VisionLoRAStudent``: a vision-language model plus one LoRA adapter, for tasks whose questions
carry an image (``task.modality == "image"``).

The base is the tiny LLaVA of ``student.tiny_vlm`` (``model: tiny`` / ``plumbing``, see ``tiny_vlm``)
or any image-text-to-text model by Hub id or local path (Qwen2-VL, PaliGemma, LLaVA...), loaded with
its processor. Everything else is ``LoRAStudent``'s (reset, continual / retrain rounds, seeds, TRL's
``SFTTrainer``), with three differences:

- **rows**: TRL's vision rows (``images`` + ``prompt`` + ``completion``). Models with a chat template
  train on a user turn (image + question) and an assistant turn (answer); others on the plain text
  ``<image> question`` → ``answer<eos>`` (TRL's vision collator adds no eos to plain completions).
- **LoRA targets**: with ``lora.target_modules: all-linear``, every linear layer of the language model
  and of the projector, and of the vision tower only with ``lora.vision_tower: true`` (picked by module
  name, since a CLIP tower has ``q_proj`` / ``k_proj`` / ``v_proj`` too); a list is used as given.
- **evaluation**: batched generation through ``TransformersVisionBackend`` with the same prompt text.
  vLLM serves LoRA on a multimodal model's language model only, so it is never used for a vision
  student: ``eval.backend: vllm`` is refused with that reason rather than serving part of an adapter.

It knows nothing about teachers, rewards or budgets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from teachenv.core.config import StudentConfig
from teachenv.core.errors import ConfigError
from teachenv.core.records import TrainingExample
from teachenv.engines.base import TextBackend
from teachenv.student.lora_student import LoRAStudent
from teachenv.tasks.base import Task

#: Module-name parts that mark the vision tower and the projector (LLaVA, PaliGemma, Qwen2-VL, Idefics...).
_VISION = re.compile(r"(^|\.)(vision_tower|vision_model|visual|vision_encoder)(\.|$)")
_PROJECTOR = re.compile(r"(^|\.)(multi_modal_projector|merger|mm_projector|connector)(\.|$)")


def module_part(name: str) -> str:
    """Which part of a vision-language model the module ``name`` belongs to: projector, vision or language."""
    if _PROJECTOR.search(name):
        return "projector"
    if _VISION.search(name):
        return "vision"
    return "language"


def linear_targets(model: Any, *, vision_tower: bool) -> list[str]:
    """Full names of the linear layers to adapt: language model and projector, and the vision tower if asked;
    never the output head."""
    import torch

    parts = {"language", "projector"} | ({"vision"} if vision_tower else set())
    names = [name for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head") and module_part(name) in parts]
    if not names:
        raise ConfigError(f"{type(model).__name__} has no linear layers to adapt; set student.lora.target_modules.")
    return names


def load_vision_base(config: StudentConfig, task: Task, *, progress: bool = False) -> tuple[Any, Any]:
    """The base vision-language model (eval mode, on ``config.device`` in ``config.dtype``) and its processor."""
    import torch

    from teachenv.student.lora_student import tiny_vlm_recipe
    from teachenv.student.tiny_vlm import load_or_build_tiny_vlm, load_vlm

    recipe = tiny_vlm_recipe(config)
    if recipe is not None:
        model, processor = load_or_build_tiny_vlm(recipe, task, progress=progress)
    else:
        from teachenv.student.hub import model_load_error

        try:
            model, processor = load_vlm(config.model)
        except OSError as exc:  # transformers' error for a missing folder, an unknown id, no network
            raise model_load_error("student.model", config.model, exc) from None
    model = model.to(device=config.device, dtype=getattr(torch, config.dtype))
    model.eval()
    return model, processor


class VisionLoRAStudent(LoRAStudent):
    def __init__(self, config: StudentConfig, task: Task, *, progress: bool = False) -> None:
        if config.eval.backend == "vllm":
            raise ConfigError(
                "student.eval.backend=vllm is not available for vision students: vLLM applies LoRA to a multimodal "
                "model's language model only, and this student's adapter also covers the projector"
                f"{' and the vision tower' if config.lora.vision_tower else ''}. Use student.eval.backend=transformers."
            )
        super().__init__(config, task, progress=progress)
        from teachenv.engines.vision_backend import default_prompt_format

        self.processor = self.tokenizer
        self.prompt_format = default_prompt_format(self.processor)

    def _load_base(self, progress: bool) -> tuple[Any, Any]:
        return load_vision_base(self.config, self.task, progress=progress)

    def _eval_backend(self) -> TextBackend:
        from teachenv.engines.vision_backend import TransformersVisionBackend

        return TransformersVisionBackend(self.model, self.processor, batch_size=self.config.eval.batch_size,
                                         model_name=self.config.model, prompt_format=self.prompt_format)

    def _lora_targets(self) -> list[str] | str:
        if self.config.lora.target_modules != "all-linear":
            return self.config.lora.target_modules
        return linear_targets(self.base, vision_tower=self.config.lora.vision_tower)

    def _sft_dataset(self, rows: Sequence[TrainingExample], max_length: int | None) -> tuple[Any, bool]:
        """TRL's vision rows, unprepared: TRL turns images into pixels in its collator, batch by batch."""
        return self._train_dataset(rows), False

    def _train_dataset(self, rows: Sequence[TrainingExample]) -> Any:
        import datasets

        from teachenv.engines.vision_backend import user_messages
        from teachenv.student.tiny_vlm import training_rows

        if self.prompt_format == "plain":
            data = training_rows(list(rows), self.task, self.processor)
        else:
            from teachenv.engines.vision_backend import decode_png

            data = [{"images": [decode_png(r.example.image)],
                     "prompt": user_messages(self.task.prompt(r.example)),
                     "completion": [{"role": "assistant", "content": [{"type": "text", "text": r.completion}]}]}
                    for r in rows]
        return datasets.Dataset.from_list(data)
