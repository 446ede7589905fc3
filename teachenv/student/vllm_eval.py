"""The student's evaluation through vLLM (``student.eval.backend: vllm``).

``StudentVLLMEval`` holds one in-process ``VLLMBackend`` for the student's base model, built on the
first evaluation, and serves the current LoRA adapter through it: each adapter version is saved
once into its own directory under a private temporary folder (a version that has not changed since
the last save is reused), and ``VLLMBackend.use_adapter`` gives every new version a fresh LoRA id,
so vLLM never answers with a previous round's weights. Prompts are the task's raw prompts
(``chat=False``), or its user turn in the model's chat template for a task whose
``prompt_style`` is ``chat``, answered greedily and graded by ``grade_split`` like the transformers path.

What vLLM loads as the base model: a Hugging Face id or local path as given; the tiny student's
cached build directory (``tiny_model.tiny_student_path``); an untrained tiny recipe (plumbing, never
cached) is rebuilt from its seed, which gives the same weights, and saved into the temporary folder.
vLLM runs it in ``student.dtype``, so that its answers can match the transformers path.

Single-GPU memory plan. vLLM's ``gpu_memory_utilization`` is the share of the *whole* GPU an
instance takes (weights, activations, KV cache), and an instance refuses to start if that much is
not free, so the shares add up and the instances start in turn:

- the teacher, if served in-process (``agent.teacher: {name: vllm, gpu_memory_utilization: 0.45}``);
- the student's vLLM, ``student.eval.vllm.gpu_memory_utilization: 0.25`` with
  ``enable_sleep_mode: true``: ``sleep()`` (called by the student's ``train``) moves its weights to
  CPU memory and frees its KV cache, and the next evaluation wakes it;
- TRL training gets the rest (about 0.30 of the GPU, plus the student's 0.25 while it sleeps).

Or serve the teacher outside the process (``vllm serve <model> --gpu-memory-utilization 0.45`` on the
same GPU, or on another one) and reach it through the ``openai`` backend; the student's share and
training's stay as above. Beyond one GPU, vLLM's own tensor parallelism does the rest.

This module knows vLLM only through ``VLLMBackend``; it knows nothing about training or rewards.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from teachenv.core.config import StudentConfig, TinyStudentRecipe
from teachenv.core.records import EvalReport, GradedPrediction, TaskExample
from teachenv.tasks.base import EvalSplit, GeneratedTask, Task

if TYPE_CHECKING:
    from peft import PeftModel

    from teachenv.engines.vllm_backend import VLLMBackend

_NOTHING_SERVED = object()


class StudentVLLMEval:
    """One vLLM instance for the student's base model; the current adapter served as a LoRA."""

    def __init__(self, config: StudentConfig, task: Task, tiny: TinyStudentRecipe | None = None) -> None:
        """``tiny``: the tiny student's recipe when the base model is the tiny student, else None."""
        self.config = config
        self.task = task
        self.tiny = tiny
        self.backend: VLLMBackend | None = None
        self._workdir: Path | None = None
        self._saved: tuple[int, Path] | None = None  # (adapter version, directory) of the last save
        self._served: object = _NOTHING_SERVED  # adapter version vLLM serves now (None: the base model)

    def evaluate(self, adapter: PeftModel | None, version: int, split: EvalSplit, examples: Sequence[TaskExample],
                 max_new_tokens: int) -> tuple[EvalReport, list[GradedPrediction]]:
        """Grade ``examples`` with ``adapter`` (None: the base model); ``version`` changes whenever it does."""
        from teachenv.student.grading import grade_split

        backend = self._backend()
        backend.wake_up()
        key = None if adapter is None else version
        if key != self._served:
            backend.use_adapter(None if adapter is None else self._adapter_dir(adapter, version))
            self._served = key
        return grade_split(backend, self.task, split, examples, max_new_tokens)

    def sleep(self) -> None:
        """Hand the GPU memory to training (no-op unless built, with ``enable_sleep_mode``)."""
        if self.backend is not None:
            self.backend.sleep()

    def close(self) -> None:
        """Shut vLLM down and delete the saved adapters (and a saved plumbing base model)."""
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._saved = None
        self._served = _NOTHING_SERVED

    # -- internals -----------------------------------------------------------------------------

    def _backend(self) -> VLLMBackend:
        if self.backend is None:
            from teachenv.engines.vllm_backend import VLLMBackend, import_vllm, lora_rank_slot

            import_vllm()  # the clear "install teachenv[vllm]" error before any model is saved
            options = self.config.eval.vllm
            self.backend = VLLMBackend(VLLMBackend.Config(
                model=self._base_model_path(),
                dtype=self.config.dtype,
                gpu_memory_utilization=options.gpu_memory_utilization,
                max_model_len=options.max_model_len,
                enable_lora=True,
                max_lora_rank=lora_rank_slot(max(self.config.lora.r, options.max_lora_rank)),
                enable_sleep_mode=options.enable_sleep_mode,
                enforce_eager=options.enforce_eager,
                chat=self.task.prompt_style == "chat",
            ))
        return self.backend

    def _base_model_path(self) -> str:
        if self.tiny is None:
            return self.config.model
        from teachenv.student.tiny_model import build_tiny_model, load_or_build_tiny, tiny_student_path

        if self.tiny.pretrain_steps > 0:
            assert isinstance(self.task, GeneratedTask)  # the student checked this when it loaded the base
            path = tiny_student_path(self.tiny, self.task)
            if not path.is_dir():
                load_or_build_tiny(self.tiny, self.task)
            return str(path)
        model, tokenizer = build_tiny_model(self.tiny)  # same weights as the student's (fixed by the seed)
        path = self._dir() / "base"
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        return str(path)

    def _adapter_dir(self, adapter: PeftModel, version: int) -> Path:
        """The directory holding adapter ``version``: saved now unless it is the last one saved."""
        if self._saved is not None and self._saved[0] == version:
            return self._saved[1]
        path = self._dir() / f"adapter-v{version}"
        adapter.save_pretrained(str(path))
        if self._saved is not None:
            # vLLM loaded the previous version when it answered with it, and never asks for it again.
            shutil.rmtree(self._saved[1], ignore_errors=True)
        self._saved = (version, path)
        return path

    def _dir(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="teachenv-vllm-student-"))
        return self._workdir
