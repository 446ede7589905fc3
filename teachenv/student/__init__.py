"""The student: a base causal LM plus a LoRA adapter, trained with TRL and evaluated per skill.

Importing it changes nothing in the process (Hub access is the user's choice: see ``student.hub``)."""
