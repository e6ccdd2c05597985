"""Start and stop the local servers as child processes, and nothing else.

Every server of the local world runs in its own process group so that stopping it by PID also
stops anything it spawned (uvicorn workers, postgres backends). Readiness is checked by polling
a TCP port or an HTTP URL, never by sleeping a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = LOOPBACK) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def http_ready(url: str) -> bool:
    """True when ``url`` answers with any HTTP status below 500."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as resp:  # noqa: S310 (loopback only)
            return resp.status < 500
    except urllib.error.HTTPError as err:
        return err.code < 500
    except OSError:
        return False


@dataclass
class ManagedProcess:
    """A child process of the local world, stoppable by PID."""

    name: str
    popen: subprocess.Popen
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the process log, to explain a failed start."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the whole process group; kill it if it does not exit in ``timeout``."""
        stop_pid(self.pid, timeout=timeout)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=0.5)


def stop_pid(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL it if alive after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return
            time.sleep(0.05)


def _pid_alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_process(
    name: str,
    argv: list[str],
    *,
    log_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ready_port: int | None = None,
    ready_url: str | None = None,
    timeout: float = 15.0,
) -> ManagedProcess:
    """Start ``argv`` in a new process group and wait until it is ready.

    Ready means ``ready_url`` answers (status < 500) or ``ready_port`` accepts connections. The
    output goes to ``log_dir/<name>.log``; if the process dies or is not ready in ``timeout``
    seconds it is stopped and ``RuntimeError`` carries the tail of that log.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    proc = ManagedProcess(name=name, popen=popen, log_path=log_path)
    deadline = time.monotonic() + timeout
    while True:
        if not proc.alive():
            raise RuntimeError(f"{name} exited with code {popen.returncode}:\n{proc.log_tail()}")
        if ready_url is not None and http_ready(ready_url):
            return proc
        if ready_url is None and ready_port is not None and port_open(ready_port):
            return proc
        if ready_url is None and ready_port is None:
            return proc
        if time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"{name} not ready after {timeout:.0f} s:\n{proc.log_tail()}")
        time.sleep(0.05)
