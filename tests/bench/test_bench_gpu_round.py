"""The GPU-round benchmark: the shipped shapes are the real models' (parameter counts as published), its
scaled-down CPU run measures a whole round, and without a GPU it says so instead of failing."""

from __future__ import annotations

import json
import math

import pytest

from script_loader import load_script


def load():
    return load_script("benchmarks/bench_gpu_round.py")


@pytest.mark.parametrize("shape, published", [("qwen2.5-0.5b", 494_032_768), ("gemma-2-2b", 2_614_341_888)])
def test_the_shipped_shapes_have_the_published_models_parameter_counts(shape, published):
    import torch
    from transformers import AutoModelForCausalLM

    bench = load()
    config = bench.load_shape(shape, tiny=False)
    with torch.device("meta"):  # shapes only: no memory, no time
        model = AutoModelForCausalLM.from_config(config)
    assert sum(p.numel() for p in model.parameters()) == published
    # The FLOP count's parameters are the matrix products': all but norms and biases.
    assert 0.999 * published < bench.matmul_params(config) <= published


def test_the_tiny_round_trains_and_evaluates_every_shape_and_writes_its_json(tmp_path, capsys):
    bench = load()
    out = tmp_path / "round.json"
    assert bench.main(["--tiny", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["shape"] for r in report["results"]] == list(bench.SHAPES)
    settings = report["settings"]
    for result in report["results"]:
        train, evaluation = result["train"], result["eval"]
        assert train["steps"] == math.ceil(settings["examples"] / settings["batch_size"]) * settings["epochs"]
        assert train["tokens"] == settings["examples"] * settings["epochs"] * settings["train_tokens"]
        assert math.isfinite(train["loss_first"]) and math.isfinite(train["loss_last"])
        assert evaluation["new_tokens"] == settings["eval_prompts"] * settings["new_tokens"]
        assert result["round_seconds"] == pytest.approx(train["seconds"] + evaluation["seconds"])
        assert 0 < result["lora_params"] < result["params"]
    assert "| qwen2.5-0.5b (tiny) |" in capsys.readouterr().out


def test_without_a_gpu_it_says_so_and_exits_cleanly(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the full run would start")
    assert load().main([]) == 0
    assert "no CUDA GPU here" in capsys.readouterr().out
