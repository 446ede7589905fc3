"""The student: a base causal LM plus a LoRA adapter, trained with TRL and evaluated per skill."""

import os

# The student loads local files only (the tiny student, or a model id the user has cached). Unset,
# `datasets` and the hub client retry look-ups for ~20 s when offline. Set HF_HUB_OFFLINE=0
# yourself to let a hub model id download.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
