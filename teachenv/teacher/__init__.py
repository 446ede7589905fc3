"""The tiny teacher LM of the offline worlds (built and cached like the tiny students), the
``tiny-teacher`` text backend that samples it, and its DPO alignment on a LoRA adapter. Heavy
imports (torch, transformers, peft, trl) happen inside functions only."""
