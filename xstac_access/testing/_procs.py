"""Start and stop the local servers as child processes, and nothing else.

Every server of the local world runs in its own process group so that stopping it by PID also
stops anything it spawned (uvicorn workers, postgres backends). Readiness is a condition that
is polled (a TCP port, an HTTP answer, a real request's result), never a fixed sleep, and
every wait has a timeout whose error names the process and shows the end of its log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 that nobody listens on right now (all bound at
    once, so that the kernel cannot hand the same one out twice)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in socks]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    return free_ports(1)[0]


def port_open(port: int, host: str = LOOPBACK) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


def http_ready(url: str) -> bool:
    """True when ``url`` answers with any HTTP status below 500."""
    try:
        with _DIRECT.open(url, timeout=2.0) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as err:
        return err.code < 500
    except OSError:
        return False


def get_json(url: str, timeout: float = 10.0) -> object:
    """The JSON body of a GET on a loopback ``url`` (no proxy)."""
    with _DIRECT.open(url, timeout=timeout) as resp:
        return json.load(resp)


def wait_until(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    """Return once ``check()`` is true; ``TimeoutError`` naming ``what`` after ``timeout`` s.

    For a condition another process brings about (a port opens, a file appears or grows): it
    is looked at every ``poll`` seconds, and the wait ends as soon as it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {what} after {timeout:.0f} s")
        time.sleep(poll)


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

    def wait_ready(self, check: Callable[[], bool], timeout: float, what: str = "ready") -> None:
        """Wait until ``check()`` is true. If the process dies first, or ``timeout`` passes, it
        is stopped and ``RuntimeError`` names it and carries the tail of its log."""

        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with code {self.popen.returncode} before it was "
                    f"{what}; the end of {self.log_path}:\n{self.log_tail()}"
                )
            return check()

        try:
            wait_until(ready, timeout, what)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, TimeoutError):
                raise RuntimeError(
                    f"{self.name} (pid {self.pid}) not {what} after {timeout:g} s; the end of "
                    f"{self.log_path}:\n{self.log_tail()}"
                ) from None
            raise

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
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not _pid_alive(pid), timeout, f"pid {pid} gone")
            return


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
    ready: Callable[[], bool] | None = None,
    timeout: float = 60.0,
) -> ManagedProcess:
    """Start ``argv`` in a new process group and wait until it is ready.

    Ready means ``ready()`` is true, else ``ready_url`` answers (status < 500), else
    ``ready_port`` accepts connections (none of them: started is ready). The output goes to
    ``log_dir/<name>.log``; if the process dies or is not ready in ``timeout`` seconds it is
    stopped and ``RuntimeError`` names it and carries the tail of that log.
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
    if ready is None and ready_url is not None:
        ready = partial(http_ready, ready_url)
    if ready is None and ready_port is not None:
        ready = partial(port_open, ready_port)
    if ready is not None:
        proc.wait_ready(ready, timeout)
    return proc
