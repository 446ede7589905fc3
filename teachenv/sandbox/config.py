"""`SandboxConfig`: the limits of one sandbox run and how many runs go at once.

This module knows only the shape and the defaults of the limits; how each is enforced lives in
`launcher` (inside the sandbox) and `process` (the wall clock and output caps, in the parent).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SandboxConfig(BaseModel):
    """Limits of one sandbox run (or of one batched run of many items)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    cpu_seconds: float = Field(10.0, gt=0, le=3600)
    """CPU time of the sandboxed interpreter (RLIMIT_CPU: SIGXCPU, then SIGKILL one second later)."""
    wall_seconds: float = Field(20.0, gt=0, le=3600)
    """Wall-clock limit of one sandbox run; the parent kills the whole namespace when it passes."""
    memory_mb: int = Field(512, ge=32, le=1 << 20)
    """Address space of each sandboxed process (RLIMIT_AS); exceeding it raises MemoryError."""
    max_processes: int = Field(64, ge=1, le=100_000)
    """Processes and threads of the sandbox's uid (RLIMIT_NPROC); contains fork and thread bombs."""
    max_file_mb: int = Field(16, ge=1, le=1 << 20)
    """Largest file the program may write (RLIMIT_FSIZE); a bigger write fails with EFBIG."""
    max_open_files: int = Field(256, ge=16, le=1 << 20)
    """Open file descriptors per process (RLIMIT_NOFILE)."""
    tmpfs_mb: int = Field(64, ge=1, le=1 << 20)
    """Size of the private tmpfs holding the working directory and /tmp, /var/tmp, /dev/shm."""
    tmpfs_inodes: int = Field(4096, ge=64, le=1 << 24)
    """Files and directories the private tmpfs can hold."""
    max_output_bytes: int = Field(65_536, ge=0, le=1 << 30)
    """Bytes kept of stdout and of stderr each; the rest is read and discarded (reported as truncated)."""
    item_seconds: float = Field(2.0, gt=0, le=3600)
    """Batch mode: wall-clock limit of one item, enforced by the item's own init inside the sandbox
    (the parent's stall watchdog is a backstop); its processes also get a CPU limit of about as much."""
    item_output_bytes: int = Field(4096, ge=0, le=1 << 20)
    """Batch mode: characters of each item's own stdout kept in its result."""
    workers: int = Field(4, ge=1, le=256)
    """Sandbox runs at once in `SandboxPool` and in `run_batch` (which splits a batch into chunks)."""
    python: str | None = None
    """Interpreter of the untrusted code; None: this interpreter if an unprivileged uid can run it
    (its files world-readable), else the system ``python3``."""
    uid: int | None = Field(None, ge=1, lt=1 << 31)
    """Unprivileged uid (= gid) the code runs as; None: a fresh random uid per run, so that
    RLIMIT_NPROC (counted per uid, machine-wide) limits each run on its own."""
    allow_weak: bool = False
    """Run even where namespaces are unavailable, as a plain subprocess with rlimits and a temp dir
    (also enabled by ``TEACHENV_SANDBOX=weak``). Loudly warned and recorded in every result."""

    @model_validator(mode="after")
    def _item_fits_in_run(self) -> SandboxConfig:
        if self.item_seconds >= self.wall_seconds:
            raise ValueError(
                f"item_seconds ({self.item_seconds}) must be below wall_seconds "
                f"({self.wall_seconds}): one batch item has to fit in one run; lower item_seconds or raise wall_seconds."
            )
        return self
