"""What a tiny student's numbers depend on: not the thread count, so a resume (or a bench worker given
another share of the cores) computes the same weights; the CPU's kernel level may change them (see the
README, "What varies between machines").

Each build runs in its own process, because torch fixes its thread pool and kernel level per process.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: Pretrain a tiny student (default width, few steps), train one LoRA round on it; print a hash of both.
BUILD_AND_TRAIN = """
import hashlib, numpy as np, torch
from teachenv.core.config import StudentConfig, TinyStudentRecipe, TrainConfig
from teachenv.student.lora_student import LoRAStudent
from teachenv.tasks.arith.task import ArithConfig, ArithTask
task = ArithTask(ArithConfig(val_per_skill=4, test_per_skill=4))
recipe = TinyStudentRecipe(pretrain_steps=20, batch_size=32, warmup_steps=5)
student = LoRAStudent(StudentConfig(model="tiny", tiny=recipe, train=TrainConfig(max_steps=6, batch_size=16)), task)
student.train(task.generate("sub", 64, np.random.default_rng(0)), seed=0)
digest = hashlib.sha256()
for name, weight in sorted(student.model.state_dict().items()):
    digest.update(name.encode()); digest.update(weight.detach().numpy().tobytes())
print(torch.get_num_threads(), digest.hexdigest())
"""


def build_in_process(tmp_path, threads: int) -> tuple[int, str]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TEACHENV_HOME": str(tmp_path / f"home-{threads}")}
    done = subprocess.run([sys.executable, "-c", BUILD_AND_TRAIN], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    used, digest = done.stdout.split()[-2:]
    return int(used), digest


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores to compare thread counts")
def test_the_thread_count_does_not_change_the_pretrained_student_or_its_training(tmp_path):
    one, two = build_in_process(tmp_path, 1), build_in_process(tmp_path, 2)
    assert (one[0], two[0]) == (1, 2)
    assert one[1] == two[1]
