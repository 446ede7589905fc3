"""Run configs: pydantic models loaded from YAML, overridable with ``--set a.b=value``.

Every model forbids unknown keys, so a typo is an error that names the field path instead of a
silently ignored setting. Components chosen by name (task, policy, engine) carry their own
options, which their registered class validates with its own ``Config`` model.
This module knows the *shape* of a run, not how any component works.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from teachenv.core.errors import ConfigError, TeachEnvError
from teachenv.core.ledger import BudgetConfig, TokenPrice


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentSpec(BaseModel):
    """A registered component: ``name`` picks it, the other keys are its options."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(description="Registered name (see `teachenv list`).")

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class TaskSpec(ComponentSpec):
    name: str = Field("arith", description="Registered task name.")


class PolicySpec(ComponentSpec):
    name: str = Field("weakest-skill", description="Registered policy name.")


class EngineSpec(ComponentSpec):
    name: str = Field("procedural", description="Registered data-generation engine name.")


class BackendSpec(ComponentSpec):
    """A text backend chosen by name (see `teachenv list`); the other keys are its options."""

    name: str = Field(description="Registered text backend: 'openai', 'vllm', 'transformers' or 'scripted'.")


class CacheConfig(StrictModel):
    """The on-disk response cache of the teacher's calls (SQLite; shared by runs and resumes)."""

    enabled: bool = Field(True, description="Look up and store every teacher call.")
    path: str | None = Field(None, description="SQLite file (default: TEACHENV_HOME/cache/responses.sqlite).")


class LoRAConfig(StrictModel):
    r: int = Field(16, ge=1, description="LoRA rank.")
    alpha: int = Field(32, ge=1, description="LoRA alpha (scaling = alpha / r).")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the LoRA path.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description="Modules that get adapters; 'all-linear' = every linear layer but the head "
        "(for a vision student: of the language model and the projector, see vision_tower)."
    )
    vision_tower: bool = Field(
        False, description="Vision students: also adapt the vision tower's linear layers (skills that need new "
        "visual features). Vision students evaluate with transformers: vLLM serves LoRA on the language model only."
    )


class TrainConfig(StrictModel):
    mode: Literal["continual", "retrain"] = Field(
        "continual",
        description="continual: keep training the same adapter each round; "
        "retrain: a fresh adapter on all data accepted so far (as DataEnvGym).",
    )
    learning_rate: float = Field(2e-3, gt=0)
    batch_size: int = Field(32, ge=1)
    max_steps: int | None = Field(
        600, ge=1, description="Optimizer steps per round, whatever the amount of data (the default). Set it to "
        "null to use `epochs` instead.",
    )
    epochs: float | None = Field(
        None, gt=0, description="Epochs per round over the data the round trains on (the new examples in "
        "continual mode, all examples so far in retrain mode): ceil(epochs * examples / batch_size) optimizer "
        "steps, so a retrain round with 4x the data trains 4x the steps (DataEnvGym's cost comparison). Needs "
        "max_steps: null.",
    )
    warmup_steps: int = Field(0, ge=0)
    lr_scheduler: Literal["constant", "linear", "cosine"] = "constant"
    weight_decay: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _one_round_length(self) -> TrainConfig:
        if self.epochs is not None and self.max_steps is not None:
            raise ValueError(
                f"student.train.epochs={self.epochs} and student.train.max_steps={self.max_steps} both set the "
                "length of a round: set student.train.max_steps=null to train by epochs, or drop epochs."
            )
        if self.epochs is None and self.max_steps is None:
            raise ValueError("student.train.max_steps is null and student.train.epochs is not set: set one of them.")
        return self

    def steps_for(self, examples: int) -> int:
        """Optimizer steps of a round that trains on ``examples`` examples."""
        if self.max_steps is not None:
            return self.max_steps
        return max(1, math.ceil(self.epochs * examples / self.batch_size))


class VLLMStudentConfig(StrictModel):
    """vLLM settings of the student's evaluation (``student.eval.backend: vllm``)."""

    gpu_memory_utilization: float = Field(
        0.25, gt=0, le=1, description="Share of the GPU this vLLM instance takes (the teacher and training share the rest)."
    )
    max_model_len: int | None = Field(None, ge=16, description="Context length (default: the model's).")
    max_lora_rank: int = Field(64, ge=1, description="Largest LoRA rank the instance accepts (≥ student.lora.r).")
    enable_sleep_mode: bool = Field(
        True, description="Put the instance to sleep while the student trains, so TRL gets its memory back "
        "(CUDA only: vLLM's CPU builds refuse it; set false there)."
    )
    enforce_eager: bool = Field(False, description="Skip CUDA graphs: slower decoding, faster start, less memory.")


class EvalConfig(StrictModel):
    batch_size: int = Field(256, ge=1)
    max_new_tokens: int | None = Field(None, ge=1, description="Default: the task's own limit.")
    backend: Literal["transformers", "vllm"] = Field(
        "transformers", description="Who answers the evaluation: transformers generate, or vLLM with the round's LoRA."
    )
    vllm: VLLMStudentConfig = Field(default_factory=VLLMStudentConfig)


class PretrainingRecipe(StrictModel):
    """What the two locally built tiny students share: a small Llama and how teachenv pretrains it on the
    task's own generator."""

    hidden_size: int = Field(128, ge=8, description="Of the language model.")
    num_layers: int = Field(3, ge=1)
    num_heads: int = Field(4, ge=1)
    intermediate_size: int = Field(512, ge=8)
    pretrain_steps: int = Field(1600, ge=0, description="0 = an untrained plumbing model.")
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    warmup_steps: int = Field(50, ge=0)
    skill_weights: dict[str, float] = Field(
        default_factory=lambda: {"sub": 0.1, "mul": 0.5},
        description="Pretraining corpus weight per skill (default 1.0): under-weighted skills start weak.",
    )
    seed: int = Field(0, description="Pretraining seed (the base student's seed).")


class TinyStudentRecipe(PretrainingRecipe):
    """The locally built and pretrained tiny student (Llama architecture, character tokenizer)."""

    max_positions: int = Field(256, ge=256, description="Context length; code and few-shot prompts need ≥ 256.")


class TinyContextRecipe(TinyStudentRecipe):
    """The tiny student that reads its context (``student.model: tiny-context``): the tiny student of the
    inherited fields (by default the quick-start student, built once and shared with ``tiny``), trained further
    on sequences of same-skill exemplars followed by the item, some of whose answers all carry one wrong offset
    (see ``teachenv.student.context_corpus`` for why), so that a correct in-context exemplar helps it and a wrong
    one misleads it."""

    context_steps: int = Field(2000, ge=1, description="Steps of the stage with exemplars, after the base pretraining.")
    context_batch_size: int = Field(32, ge=1, description="Sequences per step of that stage (each holds 1 + exemplars answers).")
    context_learning_rate: float = Field(3e-3, gt=0, description="Peak learning rate of that stage.")
    context_warmup_steps: int = Field(50, ge=0)
    context_exemplars: tuple[int, int] = Field(
        (0, 1), description="Fewest and most same-skill exemplars before the item, drawn uniformly per sequence "
        "(the in-context scores put one exemplar before each exam item; sequences without one keep the student "
        "answering alone, <eos> included).")
    wrong_share: float = Field(
        0.5, ge=0, le=1, description="Share of the sequences with exemplars in which every answer is shifted by one "
        "non-zero offset (the exemplars show it, the item follows it).")
    max_offset: int = Field(9, ge=1, description="A shifted sequence's offset is a non-zero integer in [-max_offset, max_offset].")

    @model_validator(mode="after")
    def _exemplar_range(self) -> TinyContextRecipe:
        low, high = self.context_exemplars
        if not 0 <= low <= high <= 8:
            raise ValueError(f"student.tiny_context.context_exemplars={list(self.context_exemplars)} must be "
                             "[fewest, most] with 0 <= fewest <= most <= 8, e.g. [0, 3].")
        return self

    def base(self) -> TinyStudentRecipe:
        """The tiny student this one starts from (the inherited fields)."""
        return TinyStudentRecipe(**self.model_dump(include=set(TinyStudentRecipe.model_fields)))

    def context_stage(self) -> TinyContextRecipe:
        """This recipe with the stage's steps, batch, rate and warm-up in the pretraining fields, as the training
        loop and the corpus read them."""
        return self.model_copy(update={"pretrain_steps": self.context_steps, "batch_size": self.context_batch_size,
                                       "learning_rate": self.context_learning_rate,
                                       "warmup_steps": self.context_warmup_steps})


class TinyVLMRecipe(PretrainingRecipe):
    """The locally built and pretrained tiny vision student (LLaVA: a small CLIP tower, a projector and a
    small Llama with a word-level tokenizer), for tasks whose questions carry an image."""

    vision_hidden_size: int = Field(128, ge=8)
    vision_layers: int = Field(2, ge=1)
    vision_heads: int = Field(4, ge=1)
    patch_size: int = Field(16, ge=2, description="Pixels per patch side; the image is (64 / patch)^2 tokens.")
    intermediate_size: int = Field(256, ge=8)
    pretrain_steps: int = Field(1200, ge=0, description="0 = an untrained plumbing model.")
    # Higher rates (1e-3 and up) leave it answering from the question alone.
    learning_rate: float = Field(3e-4, gt=0)
    skill_weights: dict[str, float] = Field(
        default_factory=lambda: {"colour": 0.0, "largest": 0.0},
        description="Pretraining corpus weight per skill (default 1.0): under-weighted skills start weak.",
    )


class StudentConfig(StrictModel):
    model: str = Field(
        "tiny",
        description="'tiny' (built and pretrained locally from `tiny`, or `tiny_vlm` for tasks with images), "
        "'plumbing' (the same, untrained), 'tiny-context' (built locally from `tiny_context`: a tiny student that "
        "reads in-context exemplars, for the in-context feedback signal; text tasks only), 'surrogate' (the arithmetic world's fitted learning-dynamics model: "
        "milliseconds a round, for training teachers), or any Hugging Face model id or local path (a causal LM; an "
        "image-text-to-text model for tasks with images).",
    )
    tiny: TinyStudentRecipe = Field(default_factory=TinyStudentRecipe)
    tiny_context: TinyContextRecipe = Field(
        default_factory=TinyContextRecipe, description="The recipe of 'tiny-context' (text tasks)."
    )
    tiny_vlm: TinyVLMRecipe = Field(
        default_factory=TinyVLMRecipe, description="The recipe 'tiny' / 'plumbing' use for tasks with images."
    )
    lora: LoRAConfig = Field(default_factory=LoRAConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    device: str = Field("cpu", description="'cpu', 'cuda', 'cuda:1', ...")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"


class EnvConfig(StrictModel):
    id: str = Field("teachenv/SkillList-v0", description="Registered gymnasium id of the environment structure.")
    max_rounds: int = Field(3, ge=1, description="Rounds per episode; the episode terminates after the last.")
    examples_per_round: int = Field(2000, ge=1, description="Cap on examples generated per round (actions are clipped).")
    max_per_skill: int | None = Field(
        None, ge=1, description="Upper bound of one skill's entry in the action space (default: examples_per_round)."
    )
    errors_shown: int = Field(10, ge=1, description="Open-ended: validation errors shown to the teacher each round.")
    plan_max_chars: int = Field(2000, ge=16, description="Open-ended: longest plan text the action space holds.")
    max_subskills: int = Field(4, ge=1, description="Skill tree: subskill slots per skill (fixed-size spaces).")


class AgentConfig(StrictModel):
    """A teacher agent: a policy (observation → action) and its data-generation engine."""

    policy: PolicySpec = Field(default_factory=PolicySpec)
    engine: EngineSpec = Field(default_factory=EngineSpec)
    teacher: BackendSpec | None = Field(
        None, description="The teacher model shared by an LLM policy and an LLM engine (None: no LLM)."
    )
    cache: CacheConfig = Field(default_factory=CacheConfig)


class RunConfig(StrictModel):
    """Everything one episode needs; the resolved form is written to the run directory."""

    name: str | None = Field(None, description="Run name (default: the config file's stem).")
    seed: int = Field(0, description="Episode seed: sampling of data, adapter init, training order.")
    runs_dir: str = Field("runs", description="Where run directories go.")
    task: TaskSpec = Field(default_factory=TaskSpec)
    student: StudentConfig = Field(default_factory=StudentConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    env: EnvConfig = Field(default_factory=EnvConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    prices: dict[str, TokenPrice] = Field(default_factory=dict, description="Model name → dollars per 1M tokens.")


# -- loading ---------------------------------------------------------------------------------


def format_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One line: ``Invalid config: a.b: what is wrong (got x); c: ...``."""
    problems = []
    for item in error.errors():
        path = ".".join(str(p) for p in (prefix, *item["loc"]) if p != "")
        shown = item.get("input")
        got = f" (got {shown!r})" if shown is not None and not isinstance(shown, dict) else ""
        problems.append(f"{path or '<root>'}: {item['msg']}{got}")
    return "Invalid config: " + "; ".join(problems)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"student.lora.r=16"`` → (["student", "lora", "r"], 16); the value is parsed as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"Override {text!r} is not of the form key.path=value (e.g. student.lora.r=16).")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"Override {text!r}: the value is not valid YAML ({exc}).") from None
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``a.b.c=value`` set (intermediate dicts are created)."""
    import copy

    data = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for i, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"Override {text!r}: {'.'.join(path[: i + 1])} is {child!r}, not a mapping.")
            node = child
        node[path[-1]] = value
    return data


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{str(path)!r} is a folder, not a config file; pass one of its YAML files "
                          "(e.g. configs/quickstart.yaml).")
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} does not exist; pass the path of a YAML config "
                          "(e.g. configs/quickstart.yaml).")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {str(path)!r} must hold a mapping at the top, got {type(data).__name__}.")
    return data


def validate_config(data: dict[str, Any]) -> RunConfig:
    """Validate a plain dict as a RunConfig, including each named component's options."""
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    return resolve_components(config)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                base: dict[str, Any] | None = None) -> RunConfig:
    """Load YAML (or start from ``base``), apply overrides, validate everything."""
    data = dict(base or {})
    if path is not None:
        data = read_yaml(path)
        data.setdefault("name", Path(path).stem)
    return validate_config(apply_overrides(data, overrides or []))


def resolve_components(config: RunConfig) -> RunConfig:
    """Check each component name against its registry and fill in its options' defaults."""
    from teachenv.core import registry

    resolved = config.model_dump()
    components = [
        ("task", registry.tasks, config.task),
        ("agent.policy", registry.policies, config.agent.policy),
        ("agent.engine", registry.engines, config.agent.engine),
    ]
    if config.agent.teacher is not None:
        components.append(("agent.teacher", registry.backends, config.agent.teacher))
    for path, reg, spec in components:
        try:
            component = reg.get(spec.name)
        except TeachEnvError as exc:
            raise ConfigError(f"Invalid config: {path}.name: {exc}") from None
        options = component_options(spec, component, path=path)
        node = resolved
        for part in path.split("."):
            node = node[part]
        node.clear()
        node.update({"name": spec.name, **(options.model_dump() if options is not None else {})})
    return RunConfig.model_validate(resolved)


def component_options(spec: ComponentSpec, component: Any, path: str = "") -> Any:
    """The validated options model of a component spec (or None if the component takes none);
    errors name the field under ``path`` (e.g. ``agent.policy``)."""
    options_model = getattr(component, "Config", None)
    if options_model is None:
        if spec.options:
            raise ConfigError(f"Invalid config: {path or spec.name}: {spec.name!r} takes no options, "
                              f"got {sorted(spec.options)}.")
        return None
    try:
        return options_model.model_validate(spec.options)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, prefix=path or spec.name)) from None


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def recorded_config_text(recorded_yaml: str, config: RunConfig) -> str:
    """The text a run directory's ``config.yaml`` must hold for ``config`` to resume it: ``dump_config(config)``,
    or ``recorded_yaml`` itself when it reads, with this version's defaults for the fields it lacks, as exactly
    ``config`` (a run started by an older teachenv, before a field with a behaviour-keeping default was added)."""
    current = dump_config(config)
    if recorded_yaml == current or not recorded_yaml.strip():
        return current
    try:
        recorded = validate_config(yaml.safe_load(recorded_yaml) or {})
    except (ConfigError, yaml.YAMLError, TypeError, ValueError):
        return current
    return recorded_yaml if recorded.model_dump(mode="json") == config.model_dump(mode="json") else current
