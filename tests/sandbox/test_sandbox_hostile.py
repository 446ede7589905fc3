"""Hostile programs: each is contained by the operating system and reported as a typed result.

Every run uses the `tight` limits (2 CPU s, 5 wall s, 256 MB, 32 processes, 8 MB files, a 16 MB
tmpfs of 512 inodes), so each test costs at most a few seconds.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from teachenv.sandbox import RunResult, outcome, probe, process, run_program

pytestmark = pytest.mark.usefixtures("isolated")

REPO = Path(__file__).resolve().parents[2]


def completes(program: str, config) -> RunResult:
    """Run a program that catches its own failures (to print what happened); it must pass."""
    result = run_program(program, [], config)
    assert result.status == "passed", result
    return result


def test_an_infinite_loop_is_stopped_by_the_cpu_limit(tight):
    result = run_program("while True:\n    pass", [], tight)
    assert result.status == "timeout" and "CPU" in result.error
    assert result.duration_s < tight.wall_seconds + 2


def test_a_sleeping_program_that_ignores_sigterm_is_killed_at_the_wall_clock(tight, processes_of):
    program = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(600)"
    result = run_program(program, [], tight)
    assert result.status == "timeout" and "wall-clock" in result.error
    assert tight.wall_seconds <= result.duration_s < tight.wall_seconds + 3
    assert processes_of(result.uid) == []


def test_the_sandbox_ends_itself_when_the_parents_clock_does_not(tight, processes_of):
    # As if the parent died: its wall clock (here 30 s) never fires, the launcher's backstop (1 s) does.
    config = tight.model_copy(update={"wall_seconds": 30})
    spec = process.build_spec(
        config, "isolated", probe.resolve_python(None), "single", {"program": "import time\ntime.sleep(600)", "tests": []},
        workdir=process.ISOLATED_WORKDIR, uid=process.sandbox_uid(config),
    )
    spec["backstop_seconds"] = 1
    raw = process.execute(process.launcher_argv("isolated"), spec, wall_seconds=30, output_cap=1024)
    ending = outcome.read_ending(raw, "isolated", wall_seconds=30, cpu_limit=2)
    assert raw.killed is None and raw.duration_s < 10
    assert ending.limit_error[0] == "timeout" and "backstop" in ending.limit_error[1]
    assert processes_of(spec["uid"]) == []


def test_a_fork_bomb_is_capped_by_the_process_limit_and_leaves_no_process(tight, processes_of):
    program = (
        "import os, time\ncount = 0\n"
        "try:\n    while True:\n        if os.fork() == 0:\n            time.sleep(600)\n            os._exit(0)\n        count += 1\n"
        "except OSError as exc:\n    print(count, exc.errno)"
    )
    result = completes(program, tight)
    forks, errno = map(int, result.stdout.split())
    assert forks < tight.max_processes and errno == 11  # EAGAIN: RLIMIT_NPROC
    assert processes_of(result.uid) == []


def test_a_spinning_fork_bomb_is_stopped_and_leaves_no_process(tight, processes_of):
    program = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = run_program(program, [], tight)
    assert result.status == "timeout"
    assert processes_of(result.uid) == []


def test_a_thread_bomb_is_capped_and_leaves_no_process(tight, processes_of):
    program = (
        "import threading, time\ncount = 0\n"
        "try:\n    while True:\n        threading.Thread(target=time.sleep, args=(600,)).start()\n        count += 1\n"
        "except (RuntimeError, MemoryError) as exc:\n    print(count, type(exc).__name__)"
    )
    result = run_program(program, [], tight)
    assert result.status == "passed", result  # the verdict does not wait for the 600 s threads
    assert int(result.stdout.split()[0]) < tight.max_processes
    assert processes_of(result.uid) == []


@pytest.mark.parametrize(
    "program", ["block = bytearray(4 * 1024**3)", "chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024**2))"]
)
def test_allocating_gigabytes_is_reported_as_memory(tight, program):
    result = run_program(program, [], tight)
    assert result.status == "memory", result


@pytest.mark.parametrize(
    "program",
    [
        "def down(n):\n    return down(n + 1)\ndown(0)",  # RecursionError
        "import json, sys\nsys.setrecursionlimit(10**7)\nnested = []\nfor _ in range(10**6):\n"
        "    nested = [nested]\njson.dumps(nested)",  # C stack overflow: SIGSEGV
    ],
)
def test_deep_recursion_fails_or_crashes_but_never_hangs(tight, program):
    result = run_program(program, [], tight)
    assert result.status in ("failed", "crashed"), result
    assert result.duration_s < tight.wall_seconds


def test_a_setsid_double_fork_daemon_does_not_outlive_the_sandbox(tight, processes_of):
    program = (
        "import os, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(600)\n        os._exit(0)\n"
        "    os._exit(0)\n"
        "time.sleep(0.2)\nprint('left a daemon behind')"
    )
    result = run_program(program, [], tight)
    assert result.status == "passed" and result.stdout == "left a daemon behind\n"
    assert processes_of(result.uid) == []


@pytest.fixture
def world_writable_dir():
    """A world-writable directory on the root filesystem, outside every tmpfs-shadowed path."""
    path = Path(tempfile.mkdtemp(prefix=".sandbox-test-", dir=REPO))
    try:
        path.chmod(0o777)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_writes_to_absolute_paths_outside_the_sandbox_never_appear(tight, tmp_path, world_writable_dir):
    name = f"escaped-{secrets.token_hex(4)}"
    targets = [Path.cwd() / name, Path.home() / name, Path("/tmp") / name, Path("/var/tmp") / name,
               Path("/dev/shm") / name, tmp_path / name, world_writable_dir / name]
    program = (
        f"targets = {[str(target) for target in targets]!r}\n"
        "for target in targets:\n    try:\n        open(target, 'w').write('x')\n        print('wrote', target)\n"
        "    except OSError as exc:\n        print('refused', target, exc.errno)"
    )
    result = completes(program, tight)
    assert "wrote /tmp/" in result.stdout  # inside, /tmp is the sandbox's own tmpfs
    assert [target for target in targets if target.exists()] == []


def test_deleting_a_file_outside_the_sandbox_fails(tight, tmp_path, world_writable_dir):
    victims = [tmp_path / "keep.txt", world_writable_dir / "keep.txt"]
    for victim in victims:
        victim.write_text("precious")
        victim.chmod(0o666)
    tmp_path.chmod(0o777)
    program = f"import os\nfor victim in {[str(victim) for victim in victims]!r}:\n    try:\n        os.remove(victim)\n" \
              "    except OSError as exc:\n        print(exc.errno)"
    completes(program, tight)
    assert all(victim.read_text() == "precious" for victim in victims)


def test_many_small_files_are_capped_by_the_tmpfs_inode_limit(tight):
    program = (
        "import os\ncount = 0\n"
        "try:\n    for count in range(100_000):\n        open(f'f{count}', 'w').close()\n"
        "except OSError as exc:\n    print(count, exc.errno)"
    )
    result = completes(program, tight)
    created, errno = map(int, result.stdout.split())
    assert created <= tight.tmpfs_inodes and errno == 28  # ENOSPC


def test_a_huge_file_is_capped_by_the_file_size_limit_on_a_tmpfs(tight):
    program = (
        "import os\nos.makedirs('/tmp/out', exist_ok=True)\nblock = b'x' * 2**20\n"
        "with open('/tmp/out/huge', 'wb', buffering=0) as out:\n"
        "    try:\n        for _ in range(1024):\n            out.write(block)\n"
        "    except OSError as exc:\n        print(exc.errno)\n"
        "stat = os.statvfs('/tmp/out')\nprint(os.path.getsize('/tmp/out/huge'), stat.f_blocks * stat.f_frsize)"
    )
    result = completes(program, tight)
    errno, size, filesystem_size = map(int, result.stdout.split())
    assert errno == 27 and size <= tight.max_file_mb * 2**20  # EFBIG: RLIMIT_FSIZE
    assert filesystem_size == tight.tmpfs_mb * 2**20  # the file lived in RAM, not on the disk
    assert not Path("/tmp/out/huge").exists()


def test_a_bigger_file_limit_still_stops_at_the_tmpfs_size(tight):
    config = tight.model_copy(update={"max_file_mb": 1024})
    program = (
        "block = b'x' * 2**20\n"
        "with open('big', 'wb', buffering=0) as out:\n"
        "    try:\n        for _ in range(1024):\n            out.write(block)\n"
        "    except OSError as exc:\n        print(exc.errno)"
    )
    result = run_program(program, [], config)
    assert result.status == "passed" and result.stdout.strip() == "28", result  # ENOSPC


def test_secrets_in_the_parents_environment_are_not_visible(tight, monkeypatch):
    secret = secrets.token_hex(16)
    monkeypatch.setenv("TEACHENV_TEST_SECRET", secret)
    program = (
        "import os, glob\nfound = [k for k, v in os.environ.items() if v == SECRET]\n"
        f"for path in ['/proc/{os.getpid()}/environ', '/proc/{os.getppid()}/environ'] + glob.glob('/proc/*/environ'):\n"
        "    try:\n        if SECRET.encode() in open(path, 'rb').read():\n            found.append(path)\n"
        "    except OSError:\n        pass\n"
        f"print('parent visible:', os.path.exists('/proc/{os.getpid()}'), 'found:', found)"
    )
    result = run_program(f"SECRET = {secret!r}\n" + program, [], tight)
    assert result.status == "passed", result
    assert "found: []" in result.stdout
    assert "parent visible: False" in result.stdout


def test_a_tcp_connection_to_a_local_listener_fails(tight):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        program = (
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('connected')\n"
            "except OSError as exc:\n    print('refused', exc.errno)"
        )
        result = run_program(program, [], tight)
        assert result.status == "passed" and result.stdout.startswith("refused"), result
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()


def test_a_gigabyte_on_stdout_is_capped_without_a_hang_or_memory_growth(tight):
    config = tight.model_copy(update={"wall_seconds": 30, "cpu_seconds": 20})
    program = "import sys\nchunk = 'x' * 2**20\nfor _ in range(1024):\n    sys.stdout.write(chunk)"
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run_program(program, [], config)
    assert result.status == "passed", result.error
    assert result.stdout_truncated and len(result.stdout) == config.max_output_bytes
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 200 * 1024  # KiB


def test_the_subclasses_route_to_os_system_runs_but_stays_inside(tight, world_writable_dir):
    marker = world_writable_dir / "pwned"
    program = (
        "system = next(c for c in ().__class__.__bases__[0].__subclasses__() if c.__name__ == '_wrap_close')"
        ".__init__.__globals__['system']\n"
        f"system('id -u; touch {marker} /tmp/inside; ls /tmp/inside; ls /root')"
    )
    result = completes(program, tight)
    uid_line, inside = result.stdout.split()[:2]
    assert int(uid_line) == result.uid != 0 and inside == "/tmp/inside"
    assert not marker.exists()


def test_ctypes_calls_into_libc_are_contained(tight, world_writable_dir):
    marker = world_writable_dir / "pwned"
    program = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.kill(os.getppid(), 9), ctypes.get_errno())\n"
        f"print(libc.kill({os.getpid()}, 9), ctypes.get_errno())\n"
        f"print(libc.system(b'touch {marker}') != 0)"
    )
    result = completes(program, tight)
    assert result.stdout.split() == ["-1", "1", "-1", "3", "True"]  # EPERM for init, ESRCH for us
    assert not marker.exists()


def test_killing_every_process_it_can_only_kills_inside_the_sandbox(tight, processes_of):
    program = (
        "import ctypes, os, time\nchild = os.fork()\nif child == 0:\n    time.sleep(60)\n    os._exit(0)\n"
        "ctypes.CDLL(None).kill(-1, 9)\nprint(os.WTERMSIG(os.waitpid(child, 0)[1]))"
    )
    result = run_program(program, [], tight)  # kill(-1) spares the caller and init, and reaches nothing outside
    assert result.status == "passed" and result.stdout == "9\n", result
    assert processes_of(result.uid) == []


def test_killing_its_parent_fails_and_this_process_gets_a_typed_result(tight):
    result = run_program("import os\nos.kill(os.getppid(), 9)", [], tight)
    assert result.status == "failed" and "PermissionError" in result.error
