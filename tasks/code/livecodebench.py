"""``LiveCodeBenchTask`` (``livecodebench``): contest problems (LeetCode, AtCoder, Codeforces) graded by
running the student's program on the problem's test cases in the sandbox.

LiveCodeBench's Hub loader is a dataset *script*, which ``datasets`` ≥ 4 no longer runs, so its JSONL
files are read directly through ``data_files``: by default validation from ``test.jsonl`` (the
problems of release_v1) and test from ``test2.jsonl`` (those release_v2 added: later contests, so
the splits are disjoint by date), both configurable (DataEnvGym uses release_v1 / v2 alike). Test
cases: ``public_test_cases`` (JSON) and ``private_test_cases`` (JSON, or base64 + zlib + pickle of
JSON — unpickled with every class lookup refused, so no code runs). ``stdin`` problems: the program
side gets a function that runs the solution as ``__main__`` on the input and returns what it
printed, and the test (in the sandbox's judge process) compares the printed tokens; ``functional``
(LeetCode) problems: the tests call ``Solution().<func_name>`` on the JSON arguments, through the
judge's plain-data proxies. Skills: the difficulty (or the platform). Rows
without tests are skipped and reported. It knows nothing of models or engines.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.errors import ConfigError
from teachenv.core.records import TaskExample
from teachenv.sandbox import SandboxConfig
from teachenv.tasks.base import EvalSplit
from teachenv.tasks.code.graded import ExecutedTask
from teachenv.tasks.dataset_source import report_skipped

HUB_FILES = "hf://datasets/livecodebench/code_generation_lite/"
#: Test cases run per problem (the slowest problems have hundreds).
MAX_TESTS = 20
#: The most an encoded private test-case field may inflate to (the largest real ones are a few MB).
MAX_DECODED_BYTES = 256 << 20


class LiveCodeBenchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    val_files: tuple[str, ...] = Field((HUB_FILES + "test.jsonl",), description="JSONL files of validation problems.")
    test_files: tuple[str, ...] = Field((HUB_FILES + "test2.jsonl",), description="JSONL files of test problems.")
    skill_by: Literal["difficulty", "platform"] = "difficulty"
    max_tests: int = Field(MAX_TESTS, ge=1, description="Test cases run per problem (public first).")
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig, description="Limits of the runs that grade.")


class _NoClasses(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset")


def decode_cases(text: str) -> list[dict]:
    """Test cases from JSON, or from base64 + zlib + pickle of JSON (no class is ever loaded);
    ValueError for anything else (a list of objects is required)."""
    try:
        cases = json.loads(text)
    except json.JSONDecodeError:
        cases = _json_or_error(_unpickled(text))
    except RecursionError:
        raise ValueError("the test cases are nested too deeply") from None
    if not isinstance(cases, list) or not all(isinstance(case, dict) for case in cases):
        raise ValueError(f"test cases must be a JSON list of objects, not {type(cases).__name__}")
    return cases


def _unpickled(text: str) -> str:
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(text), MAX_DECODED_BYTES)
        if inflater.unconsumed_tail:
            raise ValueError(f"the encoded test cases inflate to over {MAX_DECODED_BYTES} bytes")
        value = _NoClasses(io.BytesIO(raw)).load()
    except pickle.UnpicklingError as exc:
        raise ValueError(f"unreadable encoded test cases: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - bytes from a dataset: the unpickler raises anything on garbage
        raise ValueError(f"unreadable encoded test cases ({type(exc).__name__}: {exc})"[:300]) from None
    if not isinstance(value, str):
        raise ValueError(f"the encoded test cases hold a {type(value).__name__}, not JSON text")
    return value


def _json_or_error(text: str) -> object:
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("the test cases are nested too deeply") from None


#: The program side of a stdin problem: the solution's source, and a function that runs it as
#: ``__main__`` on a given stdin and returns what it printed. The judge compares that text with the
#: expected output in its own process (never running the solution there).
STDIN_RUNNER = """\
def run_on_stdin(stdin):
    import io, sys
    saved = sys.stdin, sys.stdout
    sys.stdin, sys.stdout = io.StringIO(stdin), io.StringIO()
    try:
        try:
            exec(compile(SOLUTION, '<solution>', 'exec'), {'__name__': '__main__'})
        except SystemExit:
            pass
        return sys.stdout.getvalue()
    finally:
        sys.stdin, sys.stdout = saved
"""


def stdin_program(code: str) -> str:
    return f"SOLUTION = {code!r}\n{STDIN_RUNNER}"


def stdin_test(case: dict) -> str:
    return f"assert run_on_stdin({case['input']!r}).split() == {case['output']!r}.split(), 'wrong output'\n"


def functional_test(case: dict, func_name: str) -> str:
    return (f"import json as _json\n_args = [_json.loads(line) for line in {case['input']!r}.splitlines() if line.strip()]\n"
            f"assert Solution().{func_name}(*_args) == _json.loads({case['output']!r}), 'wrong output'\n")


class LiveCodeBenchTask(ExecutedTask):
    name: ClassVar[str] = "livecodebench"
    Config: ClassVar[type[BaseModel]] = LiveCodeBenchConfig
    max_new_tokens: ClassVar[int] = 1024

    def __init__(self, config: LiveCodeBenchConfig | None = None) -> None:
        self.config = config or LiveCodeBenchConfig()
        #: (row, reason) of every row skipped while loading.
        self.skipped: list[tuple[str, str]] = []

    @cached_property
    def _splits(self) -> dict[str, list[TaskExample]]:
        import datasets

        files = {"val": list(self.config.val_files), "test": list(self.config.test_files)}
        try:
            loaded = datasets.load_dataset("json", data_files=files)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"task.val_files / task.test_files could not be read ({type(exc).__name__}: {exc}); "
                              "point them at local copies of LiveCodeBench's JSONL files when offline.") from exc
        splits = {role: [e for i, raw in enumerate(loaded[role]) if (e := self._example(raw, f"{role}[{i}]"))]
                  for role in files}
        report_skipped(self.name, self.skipped)
        return splits

    def _example(self, raw: dict[str, Any], row: str) -> TaskExample | None:
        try:
            cases = decode_cases(raw.get("public_test_cases") or "[]")
            cases += decode_cases(raw.get("private_test_cases") or "[]")
        except ValueError as exc:
            self.skipped.append((row, f"unreadable test cases: {exc}"))
            return None
        if not cases:
            self.skipped.append((row, "no test cases"))
            return None
        metadata = json.loads(raw.get("metadata") or "{}")
        cases = cases[: self.config.max_tests]
        if cases[0].get("testtype") == "functional":
            func = metadata.get("func_name")
            if not func:
                self.skipped.append((row, "a functional problem without metadata.func_name"))
                return None
            tests = tuple(functional_test(c, func) for c in cases)
        else:
            tests = tuple(stdin_test(c) for c in cases)
        starter = (raw.get("starter_code") or "").strip()
        prompt = (f"{raw.get('question_content', '').strip()}\n\n"
                  + (f"Complete this code:\n{starter}\n" if starter else "Read the input from stdin and print the answer.\n"))
        skill = str(raw.get(self.config.skill_by) or "unknown")
        return TaskExample(id=f"lcb/{raw.get('question_id', row)}", skill=skill, prompt=prompt, answer="", tests=tests,
                           params={"platform": str(raw.get("platform", "")),
                                   "testtype": "functional" if cases[0].get("testtype") == "functional" else "stdin"})

    @cached_property
    def skills(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(sorted({e.skill for split in self._splits.values() for e in split}))

    def load(self, split: EvalSplit) -> list[TaskExample]:
        return list(self._splits[split])

    def seed_examples(self, skill: str, count: int, rng: np.random.Generator) -> list[TaskExample]:
        return []  # no training split: showing validation or test problems would leak them

    def program(self, example: TaskExample, completion: str) -> str:
        if example.params.get("testtype") == "functional":
            return extract_code(completion)  # defines Solution, whose methods the tests call
        return stdin_program(extract_code(completion))

    def empty_program(self, example: TaskExample, completion: str) -> str | None:
        # A program that prints nothing (stdin) or defines no Solution (functional).
        return "pass\n" if example.params.get("testtype") == "functional" else stdin_program("pass")


def extract_code(completion: str) -> str:
    """The code of a completion: the last fenced ```python block if there is one, else the whole text."""
    if "```" not in completion:
        return completion
    blocks = completion.split("```")[1::2]
    code = blocks[-1] if blocks else completion
    return code.split("\n", 1)[1] if code.split("\n", 1)[0].strip().isalpha() else code
