"""The ``teachenv`` command line (typer + rich). Start-up imports no torch / transformers / TRL."""
