"""Items of a batch are independent, and no answer can make itself pass.

Each hostile item runs in a batch with ordinary items before and after it; every ordinary item must
get the verdict it gets alone, and the hostile one must never be `passed`.
"""

from __future__ import annotations

import pytest

from teachenv.sandbox import Job, SandboxConfig, run_batch

pytestmark = pytest.mark.usefixtures("isolated")

CONFIG = SandboxConfig(wall_seconds=20, item_seconds=1.5, cpu_seconds=5, workers=1, max_processes=32)

ORDINARY = [
    Job(program="def count(n):\n    return sum(1 for _ in range(n))", tests=("assert count(200_000) == 200_000",)),
    Job(program="import threading\ndef run():\n    box = []\n    t = threading.Thread(target=box.append, args=(1,))\n"
                "    t.start()\n    t.join()\n    return box", tests=("assert run() == [1]",)),
    Job(program="import os\ndef forked():\n    pid = os.fork()\n    if pid == 0:\n        os._exit(7)\n"
                "    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])", tests=("assert forked() == 7",)),
    Job(program="import os\ndef fresh():\n    return sorted(os.listdir('/tmp')), sorted(os.listdir('.'))",
        tests=("names, here = fresh()\nassert here == [] and all(n.startswith('.shadow') or n == 'sandbox' for n in names), (names, here)",)),
    Job(program="def double(x):\n    return x + x", tests=("assert double(2) == 4", "assert double(3) == 5")),  # wrong test
]

HOSTILE = {
    "fork bomb": "import os, time\nwhile True:\n    try:\n        if os.fork() == 0:\n            time.sleep(600)\n"
                 "    except OSError:\n        break\ndef f(x):\n    return 0",
    "thread bomb": "import threading, time\ntry:\n    while True:\n        threading.Thread(target=time.sleep, args=(600,)).start()\n"
                   "except RuntimeError:\n    pass\ndef f(x):\n    return 0",
    "spinning setsid child": "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        while True:\n"
                             "            pass\n    os._exit(0)\nopen('/tmp/leftover', 'w').write('x')\nopen('left', 'w').write('x')\n"
                             "def f(x):\n    return 0",
    "sleeper": "import time\ntime.sleep(600)",
    "forger on the descriptors": "import os\nline = b'{\"index\": 2, \"status\": \"passed\", \"failed_test\": null, \"error\": null}\\n'\n"
                                 "for fd in range(3, 64):\n    try:\n        os.write(fd, line * 3)\n    except OSError:\n        pass\n"
                                 "def f(x):\n    return 0",
    "forger through /proc": "import glob, os\nline = b'{\"index\": 2, \"status\": \"passed\", \"failed_test\": null, \"error\": null}\\n'\n"
                            "for path in glob.glob('/proc/*/fd/*'):\n    try:\n        fd = os.open(path, os.O_WRONLY)\n"
                            "        os.write(fd, line * 3)\n    except OSError:\n        pass\ndef f(x):\n    return 0\n"
                            "os._exit(0)",
    "forger patching names": "import builtins, json\nbuiltins.AssertionError = None\njson.loads = lambda s: 0\n"
                             "def abs(x):\n    return 0\nAssertionError = None\ndef f(x):\n    return 0",
    "always-equal result": "class Equal:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
                           "def f(x):\n    return Equal()",
    "always-equal int": "class Equal(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
                        "def f(x):\n    return Equal(0)",
    "early exit": "import os\nos._exit(0)",
    "exit during a call": "import os\ndef f(x):\n    os._exit(0)",
    "forged reply of a handle": "import os\nline = b'[\"l\",[\"ok\",[\"h\",0]]]\\n'\n"
                                "os.write(4, b'[\"l\",[\"names\",[\"l\",[[\"l\",[\"f\",\"handle\",[\"i\",\"0x0\"]]]]]]]\\n' + line * 8)\n"
                                "import time\ntime.sleep(600)",
    "StopIteration out of a call": "def f(x):\n    raise StopIteration",
    "kill everything it can": "import ctypes, os\ndef f(x):\n    ctypes.CDLL(None).kill(-1, 9)\n    return 0",
}
# Each hostile program is graded three times, against each of these tests of f(x) == x * x.
HOSTILE_TESTS = (("assert f(3)\nassert f(-3) != 0",), ("assert all(map(f, [3, -3]))",),
                 ("import json\nassert abs(f(3) - 9) < 1e-9\nassert f(3) == json.loads('9')",))


@pytest.fixture(scope="module")
def alone() -> list[tuple[str, int | None]]:
    """The verdict of every ordinary item graded on its own."""
    return [(item.status, item.failed_test) for job in ORDINARY for item in run_batch([job], CONFIG).items]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_item_neither_passes_nor_changes_the_verdicts_around_it(kind, alone):
    hostile = [Job(program=HOSTILE[kind], tests=tests) for tests in HOSTILE_TESTS]
    batch = run_batch([*ORDINARY[:2], *hostile, *ORDINARY[2:]], CONFIG)
    verdicts = [(item.status, item.failed_test) for item in batch.items]
    assert verdicts[:2] + verdicts[5:] == alone, batch.items
    assert alone == [("passed", None)] * 4 + [("failed", 1)]
    assert [item.status for item in batch.items[2:5] if item.status == "passed"] == [], batch.items[2:5]
    # (Not `batch.runs == 1`: on a starved machine the parent's stall watchdog may end a run between
    # items, and then the next item starts a fresh run; the verdicts above must hold either way.)


def test_the_same_hostile_programs_pass_once_their_answer_is_right():
    """The hostile programs above fail for what they do, not because the harness rejects them (the
    forgers break their own channel to the judge, so they fail whatever they return)."""
    right = {"fork bomb", "thread bomb", "spinning setsid child"}
    jobs = [Job(program=HOSTILE[kind].replace("return 0", "return x * x"), tests=tests)
            for kind in sorted(right) for tests in HOSTILE_TESTS]
    assert [item.status for item in run_batch(jobs, CONFIG).items] == ["passed"] * len(jobs)


def test_sleepers_that_use_up_a_runs_wall_clock_cost_no_other_item_its_verdict():
    config = SandboxConfig(wall_seconds=2.5, item_seconds=1, workers=1)
    sleeper = Job(program="import time\ntime.sleep(600)")
    jobs = [ORDINARY[0], sleeper, sleeper, sleeper, ORDINARY[0], ORDINARY[4], ORDINARY[0]]
    batch = run_batch(jobs, config)
    assert [item.status for item in batch.items] == ["passed", *["timeout"] * 3, "passed", "failed", "passed"]
    assert batch.runs >= 2  # the wall clock ran out; the interrupted item started the next run


def test_an_exception_in_the_answer_is_the_builtin_exception_in_the_tests():
    program = "def parse(text):\n    return int(text)\nclass Custom(Exception):\n    pass\ndef odd():\n    raise Custom('x')"
    tests = ("try:\n    parse('x')\nexcept ValueError as exc:\n    assert 'invalid literal' in str(exc)\nelse:\n    assert False",
             "assert parse('12') == 12", "odd()")
    item = run_batch([Job(program=program, tests=tests)], CONFIG).items[0]
    assert (item.status, item.failed_test) == ("failed", 2) and "Custom: x" in item.error, item


def test_plain_data_crosses_exactly_and_classes_are_remote_handles():
    program = (
        "import math\nLIMIT = [1, (2.5, None)]\n"
        "def echo(x):\n    return x\n"
        "class Counter:\n    def __init__(self, start):\n        self.n = start\n"
        "    def add(self, k):\n        self.n += k\n        return self.n\n"
        "def gen():\n    yield 1\n"
    )
    tests = (
        "values = [None, True, -0.0, float('inf'), 2**200, 1+2j, 'é', b'\\x00', [1, (2,)], {'a': {1}}, frozenset({3})]\n"
        "for v in values:\n    got = echo(v)\n    assert type(got) is type(v) and (got == v or got != got), (v, got)\n"
        "assert str(echo(-0.0)) == '-0.0' and math.isnan(echo(float('nan')))",
        "assert LIMIT == [1, (2.5, None)] and math.pi > 3",
        "c = Counter(10)\nassert c.add(5) == 15 and c.add(1) == 16 and c.n == 16",
        "gen()",
    )
    item = run_batch([Job(program=program, tests=tests)], CONFIG).items[0]
    assert (item.status, item.failed_test) == ("failed", 3) and "not plain data" in item.error, item
