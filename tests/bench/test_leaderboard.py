"""`teachenv leaderboard`: statistics over seeds, pairing, what is left out of the means, the files written."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import subprocess

import pytest
import yaml
from typer.testing import CliRunner

from teachenv.bench.leaderboard import build_leaderboard, exclusion_reason, learning_curve_area, write_outputs
from teachenv.bench.runs import RunStatus, load_runs
from teachenv.bench.stats import mean_ci, paired_difference
from teachenv.cli.main import app

# Student-t quantiles t(0.975, df), from a printed table: independent of scipy.
T_975 = {1: 12.706204736174698, 2: 4.302652729911275, 3: 3.182446305284263}
SKILLS = ("add", "sub")
BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def write_run(root, name, *, agent="weakest-skill", engine="procedural", task="arith", env_id="teachenv/SkillList-v0",
              seed=0, student_seed=0, vlm_seed=0, val=(0.2, 0.3, 0.4), test=(0.2, 0.4), accepted=100, generated=120,
              tokens=0, status="finished", bench=None):
    """A run directory in the documented format (config.yaml, episode.jsonl, summary.json / error.json)."""
    folder = root / name
    folder.mkdir(parents=True)
    config = {"seed": seed, "task": {"name": task}, "env": {"id": env_id},
              "agent": {"policy": {"name": agent}, "engine": {"name": engine}, "teacher": None},
              "student": {"model": "tiny", "tiny": {"seed": student_seed}, "tiny_vlm": {"seed": vlm_seed}}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    rounds = len(val) - 1
    rows = []
    for k, v in enumerate(val):
        share = k / rounds if rounds else 0
        row = {"round": k, "val_accuracy": v, "val_accuracy_by_skill": {s: v for s in SKILLS}, "reward": None,
               "examples_generated": 0, "examples_accepted": 0, "timings": {},
               "cost": {"examples_generated": round(generated * share), "examples_accepted": round(accepted * share),
                        "tokens": {}, "teacher_tokens": round(tokens * share), "dollars": 0.0}}
        if k == 0 or (k == rounds and status == "finished"):
            row["test_accuracy"] = test[0] if k == 0 else test[1]
            row["test_accuracy_by_skill"] = {s: row["test_accuracy"] for s in SKILLS}
        rows.append(row)
    (folder / "episode.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if status == "finished":
        summary = {"rounds": rounds, "val_accuracy": {"start": val[0], "end": val[-1]},
                   "test_accuracy": {"start": test[0], "end": test[1]}, "test_gain": test[1] - test[0],
                   "cost": rows[-1]["cost"], "seconds": 10.0 + seed, "peak_memory_mb": 100.0, "teacher_calls": None}
        (folder / "summary.json").write_text(json.dumps(summary))
    if status == "failed":
        (folder / "error.json").write_text(json.dumps({"error": "CUDA out of memory", "type": "RuntimeError"}))
    if bench is not None:
        (folder / "bench.json").write_text(json.dumps(bench))
    return folder


def hand_t_interval(values):
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = T_975[n - 1] * sd / math.sqrt(n)
    return mean, mean - half, mean + half


@pytest.fixture
def two_agents(tmp_path):
    """Agent A on seeds 0, 1, 2 (and a failed seed 4), agent B on seeds 1, 2, 3 (and an unfinished seed 5)."""
    root = tmp_path / "runs"
    gains_a = {0: 0.30, 1: 0.20, 2: 0.25}
    gains_b = {1: 0.05, 2: 0.15, 3: 0.10}
    for seed, gain in gains_a.items():
        write_run(root, f"a/s{seed}", agent="a", seed=seed, test=(0.2, 0.2 + gain), val=(0.2, 0.3 + seed / 10, 0.5))
    for seed, gain in gains_b.items():
        write_run(root, f"nested/b/s{seed}", agent="b", seed=seed, test=(0.2, 0.2 + gain))
    write_run(root, "a/s4", agent="a", seed=4, status="failed")
    write_run(root, "b-s5", agent="b", seed=5, status="unfinished")
    return root, gains_a, gains_b


def test_mean_ci_matches_a_hand_computed_t_interval():
    values = [0.1, 0.2, 0.4, 0.35]
    est = mean_ci(values)
    mean, low, high = hand_t_interval(values)
    assert est.n == 4
    assert est.mean == pytest.approx(mean) and est.low == pytest.approx(low) and est.high == pytest.approx(high)


def test_one_seed_has_no_interval_rather_than_a_zero_width_one():
    est = mean_ci([0.3])
    assert est.mean == 0.3 and est.low is None and est.high is None
    assert "n/a" in est.format()
    assert mean_ci([]).format() == "-"


def test_paired_difference_uses_only_the_seeds_both_agents_ran():
    result = paired_difference({1: 0.5, 2: 0.4, 3: 0.3}, {2: 0.1, 3: 0.2, 4: 0.9})
    assert result.differences == pytest.approx({2: 0.3, 3: 0.1})
    mean, low, high = hand_t_interval([0.3, 0.1])
    assert result.n_pairs == 2
    assert result.estimate.mean == pytest.approx(mean) and result.estimate.low == pytest.approx(low)
    assert result.estimate.high == pytest.approx(high)
    assert result.only_a == (1,) and result.only_b == (4,)


def test_learning_curve_area_is_the_trapezoid_mean_over_rounds():
    assert learning_curve_area([0.0, 0.5, 1.0]) == pytest.approx(0.5)
    assert learning_curve_area([0.2, 0.4]) == pytest.approx(0.3)
    assert learning_curve_area([0.0, 0.0, 0.0, 0.9]) == pytest.approx((0.45) / 3)
    assert learning_curve_area([0.7]) == pytest.approx(0.7)


def test_leaderboard_ranks_by_test_gain_and_pairs_over_common_seeds(two_agents):
    root, gains_a, gains_b = two_agents
    runs = load_runs(root)
    assert len(runs) == 8
    board = build_leaderboard(runs)
    (env,) = board.environments
    assert env.environment == "teachenv/SkillList-v0 · arith"
    best, second = env.agents
    assert (best.agent, best.rank, second.agent, second.rank) == ("a", 1, "b", 2)
    mean, low, high = hand_t_interval(list(gains_a.values()))
    assert best.test_gain.n == 3 and best.test_gain.mean == pytest.approx(mean)
    assert (best.test_gain.low, best.test_gain.high) == (pytest.approx(low), pytest.approx(high))
    assert second.test_gain.mean == pytest.approx(sum(gains_b.values()) / 3)
    assert best.gain_per_1k_accepted.mean == pytest.approx(mean * 1000 / 100)
    assert best.generated_per_accepted.mean == pytest.approx(1.2)
    aucs = [learning_curve_area([0.2, 0.3 + s / 10, 0.5]) for s in gains_a]
    assert best.val_auc.mean == pytest.approx(sum(aucs) / 3)
    (comparison,) = env.comparisons
    diffs = [gains_a[s] - gains_b[s] for s in (1, 2)]
    mean, low, high = hand_t_interval(diffs)
    assert comparison.result.n_pairs == 2 and comparison.result.estimate.mean == pytest.approx(mean)
    assert comparison.result.estimate.low == pytest.approx(low)
    assert len(comparison.result.only_a) == len(comparison.result.only_b) == 1
    assert comparison.a_wins == 2 and comparison.b_wins == 0
    assert "base student is the same" in env.seed_note


def test_failed_and_unfinished_runs_are_reported_not_averaged(two_agents):
    root, *_ = two_agents
    board = build_leaderboard(load_runs(root))
    assert {(r.name, r.status) for r in board.excluded} == {("a/s4", RunStatus.failed), ("b-s5", RunStatus.unfinished)}
    assert all(r.seed not in (4, 5) for r in board.environments[0].runs)
    assert next(r for r in board.excluded if r.status is RunStatus.failed).error == "CUDA out of memory"


def test_suite_cells_that_never_ran_are_listed_and_a_summary_wins_over_a_stale_error(tmp_path):
    cell = tmp_path / "never-ran"
    cell.mkdir()
    (cell / "bench.json").write_text(json.dumps({"suite": "s", "agent": "a", "environment": "e", "seed": 2}))
    retried = write_run(tmp_path, "retried", seed=1)
    (retried / "error.json").write_text(json.dumps({"error": "killed"}))
    board = build_leaderboard(load_runs(tmp_path))
    assert [r.name for r in board.environments[0].runs] == ["retried"]
    ((never, reason),) = [(r, exclusion_reason(r)) for r in board.excluded]
    assert (never.name, never.agent, never.seed, reason) == ("never-ran", "a", 2, "not started (no episode.jsonl)")


def test_an_unreadable_run_is_reported_as_failed_without_hiding_the_others(tmp_path):
    write_run(tmp_path, "good", seed=0)
    (write_run(tmp_path, "torn", seed=1) / "episode.jsonl").write_text('{"round": 0, "val_acc')
    (write_run(tmp_path, "odd", seed=2) / "episode.jsonl").write_text('{"round": 0}\n')
    board = build_leaderboard(load_runs(tmp_path))
    assert [r.name for r in board.environments[0].runs] == ["good"]
    assert {r.name: r.status for r in board.excluded} == {"odd": RunStatus.failed, "torn": RunStatus.failed}
    assert all("unreadable" in (r.error or "") for r in board.excluded)


def test_pairs_need_the_same_base_student_seed_and_the_note_says_it_varies(tmp_path):
    write_run(tmp_path, "a0", agent="a", seed=0, student_seed=0)
    write_run(tmp_path, "b0", agent="b", seed=0, student_seed=1)
    write_run(tmp_path, "b1", agent="b", seed=0, student_seed=0, test=(0.2, 0.1))
    (env,) = build_leaderboard(load_runs(tmp_path)).environments
    (comparison,) = env.comparisons
    assert comparison.result.n_pairs == 1 and comparison.result.estimate.format().endswith("(CI n/a)")
    assert comparison.result.estimate.mean == pytest.approx(0.2 - (-0.1))
    assert "student.tiny.seed: 0, 1" in env.seed_note


def test_the_base_student_seed_is_the_recipe_the_task_uses(tmp_path):
    shapes = {"task": "shapes", "env_id": "teachenv/SkillList-Shapes-v0"}
    for seed in (0, 1):  # a vision task pretrains student.tiny_vlm; student.tiny is unused
        write_run(tmp_path, f"shapes{seed}", seed=seed, student_seed=0, vlm_seed=seed, **shapes)
        write_run(tmp_path, f"arith{seed}", seed=seed, student_seed=0, vlm_seed=seed)
    vision, arith = build_leaderboard(load_runs(tmp_path)).environments  # sorted by name
    assert "the base student is the same in every run (tiny, pretraining seed 0)" in arith.seed_note
    assert "student.tiny_vlm.seed: 0, 1" in vision.seed_note
    assert [r.pair_key for r in vision.runs] == [(0, 0), (1, 1)]


def test_bench_json_labels_replace_the_derived_ones(tmp_path):
    write_run(tmp_path, "x", agent="weakest-skill", engine="llm", seed=3)
    write_run(tmp_path, "y", agent="weakest-skill", seed=3,
              bench={"suite": "s", "agent": "Weakest", "environment": "Arith (skill list)", "seed": 7})
    by_name = {r.name: r for r in load_runs(tmp_path)}
    assert (by_name["x"].agent, by_name["x"].environment) == ("weakest-skill+llm", "teachenv/SkillList-v0 · arith")
    assert (by_name["y"].agent, by_name["y"].environment, by_name["y"].seed) == ("Weakest", "Arith (skill list)", 7)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A two-environment leaderboard with one failed run, written once for the output tests."""
    root = tmp_path_factory.mktemp("board") / "runs"
    for seed in (0, 1):
        write_run(root, f"a{seed}", agent="a", seed=seed, test=(0.2, 0.3 + seed / 10), tokens=500)
        write_run(root, f"b{seed}", agent="b", seed=seed, test=(0.2, 0.25))
        write_run(root, f"v{seed}", agent="a", seed=seed, task="shapes", env_id="teachenv/SkillList-Shapes-v0")
    write_run(root, "broken", agent="b", seed=9, status="failed")
    board = build_leaderboard(load_runs(root))
    return board, write_outputs(board, root / "leaderboard")


def test_outputs_are_written_and_the_csv_has_one_row_per_environment_and_agent(written):
    board, out = written
    for path in (out.markdown, out.csv, out.paired_csv, out.html, *out.plots):
        assert path.is_file() and path.stat().st_size > 0, path
    assert len(out.plots) == 2 * 3 + 6  # three per environment, one per run
    rows = list(csv.DictReader(out.csv.open()))
    assert sorted((r["environment"], r["agent"]) for r in rows) == [
        ("teachenv/SkillList-Shapes-v0 · shapes", "a"), ("teachenv/SkillList-v0 · arith", "a"),
        ("teachenv/SkillList-v0 · arith", "b")]
    paired = list(csv.DictReader(out.paired_csv.open()))
    assert [(p["agent_a"], p["agent_b"], p["n_pairs"]) for p in paired] == [("a", "b", "2")]
    markdown = out.markdown.read_text()
    assert "broken" in markdown and "CUDA out of memory" in markdown and "](plots/" in markdown


def test_html_page_is_self_contained(written):
    _, out = written
    page = out.html.read_text()
    assert "<table" in page and page.count("data:image/png;base64,") == 12
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "@import" not in page
    assert "broken" in page and "Runs not in the means" in page


def headless(profile, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(BROWSER is None, reason="no chromium / chromium-browser / google-chrome on PATH "
                    "(Debian: apt-get install chromium)")
def test_html_page_renders_in_a_headless_browser(written, tmp_path):
    from PIL import Image

    _, out = written
    url = out.html.resolve().as_uri()
    shot = tmp_path / "shot.png"
    done = headless(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,2000", url)
    assert shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the screenshot is (nearly) blank"
    dom = headless(tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<table") >= 4  # two rankings, one paired comparison, the runs not in the means
    assert "broken" in dom.stdout and "data:image/png;base64," in dom.stdout


def test_cli_names_the_path_when_it_holds_no_runs(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["leaderboard", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "No run directories" in result.output and "empty" in result.output


def test_leaderboard_of_two_real_plumbing_episodes(tmp_path):
    from teachenv.cli.episode import run_episode
    from teachenv.core.config import apply_overrides, validate_config
    from teachenv.core.run_dir import RunDirectory
    from teachenv.envs.defaults import PLUMBING_DEFAULTS

    for policy in ("weakest-skill", "uniform"):
        config = validate_config(apply_overrides(PLUMBING_DEFAULTS, [
            f"runs_dir={tmp_path}", f"agent.policy.name={policy}", "env.max_rounds=2", "env.examples_per_round=8",
            "student.train.max_steps=1", "student.eval.max_new_tokens=4", "task.val_per_skill=2",
            "task.test_per_skill=2"]))
        run_episode(config, RunDirectory(tmp_path / "runs" / policy))
    result = CliRunner().invoke(app, ["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "lb")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "lb" / "leaderboard.csv").open()))
    assert sorted(r["agent"] for r in rows) == ["uniform", "weakest-skill"]
    assert all(r["n_seeds"] == "1" and r["test_gain_ci_low"] == "" for r in rows)
    (pair,) = csv.DictReader((tmp_path / "lb" / "paired.csv").open())
    assert pair["n_pairs"] == "1" and pair["diff_ci_low"] == ""
    assert len(list((tmp_path / "lb" / "plots" / "runs").glob("*.png"))) == 2
    assert "n/a" in (tmp_path / "lb" / "leaderboard.md").read_text()


def test_the_leaderboard_tests_the_suites_claims_on_the_seeds_run_after_them_and_shows_what_pairs_resolve(tmp_path):
    from teachenv.bench.claims import Claim, Registration, write_registrations

    root = tmp_path / "runs"
    for seed in range(6):
        started = 100.0 if seed < 2 else 3000.0  # seeds 0 and 1 ran before the claim's commit
        for agent, gain in (("a", 0.20 + seed / 100), ("b", 0.10 if seed >= 2 else 0.40)):
            write_run(root, f"E/{agent}/seed-{seed}", agent=agent, seed=seed, test=(0.2, 0.2 + gain),
                      bench={"suite": "s", "agent": agent, "environment": "E", "seed": seed, "started_at": started})
    write_registrations(root, "s", [Registration(Claim("a", "b"), "c0ffee", 2000.0),
                                    Registration(Claim("b", "a"), None, None, "not committed")])
    result = CliRunner().invoke(app, ["leaderboard", str(root), "--out", str(tmp_path / "lb")])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "lb" / "leaderboard.md").read_text()
    claim_lines = [line for line in markdown.splitlines() if line.startswith("| a > b") or line.startswith("| b > a")]
    assert "| 2/0, 3/0, 4/0, 5/0 | 2 |" in claim_lines[0]  # episode seed / base-student seed
    assert claim_lines[0].endswith("| supported |") and claim_lines[1].endswith("| not registered |")
    with open(tmp_path / "lb" / "paired.csv") as handle:
        [pair] = list(csv.DictReader(handle))
    # Over all six seeds the spread is large (b wins seeds 0 and 1), so only a large difference is resolvable.
    assert float(pair["min_detectable_diff"]) > abs(float(pair["diff_mean"]))
