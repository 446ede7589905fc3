"""The student: a base causal LM plus a LoRA adapter, trained with TRL and evaluated per skill."""
