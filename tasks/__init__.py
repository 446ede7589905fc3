"""Tasks (installed as ``teachenv.tasks``): one sub-package per task family.

A task is registered by name in ``teachenv.core.registry.tasks``; third-party packages add theirs
through the ``teachenv.tasks`` entry-point group. ``WORLDS`` are the offline worlds (``WorldTask``s)
that get registered gymnasium ids of every structure.
"""

from teachenv.core.registry import tasks as _tasks

_tasks.register("arith", "teachenv.tasks.arith.task:ArithTask")
_tasks.register("shapes", "teachenv.tasks.vqa.shapes:ShapesTask")
_tasks.register("vqa", "teachenv.tasks.vqa.dataset_task:VQADatasetTask")
_tasks.register("gsm8k", "teachenv.tasks.math.gsm8k:GSM8KTask")
_tasks.register("math", "teachenv.tasks.math.hendrycks:MATHTask")
_tasks.register("humaneval", "teachenv.tasks.code.humaneval:HumanEvalTask")
_tasks.register("mbpp", "teachenv.tasks.code.mbpp:MBPPTask")
_tasks.register("livecodebench", "teachenv.tasks.code.livecodebench:LiveCodeBenchTask")
_tasks.register("pyfunc", "teachenv.tasks.code.pyfunc:PyFuncTask")

#: The offline worlds whose gymnasium ids are registered (``teachenv/SkillList{env_suffix}-v0``, ...).
WORLDS: tuple[str, ...] = ("arith", "shapes")
