"""``AdapterTeacher``: the LoRA-adapter handling every teacher backend that can be aligned shares — which
adapter is sampled (``load_adapter``), a trainable PEFT copy for alignment (``trainable_model``), the
adapter's content hash (``adapter_hash``, part of the response cache's identity) — over a ``fresh_base()``
each backend supplies (a new copy of its base model, untouched by any adapter).

Used by the tiny teacher (``teachenv.teacher.backend``) and the local transformers teacher
(``teachenv.teacher.local``). It knows nothing about prompts, sampling or DPO.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from teachenv.core.errors import ConfigError


def adapter_hash(path: str | Path) -> str:
    """Content hash of an adapter folder: its weight files' bytes and its ``adapter_config.json`` read as data
    (lists sorted, since PEFT writes ``target_modules`` from a set; the base model's path left out: the base
    is a separate part of the identity)."""
    folder = Path(path)
    weights = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".safetensors", ".bin"))
    config_path = folder / "adapter_config.json"
    if not weights or not config_path.is_file():
        raise ConfigError(f"{folder} holds no adapter (adapter_config.json and adapter_model.safetensors); "
                          "point agent.teacher.adapter at a folder align_teacher wrote.")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.pop("base_model_name_or_path", None)
    digest = hashlib.sha256()
    digest.update(json.dumps({k: sorted(v, key=str) if isinstance(v, list) else v for k, v in config.items()},
                             sort_keys=True, default=str).encode())
    for p in weights:
        digest.update(b"\0" + p.name.encode() + b"\0" + p.read_bytes())
    return digest.hexdigest()[:16]


class AdapterTeacher:
    """Mixin: ``self.model`` is the base or the base with the adapter in ``self.adapter_path``."""

    model: Any
    adapter_path: Path | None = None
    adapter_id: str = "base"

    def fresh_base(self) -> Any:
        raise NotImplementedError

    def load_adapter(self, path: str | Path | None) -> None:
        """Sample the LoRA adapter in ``path`` from now on (None: the base teacher)."""
        if path is None:
            if self.adapter_path is None and getattr(self, "model", None) is not None:
                return  # already the base, which nothing modifies in place: no reload (seconds for a real model)
            self.model, self.adapter_path, self.adapter_id = self.fresh_base(), None, "base"
            return
        from peft import PeftModel

        adapter_id = adapter_hash(path)
        self.model = PeftModel.from_pretrained(self.fresh_base(), str(path), is_trainable=False).eval()
        self.adapter_path, self.adapter_id = Path(path), adapter_id

    def trainable_model(self, lora: dict[str, Any]) -> Any:
        """A trainable PEFT model: the current adapter continued, or a new one with ``lora`` options."""
        from peft import LoraConfig, PeftModel, get_peft_model

        if self.adapter_path is not None:
            return PeftModel.from_pretrained(self.fresh_base(), str(self.adapter_path), is_trainable=True)
        return get_peft_model(self.fresh_base(), LoraConfig(task_type="CAUSAL_LM", **lora))
