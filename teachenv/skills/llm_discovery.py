"""LLM skill discovery: a teacher model labels each question, then groups the labels into categories.

Two steps, both through ``ask_json`` (validated, repaired a bounded number of times, never raising):

1. **Labelling**, one request per ``batch_size`` questions: the questions as numbered lines
   ``1. <question>`` (whitespace collapsed, long ones cut); the reply ``{"labels": [...]}`` holds one
   short free-form label per question, in order. A batch still unusable after its repairs labels
   its questions ``"unlabelled"``.
2. **Clustering**, one request: the distinct labels as numbered lines ``1. <label> (<n> questions)``
   and a line ``Make at most <N> categories.``; the reply ``{"categories": [{"name", "labels"}]}``
   must put every label in exactly one of at most N categories. If it is still unusable after its
   repairs, whatever it placed correctly is kept (the first N categories, each label where it first
   appears) and every label it never placed, like every ``"unlabelled"`` question, goes to
   ``"other"`` — so ``"other"`` may come on top of the N categories.

Every request is greedy (temperature 0) with a fixed seed, categories are sorted by name, and the
result is cached under ``teachenv_home() / "skills" / "<key>.json"``, keyed by the questions (ids and
prompts), the teacher's ``identity()``, the prompt templates and version, and the settings: the same
inputs are answered from the file with no teacher call. A result with a failed call in it (network,
server error after the backend's retries) is returned but not cached, so the next run asks again.
Tokens go to the ledger under ``skill-discovery``. This module knows the teacher only as a
``TextBackend``; it knows no task and does not decide when discovery runs (see ``discovery``).
Images of VQA questions are not sent: labels come from the question text alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from teachenv.core.errors import ConfigError
from teachenv.core.hashing import content_hash
from teachenv.core.ledger import CostLedger
from teachenv.core.paths import teachenv_home
from teachenv.core.records import TaskExample
from teachenv.engines.base import GenerationRequest, TextBackend
from teachenv.engines.json_reply import ask_json, parse_reply
from teachenv.skills.mapping import OTHER, SkillMapping, load_mapping, save_mapping

ROLE = "skill-discovery"
#: Bumped whenever the prompts or the way replies are read change, so old cache files are not reused.
PROMPT_VERSION = 1
#: The seed of every request (with temperature 0, so a teacher that honours seeds is reproducible).
SEED = 0
#: The label of a question whose batch got no usable reply.
UNLABELLED = "unlabelled"
#: Characters of a question shown to the teacher (whitespace collapsed); longer ones end in "…".
QUESTION_CHARS = 600
#: Characters kept of a label the teacher gave.
LABEL_CHARS = 80
#: Ceiling on the reply tokens asked for (a clustering reply repeats every distinct label).
MAX_REPLY_TOKENS = 8192

SYSTEM = "You sort the questions of a benchmark into the skills they test. Answer with JSON only."
LABEL_TEMPLATE = (
    "Give each question below a short skill label (2 to 6 words) naming the skill it tests, such as "
    "'two-digit addition with carry' or 'percentages in word problems'. Give the same label to questions "
    "that test the same skill.\n"
    "Questions:\n"
    "{questions}\n"
    'Reply with a JSON object {{"labels": ["...", ...]}} holding exactly {count} labels, one per question, '
    "in the order of the questions."
)
CLUSTER_TEMPLATE = (
    "These skill labels were given to the questions of one benchmark, each with how many questions got it:\n"
    "{labels}\n"
    "Make at most {categories} categories.\n"
    "Group the labels into categories of related skills and give each category a short name (2 to 5 words). "
    "Put every label above in exactly one category, spelled exactly as above.\n"
    'Reply with a JSON object {{"categories": [{{"name": "...", "labels": ["...", ...]}}, ...]}}.'
)


class LabelsReply(BaseModel):
    labels: list[str]


class Category(BaseModel):
    name: str
    labels: list[str]


class CategoriesReply(BaseModel):
    categories: list[Category]


LABELS_SCHEMA = LabelsReply.model_json_schema()
CATEGORIES_SCHEMA = CategoriesReply.model_json_schema()


# -- the cache --------------------------------------------------------------------------------------

def cache_key(examples: Sequence[TaskExample], backend: TextBackend, *, categories: int, batch_size: int,
              max_repairs: int) -> str:
    """The key of a discovery's inputs: the questions, the teacher, the prompts and the settings."""
    return content_hash({
        "examples": [[e.id, e.prompt] for e in examples],
        "backend": backend.identity(),
        "prompt_version": PROMPT_VERSION,
        "prompts": [SYSTEM, LABEL_TEMPLATE, CLUSTER_TEMPLATE],
        "seed": SEED,
        "categories": categories,
        "batch_size": batch_size,
        "max_repairs": max_repairs,
    })


def cache_path(key: str) -> Path:
    return teachenv_home() / "skills" / f"{key}.json"


def _cached(path: Path, key: str, examples: Sequence[TaskExample]) -> SkillMapping | None:
    """The mapping cached at ``path`` if it is readable and made for these inputs; else None (recompute)."""
    if not path.exists():
        return None
    try:
        mapping = load_mapping(path)
    except ConfigError:
        return None  # a damaged cache file is rewritten, not an error
    if mapping.key != key or mapping.source != "llm" or mapping.missing_ids(examples):
        return None
    return mapping


# -- discovery --------------------------------------------------------------------------------------

def discover_with_llm(examples: Sequence[TaskExample], backend: TextBackend, *, categories: int = 8,
                      batch_size: int = 20, max_repairs: int = 1,
                      ledger: CostLedger | None = None) -> SkillMapping:
    """The llm mapping of ``examples`` (ids assumed distinct), from the cache when it has one."""
    key = cache_key(examples, backend, categories=categories, batch_size=batch_size, max_repairs=max_repairs)
    path = cache_path(key)
    cached = _cached(path, key, examples)
    if cached is not None:
        return cached
    labels, labels_failed = _label_questions(examples, backend, ledger, batch_size, max_repairs)
    placement, clustering_failed = _cluster_labels(Counter(labels.values()), backend, ledger, categories,
                                                   max_repairs)
    assignments = {i: placement.get(label, OTHER) for i, label in labels.items()}
    mapping = SkillMapping(source="llm", categories=tuple(sorted(set(assignments.values()))),
                           assignments=assignments, labels=labels, key=key)
    if not (labels_failed or clustering_failed):  # a failed call (network, server) may succeed next time
        save_mapping(path, mapping)
    return mapping


def _label_questions(examples: Sequence[TaskExample], backend: TextBackend, ledger: CostLedger | None,
                     batch_size: int, max_repairs: int) -> tuple[dict[str, str], bool]:
    """Example id → its label (``UNLABELLED`` where the batch's reply was unusable), and whether a call failed."""
    batches = [list(examples[i:i + batch_size]) for i in range(0, len(examples), batch_size)]
    replies: list[LabelsReply | None] = [None] * len(batches)
    failed = False
    # ask_json takes one check for all its requests and the check must know the batch's size, so the
    # batches go in one call per distinct size (two at most: the full ones and the last).
    for size in sorted({len(b) for b in batches}, reverse=True):
        same = [i for i, b in enumerate(batches) if len(b) == size]
        answered = ask_json(backend, ledger, ROLE, [_labelling_request(batches[i]) for i in same], LabelsReply,
                            max_repairs=max_repairs, check=_labels_problem(size))
        for i, reply in zip(same, answered, strict=True):
            replies[i] = reply.value
            failed = failed or reply.call_failed
    labels: dict[str, str] = {}
    for batch, value in zip(batches, replies, strict=True):
        for j, example in enumerate(batch):
            labels[example.id] = clean_label(value.labels[j]) if value is not None else UNLABELLED
    return labels, failed


def _labelling_request(batch: Sequence[TaskExample]) -> GenerationRequest:
    questions = "\n".join(f"{n}. {one_line(e.prompt, QUESTION_CHARS)}" for n, e in enumerate(batch, start=1))
    return GenerationRequest(prompt=LABEL_TEMPLATE.format(questions=questions, count=len(batch)), system=SYSTEM,
                             json_schema=LABELS_SCHEMA, schema_name="skill_labels", temperature=0.0, seed=SEED,
                             max_new_tokens=min(MAX_REPLY_TOKENS, 64 + 32 * len(batch)))


def _labels_problem(expected: int) -> Callable[[LabelsReply], str | None]:
    def check(reply: LabelsReply) -> str | None:
        if len(reply.labels) != expected:
            return (f"expected exactly {expected} labels, one per question in order, "
                    f"but the reply has {len(reply.labels)}")
        empty = [n for n, label in enumerate(reply.labels, start=1) if not clean_label(label)]
        if empty:
            return f"the labels of questions {empty[:5]} are empty"
        return None

    return check


def _cluster_labels(counts: Counter[str], backend: TextBackend, ledger: CostLedger | None, categories: int,
                    max_repairs: int) -> tuple[dict[str, str], bool]:
    """Label → category name for the labels the teacher placed (``UNLABELLED`` is never sent), and
    whether the call failed."""
    labels = sorted(label for label in counts if label != UNLABELLED)
    if not labels:
        return {}, False
    lines = "\n".join(f"{n}. {label} ({counts[label]} question{'s' if counts[label] != 1 else ''})"
                      for n, label in enumerate(labels, start=1))
    request = GenerationRequest(prompt=CLUSTER_TEMPLATE.format(labels=lines, categories=categories), system=SYSTEM,
                                json_schema=CATEGORIES_SCHEMA, schema_name="skill_categories", temperature=0.0,
                                seed=SEED, max_new_tokens=min(MAX_REPLY_TOKENS, 128 + 24 * len(labels)))
    (reply,) = ask_json(backend, ledger, ROLE, [request], CategoriesReply, max_repairs=max_repairs,
                        check=_categories_problem(labels, categories))
    value = reply.value
    if value is None:  # keep what an unusable reply placed correctly; the rest goes to "other"
        try:
            value = parse_reply(reply.text, CategoriesReply)
        except ValueError:
            return {}, reply.call_failed
    return _placement(value, set(labels), categories), False


def _categories_problem(labels: Sequence[str], limit: int) -> Callable[[CategoriesReply], str | None]:
    wanted = set(labels)

    def check(reply: CategoriesReply) -> str | None:
        problems = []
        if len(reply.categories) > limit:
            problems.append(f"{len(reply.categories)} categories, but at most {limit} are allowed")
        names = Counter(clean_label(c.name) for c in reply.categories)
        if names.get(""):
            problems.append("a category has an empty name")
        repeated = sorted(name for name, n in names.items() if name and n > 1)
        if repeated:
            problems.append(f"category names used more than once: {_few(repeated)}")
        placed = Counter(clean_label(label) for c in reply.categories for label in c.labels)
        twice = sorted(label for label, n in placed.items() if n > 1 and label in wanted)
        if twice:
            problems.append(f"labels in more than one category: {_few(twice)}")
        unknown = sorted(label for label in placed if label not in wanted)
        if unknown:
            problems.append(f"labels that are not in the list: {_few(unknown)}")
        missing = [label for label in labels if label not in placed]
        if missing:
            problems.append(f"{len(missing)} labels are in no category: {_few(missing)}")
        return "; ".join(problems) or None

    return check


def _placement(reply: CategoriesReply, wanted: set[str], limit: int) -> dict[str, str]:
    """Label → category from a reply: its first ``limit`` named categories, each label where it first appears."""
    placement: dict[str, str] = {}
    for category in [c for c in reply.categories if clean_label(c.name)][:limit]:
        for label in map(clean_label, category.labels):
            if label in wanted and label not in placement:
                placement[label] = clean_label(category.name)
    return placement


# -- text helpers -----------------------------------------------------------------------------------

def one_line(text: str, limit: int) -> str:
    """``text`` with whitespace collapsed to single spaces, cut to ``limit`` characters (ending in "…")."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_label(label: str) -> str:
    """A label (or category name) as it is compared and stored: one line, at most ``LABEL_CHARS``."""
    return one_line(label, LABEL_CHARS)


def _few(items: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(repr(i) for i in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")
