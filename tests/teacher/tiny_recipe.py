"""The small tiny-teacher recipe the teacher tests share: builds in seconds on a loaded core; the tests
need a real LM, not a good one."""

from teachenv.teacher.model import TinyTeacherRecipe

TEST_RECIPE = TinyTeacherRecipe(hidden_size=32, num_layers=1, intermediate_size=64, pretrain_steps=60, batch_size=32)
