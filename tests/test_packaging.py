"""Packaging: nothing heavy on import, the CLI starts, every package folder is installed under
the ``teachenv`` namespace, and no top-level ``tasks`` / ``agents`` module is provided."""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "vllm", "ray", "openenv", "fastapi", "uvicorn")

_IMPORT_PROBE = f"""
import json, sys
heavy = {HEAVY!r}
loaded = {{}}
for name in ("teachenv", "teachenv.cli.main", "teachenv.envs.teaching_env", "teachenv.agents", "teachenv.tasks"):
    __import__(name)
    loaded[name] = sorted(m for m in heavy if m in sys.modules)
print(json.dumps(loaded))
"""


@pytest.fixture(scope="module")
def heavy_after_import() -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, cwd=REPO, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_teachenv_loads_no_heavy_library(heavy_after_import):
    assert heavy_after_import["teachenv"] == []


def test_import_cli_loads_no_heavy_library(heavy_after_import):
    assert heavy_after_import["teachenv.cli.main"] == []


def test_import_environment_agents_and_tasks_loads_no_heavy_library(heavy_after_import):
    assert heavy_after_import["teachenv.envs.teaching_env"] == []
    assert heavy_after_import["teachenv.agents"] == []
    assert heavy_after_import["teachenv.tasks"] == []


def test_cli_help_exits_zero_and_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "teachenv.cli.main", "--help"],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "run" in out.stdout
    assert "list" in out.stdout


def _installed_name(package_dir: Path) -> str:
    relative = package_dir.relative_to(REPO).parts
    if relative[0] in ("tasks", "agents"):
        relative = ("teachenv", *relative)
    return ".".join(relative)


def _package_dirs() -> list[Path]:
    dirs = []
    for top in ("teachenv", "tasks", "agents"):
        dirs += [p.parent for p in (REPO / top).rglob("__init__.py") if "__pycache__" not in p.parts]
    return sorted(dirs)


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {_installed_name(d) for d in _package_dirs()}
    assert {"teachenv", "teachenv.core", "teachenv.tasks", "teachenv.tasks.arith", "teachenv.agents"} <= found
    assert sorted(found - listed) == []


def test_pyproject_maps_tasks_and_agents_under_the_teachenv_namespace():
    package_dir = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    assert package_dir["teachenv.tasks"] == "tasks"
    assert package_dir["teachenv.agents"] == "agents"


def test_the_ppo_policys_default_checkpoint_is_shipped_as_package_data():
    from fnmatch import fnmatch

    from teachenv.agents.ppo_policy import SHIPPED

    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    relative = SHIPPED.relative_to(REPO / "agents").as_posix()
    assert SHIPPED.is_file() and any(fnmatch(relative, pattern) for pattern in data["teachenv.agents"])


def test_every_listed_package_exists_in_the_repo():
    listed = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {_installed_name(d) for d in _package_dirs()}
    assert sorted(set(listed) - found) == []


@pytest.mark.parametrize(("module", "folder"), [("teachenv.tasks", "tasks"), ("teachenv.agents", "agents"),
                                                ("teachenv.tasks.arith", "tasks/arith")])
def test_namespaced_packages_import_from_the_repo_folders(module, folder):
    imported = importlib.import_module(module)
    assert Path(imported.__file__).resolve().parent == (REPO / folder).resolve()


@pytest.mark.parametrize("name", ["tasks", "agents"])
def test_no_top_level_tasks_or_agents_module_comes_from_this_repo(name):
    code = (
        "import importlib.util, json, sys\n"
        f"sys.path[:] = [p for p in sys.path if p not in ('', '.')]\n"
        f"spec = importlib.util.find_spec({name!r})\n"
        "print(json.dumps(None if spec is None else [spec.origin, list(spec.submodule_search_locations or [])]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=True)
    found = json.loads(out.stdout)
    if found is None:
        return
    origin, locations = found
    for place in [origin, *locations]:
        if place:
            assert not Path(place).resolve().is_relative_to(REPO.resolve()), place
