"""``LoRAStudent``: a base causal LM plus one LoRA adapter, trained with TRL and graded per skill.

The base model is chosen by ``StudentConfig.model``:

- ``"tiny"``: the locally built and pretrained tiny student of ``config.tiny`` (see ``tiny_model``);
- ``"plumbing"``: an alias for ``"tiny"`` with ``config.tiny.pretrain_steps`` forced to 0, i.e. an
  untrained model of ``config.tiny``'s shape, for fast plumbing tests (the environment may also ask
  for it as ``model="tiny"`` with ``tiny.pretrain_steps=0``: same result);
- ``"tiny-context"``: the tiny student of ``config.tiny_context``, trained further with exemplars in context
  (see ``tiny_context``), for the in-context feedback signal; text tasks only;
- anything else: a Hugging Face causal LM id or local path (``config.dtype``, ``config.device``).

``train`` runs TRL's ``SFTTrainer`` (as ``sft_trainer.LeanSFTTrainer``, without the per-step metrics) on
prompt-completion rows (``task.prompt(example)`` → ``completion``), so the loss is on the completion only
and the eos token is appended; the rows reach TRL tokenised, with their labels, exactly as TRL's own preparation
would make them (``sft_data``: it skips the ``datasets`` passes whose bookkeeping costs more than a round's
tokenising). In *continual* mode every round keeps training the same adapter; in
*retrain* mode each round trains a fresh adapter on every example accepted since ``reset``. ``evaluate``
answers a split greedily through ``TransformersBackend`` (or, with ``eval.backend: vllm``, through vLLM with the current adapter
as a LoRA; see ``vllm_eval``, which also puts that vLLM to sleep while ``train`` runs) and grades
with ``task.score``. ``reset`` unloads the adapter without merging, so the base weights are exactly
those loaded at construction.

Randomness: the adapter's initial weights and the order of training batches are fixed by the
``seed`` given to ``train``; the caller's torch RNG is restored afterwards (TRL's ``set_seed`` still
reseeds Python's and numpy's global RNGs, which teachenv does not use).
This module knows nothing about teachers, rewards or budgets.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from teachenv.core.collector import long_lived_skipped
from teachenv.core.config import StudentConfig, TinyStudentRecipe, TinyVLMRecipe
from teachenv.core.errors import ConfigError
from teachenv.core.records import EvalReport, GradedPrediction, TaskExample, TrainingExample, TrainMetrics
from teachenv.student.base import Student
from teachenv.tasks.base import EvalSplit, GeneratedTask, Task

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from teachenv.engines.base import TextBackend
    from teachenv.student.vllm_eval import StudentVLLMEval

_TINY_MODELS = ("tiny", "plumbing", "tiny-context")
RecipeT = TypeVar("RecipeT", TinyStudentRecipe, TinyVLMRecipe)
# transformers' name for a constant rate after warm-up; plain "constant" ignores warmup_steps.
_SCHEDULERS = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}


class LoRAStudent(Student):
    """A base model plus one LoRA adapter (none until the first ``train``)."""

    def __init__(self, config: StudentConfig, task: Task, *, progress: bool = False) -> None:
        self.config = config
        self.task = task
        # ``progress`` shows the base model's build; rounds are tracked by the caller (the CLI shows
        # phases), so training itself stays quiet and prints nothing into the caller's display.
        #: ``tokenizer`` is what TRL gets as ``processing_class`` (a processor for a vision student).
        with long_lived_skipped():  # building it imports torch and transformers: collections skip what is alive
            self.base, self.tokenizer = self._load_base(progress)
        self.adapter: PeftModel | None = None
        self.examples: list[TrainingExample] = []  # everything accepted since reset (retrain mode uses it)
        self._splits: dict[str, list[TaskExample]] = {}
        self._adapter_version = 0  # bumped by every train; never reused, so vLLM never serves a stale adapter
        self._vllm: StudentVLLMEval | None = None  # built by the first evaluate with eval.backend=vllm
        #: transformers ``TrainerCallback``s added to every round's trainer (the caller's hook into training).
        self.trainer_callbacks: list[Any] = []

    @property
    def model(self) -> PreTrainedModel | PeftModel:
        """The model as it answers now: the adapter-wrapped base once trained, else the base."""
        return self.adapter if self.adapter is not None else self.base

    # -- Student -------------------------------------------------------------------------------

    def reset(self, seed: int) -> None:
        """Drop the adapter (unloaded, never merged) and the examples; ``seed`` is not needed here:
        the starting weights do not depend on it, and each ``train`` seeds its own adapter."""
        self._drop_adapter()
        self.examples = []

    def train(self, examples: Sequence[TrainingExample], seed: int) -> TrainMetrics:
        if not examples:
            return TrainMetrics(examples=0, steps=0)
        if self._vllm is not None:
            self._vllm.sleep()  # training gets the student's vLLM memory back (with eval.vllm.enable_sleep_mode)
        self.examples.extend(examples)
        if self.config.train.mode == "retrain":
            self._drop_adapter()
            rows = self.examples
        else:
            rows = list(examples)

        import torch

        # The first round imports TRL, datasets and pandas, and every round builds and runs a trainer (accelerate's
        # free_memory() runs a full gc.collect() as training starts); what is alive already outlives the round, so
        # the collector skips it meanwhile (``long_lived_skipped``: ~0.2 s of CPU a process on the plumbing student).
        with torch.random.fork_rng(devices=self._rng_devices()), long_lived_skipped():
            if self.adapter is None:
                self.adapter = self._new_adapter(seed)
            steps, loss = self._run_trainer(rows, seed)
        self._adapter_version += 1
        trainable = sum(p.numel() for p in self.adapter.parameters() if p.requires_grad)
        return TrainMetrics(examples=len(rows), steps=steps, train_loss=loss, trainable_parameters=trainable)

    @contextmanager
    def adapter_for_scoring(self, seed: int) -> Iterator[None]:
        """Inside, the student has an adapter to score with: its own, or before its first training a fresh one
        (seeded as its first ``train`` would make it) that is dropped on exit, the base and the global torch
        random state left as found."""
        if self.adapter is not None:
            yield
            return
        import torch

        with torch.random.fork_rng(devices=self._rng_devices()):
            self.adapter = self._new_adapter(seed)
            try:
                yield
            finally:
                self._drop_adapter()

    def evaluate(self, split: EvalSplit) -> tuple[EvalReport, list[GradedPrediction]]:
        from teachenv.student.grading import grade_split

        max_new_tokens = self.config.eval.max_new_tokens or self.task.max_new_tokens
        if self.config.eval.backend == "vllm":
            if self._vllm is None:
                from teachenv.student.vllm_eval import StudentVLLMEval

                self._vllm = StudentVLLMEval(self.config, self.task, tiny_recipe(self.config))
            return self._vllm.evaluate(self.adapter, self._adapter_version, split, self._split(split), max_new_tokens)
        return grade_split(self._eval_backend(), self.task, split, self._split(split), max_new_tokens)

    def pass_at_k(self, split: EvalSplit, n: int, ks: Sequence[int], *, temperature: float = 0.8,
                  seed: int = 0) -> dict[int, dict[str, float]]:
        """Unbiased pass@k per skill from ``n`` sampled completions per item (k ≤ n), with the current adapter."""
        from teachenv.student.grading import pass_at_k_by_skill, sample_completions

        if any(not 1 <= k <= n for k in ks):
            raise ConfigError(f"pass@k needs 1 <= k <= n = {n}, got ks={list(ks)}.")
        if self.config.eval.backend != "transformers":
            raise ConfigError("pass@k sampling runs through student.eval.backend 'transformers' for now; "
                              f"got {self.config.eval.backend!r}.")
        examples = self._split(split)
        samples = sample_completions(self._eval_backend(), self.task, examples, n,
                                     self.config.eval.max_new_tokens or self.task.max_new_tokens,
                                     temperature=temperature, seed=seed)
        return pass_at_k_by_skill(self.task, examples, samples, ks)

    def save_adapter(self, path: Path) -> None:
        if self.adapter is not None:
            self.adapter.save_pretrained(str(path))

    def restore(self, examples: Sequence[TrainingExample], adapter: Path | None) -> None:
        """Resume: remember ``examples`` (retrain mode trains on all of them) and load ``adapter`` as the
        trainable adapter, exactly as saved (training continues from its weights, as in the crashed run)."""
        self.examples.extend(examples)
        if adapter is None:
            return
        from peft import PeftModel

        self._drop_adapter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            self.adapter = PeftModel.from_pretrained(self.base, str(adapter), is_trainable=True)
        self.adapter.eval()
        self._adapter_version += 1

    def close(self) -> None:
        """Release the evaluation's vLLM instance, if one was built (the model itself stays usable)."""
        if self._vllm is not None:
            self._vllm.close()
            self._vllm = None

    # -- what a vision student changes (``vision_student``) ----------------------------------------

    def _load_base(self, progress: bool) -> tuple[Any, Any]:
        return load_base(self.config, self.task, progress=progress)

    def _eval_backend(self) -> TextBackend:
        from teachenv.engines.transformers_backend import TransformersBackend

        return TransformersBackend(self.model, self.tokenizer, batch_size=self.config.eval.batch_size,
                                   model_name=self.config.model,
                                   prompt_format="chat-template" if self.task.prompt_style == "chat" else "raw")

    def _lora_targets(self) -> list[str] | str:
        return self.config.lora.target_modules

    def _train_dataset(self, rows: Sequence[TrainingExample]) -> Any:
        """TRL prompt-completion rows (the loss is on the completion; TRL appends eos)."""
        import datasets

        prompts, completions = self._prompts_and_completions(rows)
        return datasets.Dataset.from_dict({"prompt": prompts, "completion": completions})

    def _sft_dataset(self, rows: Sequence[TrainingExample], max_length: int | None) -> tuple[Any, bool]:
        """What the round's trainer gets, and whether it is prepared already: the rows tokenised with their labels,
        exactly as TRL's own preparation makes them (``sft_data``), without its ``datasets`` passes."""
        import datasets

        from teachenv.student.sft_data import prepare_prompt_completions

        prompts, completions = self._prompts_and_completions(rows)
        prepared = prepare_prompt_completions(self.tokenizer, prompts, completions, max_length=max_length)
        return datasets.Dataset.from_dict(prepared), True

    def _prompts_and_completions(self, rows: Sequence[TrainingExample]) -> tuple[list[Any], list[Any]]:
        prompts, completions = [self.task.prompt(r.example) for r in rows], [r.completion for r in rows]
        if self.task.prompt_style == "chat":  # TRL's conversational form: the model's chat template renders it
            prompts = [[{"role": "user", "content": p}] for p in prompts]
            completions = [[{"role": "assistant", "content": c}] for c in completions]
        return prompts, completions

    # -- internals -----------------------------------------------------------------------------

    def _split(self, split: EvalSplit) -> list[TaskExample]:
        if split not in self._splits:
            self._splits[split] = self.task.load(split)
        return self._splits[split]

    def _rng_devices(self) -> list[Any]:
        import torch

        device = torch.device(self.config.device)
        return [device] if device.type == "cuda" else []

    def _drop_adapter(self) -> None:
        if self.adapter is not None:
            # unload() removes the LoRA layers and returns the original modules untouched (no merge).
            self.base = self.adapter.unload()
            self.adapter = None

    def _new_adapter(self, seed: int) -> PeftModel:
        import torch
        from peft import LoraConfig, get_peft_model

        lora = self.config.lora
        peft_config = LoraConfig(
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=self._lora_targets(),
            bias="none",
            task_type="CAUSAL_LM",
        )
        torch.manual_seed(seed)  # LoRA's A matrices are initialised randomly
        with warnings.catch_warnings():
            # PEFT probes the deprecated `is_gradient_checkpointing`; nothing for a user to act on.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            return get_peft_model(self.base, peft_config)

    def _run_trainer(self, rows: Sequence[TrainingExample], seed: int) -> tuple[int, float | None]:
        """One SFT run on the current adapter (``config.train.steps_for`` the rows: max_steps or epochs); (steps, mean loss)."""
        import datasets
        from transformers import PrinterCallback
        from trl import SFTConfig

        from teachenv.student import sft_trainer  # TRL's trainer less the per-step metrics nobody reads

        train = self.config.train
        datasets.disable_progress_bars()  # TRL's dataset preparation shows one bar per map otherwise
        max_length = getattr(self.base.config, "max_position_embeddings", None)
        dataset, prepared = self._sft_dataset(rows, max_length)
        base_forward_patched = "forward" in vars(self.base)
        with tempfile.TemporaryDirectory(prefix="teachenv-sft-") as output_dir:
            args = SFTConfig(
                output_dir=output_dir,
                max_steps=train.steps_for(len(rows)),
                per_device_train_batch_size=train.batch_size,
                learning_rate=train.learning_rate,
                lr_scheduler_type=_SCHEDULERS[train.lr_scheduler],
                warmup_steps=train.warmup_steps,
                weight_decay=train.weight_decay,
                # TRL's defaults are for GPUs: checkpointing only costs time on a small model, bf16 fails on CPU.
                **{_checkpointing_argument(SFTConfig): False},
                bf16=False,
                fp16=False,
                use_cpu=self.config.device == "cpu",
                max_length=max_length,
                packing=False,
                completion_only_loss=True,
                dataset_kwargs={"skip_prepare_dataset": True} if prepared else None,
                seed=seed,
                data_seed=seed,
                report_to="none",
                save_strategy="no",
                logging_strategy="no",
                disable_tqdm=True,
                dataloader_num_workers=0,
                dataloader_pin_memory=False,
            )
            trainer = sft_trainer.LeanSFTTrainer(model=self.adapter, args=args, train_dataset=dataset,
                                                 processing_class=self.tokenizer)
            trainer.remove_callback(PrinterCallback)  # it prints the final metrics dict to stdout
            for callback in self.trainer_callbacks:
                trainer.add_callback(callback)
            output = trainer.train()
        if not base_forward_patched:
            # TRL patches a fused LM head onto the base model's forward; undo it so rounds do not stack it.
            vars(self.base).pop("forward", None)
        self.adapter.eval()
        return output.global_step, output.training_loss


def load_base(config: StudentConfig, task: Task, *,
              progress: bool = False) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The base model (eval mode, on ``config.device`` in ``config.dtype``) and its tokenizer."""
    import torch

    dtype = getattr(torch, config.dtype)
    # torch's objects outlive the student: the collections that importing the model code triggers skip them too.
    with long_lived_skipped():
        model, tokenizer = _load_model(config, task, dtype, progress)
    model = model.to(device=config.device, dtype=dtype)
    model.eval()
    return model, tokenizer


def _load_model(config: StudentConfig, task: Task, dtype: Any,
                progress: bool) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    recipe = tiny_recipe(config)
    if recipe is not None:
        from teachenv.student.tiny_model import load_or_build_tiny

        if not isinstance(task, GeneratedTask):
            raise ConfigError(
                f"student.model={config.model!r} is pretrained on the task's own generator, and task "
                f"{task.name!r} has none. Set student.model to a Hugging Face model id or local path."
            )
        return load_or_build_tiny(recipe, task, progress=progress)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from teachenv.core.model_store import load_pretrained  # a Hub id, a local path or a fetched model
    from teachenv.student.hub import model_load_error

    try:
        tokenizer = load_pretrained(AutoTokenizer, config.model)
        model = load_pretrained(AutoModelForCausalLM, config.model, dtype=dtype)
    except OSError as exc:  # transformers' error for a missing folder, an unknown id, no network
        raise model_load_error("student.model", config.model, exc) from None
    if tokenizer.pad_token is None:
        # Many causal LMs ship without a pad token; padded positions are masked, so eos serves.
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _checkpointing_argument(config_cls: type) -> str:
    """transformers 5.20 renamed ``gradient_checkpointing`` to ``activation_checkpointing``; vLLM 0.32
    pins transformers below 5.20, so both spellings are in use."""
    fields = getattr(config_cls, "__dataclass_fields__", {})
    return "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"


def tiny_vlm_recipe(config: StudentConfig) -> TinyVLMRecipe | None:
    """The tiny vision student's recipe when ``config.model`` is ``tiny`` or ``plumbing`` (untrained), else None."""
    if config.model == "tiny-context":
        raise ConfigError("student.model='tiny-context' reads text exemplars and has no vision recipe; for a task "
                          "with images set student.model=tiny.")
    return _tiny(config, config.tiny_vlm)


def tiny_recipe(config: StudentConfig) -> TinyStudentRecipe | None:
    """The tiny student's recipe when ``config.model`` is ``tiny`` or ``plumbing`` (untrained), or the
    ``tiny_context`` recipe for ``tiny-context``; else None."""
    if config.model == "tiny-context":
        return config.tiny_context
    return _tiny(config, config.tiny)


def _tiny(config: StudentConfig, recipe: RecipeT) -> RecipeT | None:
    if config.model not in _TINY_MODELS:
        return None
    return recipe.model_copy(update={"pretrain_steps": 0}) if config.model == "plumbing" else recipe
