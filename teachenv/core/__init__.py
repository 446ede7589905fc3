"""The bottom layer: typed records, the registry, configs, errors, the cost ledger, run directory.

Nothing here imports torch, transformers or any model library; everything above builds on it.
"""
