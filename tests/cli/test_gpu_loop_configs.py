"""Every shipped GPU loop config (``configs/gpu-loop-*.yaml``, globbed: configs added later are covered) runs its
loop for one round on CPU as `teachenv run` runs it, with tiny stand-ins in place of the named models: a tiny
Llama saved to disk with a chat template (taught for a few steps to reply in the LLM engine's JSON, so drafts
exist) in place of the teacher, the plumbing student in place of the named student, the offline arith world in
place of the dataset, and tiny sizes. The loop really ran: its drafts were scored (by the student, or the
verifier) into preference pairs written to the round's agent folder (a ``.jsonl`` of prompt / chosen / rejected
rows), a DPO step was counted in the ledger, and the teacher's adapter was saved there.

The stand-in overrides are keyed on config paths (``agent.teacher``, ``student``, ``task``, any ``align`` /
``max_new_tokens`` / ``probe_per_skill`` under ``agent.engine``), never on a file name."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from teachenv.cli.episode import run_episode
from teachenv.core.config import TinyStudentRecipe, validate_config
from teachenv.core.run_dir import RunDirectory
from teachenv.envs.defaults import PLUMBING_DEFAULTS

CONFIGS = sorted(Path("configs").glob("gpu-loop-*.yaml"))
ALIGNABLE = ("local-teacher", "transformers", "tiny-teacher")
STEPS = 150  # stand-in teacher training steps
SMALL = {"max_new_tokens": 64, "probe_per_skill": 2, "examples_per_call": 5, "batch_size": 8, "drafts_per_skill": 2,
         "drafts_per_call": 1}  # the stand-in writes one example a reply


@pytest.fixture(scope="module")
def stand_in_teacher(tmp_path_factory) -> Path:
    """A tiny Llama with a chat template that replies ``{"examples": [{"question": "a+b=", "answer": "c"}]}`` to
    the LLM engine's writing requests (for as many examples as the sizes in ``SMALL`` ask; c right or off by a
    little, so drafts differ): STEPS Adam steps on the
    reply tokens only."""
    import torch

    from teachenv.agents.llm_engine import LLMDataEngine
    from teachenv.core.records import SkillRequest
    from teachenv.engines.transformers_backend import TransformersBackend
    from teachenv.student.tiny_model import build_tiny_model
    from teachenv.tasks.arith.task import ArithTask

    model, tokenizer = build_tiny_model(TinyStudentRecipe(hidden_size=32, num_layers=2, num_heads=2,
                                                          intermediate_size=64, pretrain_steps=0,
                                                          max_positions=2048))  # the engine's prompts are long
    task = ArithTask(ArithTask.Config())
    engine = LLMDataEngine(task, None, teacher=TransformersBackend(model, tokenizer))
    render = TransformersBackend(model, tokenizer, prompt_format="chat-template")._render
    prompts = [tokenizer(render(engine._writing_request(SkillRequest(skill=skill, count=n), n, None,
                                                        np.random.default_rng(n), avoid=False), True),
                         add_special_tokens=False)["input_ids"] for skill in task.skills for n in (1, 2, 5)]
    rng = np.random.default_rng(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for _ in range(STEPS):
            rows, labels = [], []
            for k in rng.choice(len(prompts), size=len(task.skills), replace=False):
                prompt = prompts[k]
                a, b = rng.integers(10, 99, size=2)
                reply = json.dumps({"examples": [{"question": f"{a}+{b}=", "answer": str(a + b + rng.integers(-1, 2))}]})
                ids = tokenizer(reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
                rows.append(prompt + ids)
                labels.append([-100] * len(prompt) + ids)
            width = max(map(len, rows))
            pad = [[tokenizer.pad_token_id] * (width - len(r)) for r in rows]
            loss = model(input_ids=torch.tensor([r + p for r, p in zip(rows, pad)]),
                         attention_mask=torch.tensor([[1] * len(r) + [0] * len(p) for r, p in zip(rows, pad)]),
                         labels=torch.tensor([l + [-100] * len(p) for l, p in zip(labels, pad)])).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    folder = tmp_path_factory.mktemp("stand-in-teacher")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def shrink(options: dict) -> dict:
    """``options`` with every size named in ``SMALL`` cut, and every ``align`` block to one DPO step."""
    out = {}
    for key, value in options.items():
        if key == "align" and isinstance(value, dict):
            value = {**value, "steps": 1, "batch_size": 2}
        elif isinstance(value, dict):
            value = shrink(value)
        elif key in SMALL and isinstance(value, int):
            value = min(value, SMALL[key])
        out[key] = value
    return out


def stand_ins(raw: dict, teacher: Path, tmp_path: Path) -> dict:
    config = copy.deepcopy(raw)
    config["task"] = {"name": "arith", "val_per_skill": 2, "test_per_skill": 2}
    config["student"] = copy.deepcopy(PLUMBING_DEFAULTS["student"])
    agent = config["agent"]
    name = agent["teacher"]["name"]
    agent["teacher"] = {"name": name if name in ALIGNABLE[:2] else "local-teacher", "model": str(teacher),
                        "batch_size": 8}
    if agent.get("policy", {}).get("name") == "llm":
        agent["policy"] = {"name": "weakest-skill"}
    agent["engine"] = shrink(agent["engine"])
    agent["cache"] = {"path": str(tmp_path / "cache.sqlite")}
    config["env"] = {**config["env"], "max_rounds": 1, "examples_per_round": 12}
    config["runs_dir"] = str(tmp_path)
    return config


@pytest.mark.parametrize("config_file", CONFIGS, ids=[c.name for c in CONFIGS])
def test_the_gpu_loop_config_runs_one_round_with_stand_ins(config_file: Path, stand_in_teacher, tmp_path) -> None:
    raw = yaml.safe_load(config_file.read_text())
    assert raw["agent"]["teacher"]["name"] in ALIGNABLE, "a loop whose teacher learns needs a teacher with weights"
    config = validate_config(stand_ins(raw, stand_in_teacher, tmp_path))
    outcome = run_episode(config, RunDirectory(tmp_path / "run"))
    rows = outcome.run_dir.episode_rows()
    assert [r["round"] for r in rows] == [0, 1]
    work = rows[1]["cost"]["work"]
    assert work.get("teacher_dpo_steps", 0) >= 1, json.dumps(rows[1])  # the teacher was aligned
    agent = tmp_path / "run" / "rounds" / "1" / "agent"
    pairs = [json.loads(line) for f in agent.rglob("*.jsonl") for line in f.read_text().splitlines()]
    pairs = [p for p in pairs if {"prompt", "chosen", "rejected"} <= p.keys()]
    assert pairs, "the scored drafts became preference pairs in the round's agent folder"
    assert list(agent.rglob("adapter_config.json")), "the aligned adapter is saved in the round's agent folder"
