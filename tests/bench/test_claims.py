"""Pre-registered claims: their syntax, their registration by git commit, and the statistics that test them."""

from __future__ import annotations

import subprocess

import pytest

from teachenv.bench.claims import Claim, Registration, evaluate_claims, parse_claim, registrations
from teachenv.bench.stats import holm, minimum_detectable_difference, p_value_greater
from teachenv.bench.suite import load_suite
from teachenv.core.errors import ConfigError

# Student-t quantiles with 4 degrees of freedom, from a printed table: independent of scipy.
T_975_4, T_80_4 = 2.7764451051977987, 0.9409645929502658


def test_minimum_detectable_difference_is_the_sum_of_the_two_quantiles_times_the_standard_error():
    assert minimum_detectable_difference(0.05, 5) == pytest.approx((T_975_4 + T_80_4) * 0.05 / 5 ** 0.5)
    assert minimum_detectable_difference(0.05, 20) < minimum_detectable_difference(0.05, 5)
    assert minimum_detectable_difference(0.05, 1) is None


def test_holm_multiplies_the_sorted_p_values_by_the_tests_left_and_keeps_them_monotone():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.2, 0.9]) == pytest.approx([0.4, 0.9])
    assert holm([]) == []


def test_one_sided_p_value_is_small_for_consistent_gains_and_large_for_losses():
    assert p_value_greater([0.10, 0.12, 0.08, 0.11, 0.09]) < 0.001
    assert p_value_greater([-0.10, -0.12, -0.08, -0.11, -0.09]) > 0.999
    assert p_value_greater([0.1, 0.1, 0.1]) < 1e-9  # (almost) no spread: t is (nearly) infinite
    assert p_value_greater([0.0, 0.0]) == 1.0  # no spread and no gain
    assert p_value_greater([0.1]) is None


@pytest.mark.parametrize("text", ["a>b", "a > a", "a >", "a < b", "weakest skill > random", ""])
def test_a_claim_must_read_agent_greater_than_another_agent(text):
    if text == "a>b":
        assert parse_claim(text) == Claim("a", "b")
        return
    with pytest.raises(ValueError, match="AGENT_A > AGENT_B"):
        parse_claim(text)


def suite_text(claims: list[str]) -> str:
    lines = ["name: s", "base: base.yaml", "seeds: [0]", "agents:", "  a: {agent.policy: {name: uniform}}",
             "  b: {agent.policy: {name: random}}", "environments:", "  E: {env.id: teachenv/SkillList-v0}"]
    if claims:
        lines += ["claims:", *[f"  - {c!r}" for c in claims]]
    return "\n".join(lines) + "\n"


def test_a_suite_refuses_a_claim_about_an_agent_it_does_not_run(tmp_path):
    (tmp_path / "base.yaml").write_text("{}\n")
    (tmp_path / "suite.yaml").write_text(suite_text(["a > c"]))
    with pytest.raises(ConfigError, match="'c', not an agent of the suite"):
        load_suite(tmp_path / "suite.yaml")


def git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin:/usr/local/bin",
                        "GIT_COMMITTER_DATE": args[-1] if args[0] == "commit" else "", "HOME": str(folder)})


def test_a_claim_is_registered_by_the_first_commit_of_the_suite_file_that_lists_it(tmp_path):
    suite = tmp_path / "suites" / "suite.yaml"
    suite.parent.mkdir()
    git(tmp_path, "init", "-q")
    suite.write_text(suite_text([]))
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "suite", "--date", "2026-01-01T00:00:00+00:00")
    suite.write_text(suite_text(["a > b"]))
    git(tmp_path, "commit", "-q", "-am", "claim a > b", "--date", "2026-02-01T00:00:00+00:00")
    suite.write_text(suite_text(["a>b", "b > a"]))  # the same claim respelt, and one never committed
    git(tmp_path, "commit", "-q", "-am", "respelt", "--date", "2026-03-01T00:00:00+00:00")
    suite.write_text(suite_text(["a > b", "b > a", "a > b"]))
    found = registrations(suite, [Claim("a", "b"), Claim("b", "a")])
    assert found[0].registered_at == 1769904000.0  # 2026-02-01T00:00:00Z: the first commit that lists it
    assert found[1].registered_at == 1772323200.0  # 2026-03-01
    suite.write_text(suite_text(["a > b", "b > a"]))
    unregistered = registrations(suite, [Claim("a", "b"), Claim("a", "b")])
    assert [r.registered_at for r in unregistered] == [1769904000.0] * 2


def test_a_claim_outside_git_or_not_yet_committed_is_not_registered(tmp_path):
    (tmp_path / "suite.yaml").write_text(suite_text(["a > b"]))
    [outside] = registrations(tmp_path / "suite.yaml", [Claim("a", "b")])
    assert outside.registered_at is None and "not in a git repository" in outside.why_unregistered


def test_a_claim_counts_only_seeds_both_agents_started_after_its_commit_and_is_corrected_for_the_others():
    registered = Registration(Claim("a", "b"), "c0ffee", registered_at=1000.0)
    reverse = Registration(Claim("b", "a"), "c0ffee", registered_at=1000.0)
    late = Registration(Claim("a", "c"), "c0ffee", registered_at=5000.0)
    gains_a = {0: 0.30, 1: 0.25, 2: 0.20, 3: 0.22, 4: 0.28, 5: 0.26}
    gains_b = {0: 0.40, 1: 0.40, 2: 0.10, 3: 0.11, 4: 0.15, 5: 0.12}
    started = {0: 500.0, 1: 900.0, 2: 2000.0, 3: 2100.0, 4: 2200.0, 5: None}  # seed 5: start unknown
    env = {"a": {k: (g, started[k]) for k, g in gains_a.items()},
           "b": {k: (g, started[k]) for k, g in gains_b.items()},
           "c": {k: (0.0, 2000.0) for k in gains_a}}
    results = evaluate_claims({"E": env}, [registered, reverse, late])
    a_b, b_a, a_c = results
    assert a_b.seeds == (2, 3, 4) and a_b.seeds_before == (0, 1, 5)
    assert a_b.estimate.mean == pytest.approx((0.10 + 0.11 + 0.13) / 3)  # seeds 0 and 1 (b ahead) left out
    assert a_b.verdict == "supported" and b_a.verdict == "not supported"
    assert a_c.seeds == () and a_c.verdict == "too few seeds"
    # Holm over the two testable claims: the smaller p doubled.
    assert a_b.p_holm == pytest.approx(min(1.0, 2 * a_b.p_value))
    assert b_a.p_holm == pytest.approx(max(a_b.p_holm, b_a.p_value))
