"""A world known only by its state file: read it, or stop the world from another process.

``python -m xstac_access.testing start --state FILE`` runs a world detached, and its state file
(``LocalWorld.write_state``) records what another process needs: endpoints, PIDs, work and data
directories, cache, clock. Nothing here imports the world's servers, so stopping one is cheap.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

from xstac_access.testing._procs import wait_until


def read_state(path: Path) -> dict[str, Any]:
    """The state a world wrote with ``LocalWorld.write_state``."""
    return json.loads(Path(path).read_text())


def stop_from_state(path: Path, timeout: float = 20.0) -> None:
    """Stop a detached world: SIGTERM its controller (which stops its servers), then kill by
    PID whatever is still running, remove its database directory and the state file."""
    path = Path(path)
    state = read_state(path)
    controller = state.get("controller_pid")
    if controller and controller != os.getpid() and _alive(controller):
        with contextlib.suppress(ProcessLookupError):
            os.kill(controller, signal.SIGTERM)
        if not _gone(controller, timeout):
            _end_group(controller)
    leftovers = state.get("pids", {})
    for name in sorted(leftovers, key=lambda n: n == "postgres"):  # postgres after its clients
        pid = leftovers[name]
        if _alive(pid) and name == "postgres":
            # Immediate shutdown: the postmaster also ends its backends (in their own sessions).
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
        if _alive(pid):
            _end_group(pid)
    if state.get("pg_data_dir"):
        shutil.rmtree(state["pg_data_dir"], ignore_errors=True)
    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _gone(pid: int, timeout: float) -> bool:
    """Whether ``pid`` ended within ``timeout`` seconds."""
    try:
        wait_until(lambda: not _alive(pid), timeout, f"pid {pid} gone")
    except TimeoutError:
        return False
    return True


def _end_group(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL, the process group led by ``pid`` (not a child of ours: unlike
    ``stop_pid`` this treats a zombie awaiting its reaper as gone)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        if _gone(pid, timeout):
            return
