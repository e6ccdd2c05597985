"""Every module of the package imports on Windows and macOS as well as on Linux.

The rule, read from the source with ``ast``: what runs when a module is imported (its top level,
class bodies, decorators, default values) neither imports a POSIX-only module (:data:`POSIX_ONLY`)
nor touches a POSIX-only name of ``os`` or ``signal`` (:data:`POSIX_NAMES`), unless it sits under
a platform check (an ``if`` on ``sys.platform``, ``os.name``, ``platform.system()`` or
``hasattr``), under ``if TYPE_CHECKING:`` (never runs), or in a ``try`` that catches
``ImportError``. Inside a function body anything goes: it runs only when called, and whoever
calls it on one platform only says so there (``testing/pgstac.py`` chowns as root, say).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import xstac_access

PACKAGE = Path(xstac_access.__file__).parent

#: Standard-library modules that do not exist on Windows.
POSIX_ONLY = frozenset(
    {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "syslog", "crypt",
     "spwd", "readline"}
)  # fmt: skip
#: Names of ``os`` and ``signal`` that Windows lacks: an AttributeError at import there.
POSIX_NAMES = {
    "os": frozenset(
        {"fork", "forkpty", "getuid", "geteuid", "getgid", "getegid", "getpgid", "killpg",
         "setsid", "setpgrp", "WNOHANG", "getloadavg", "mkfifo", "sched_getaffinity"}
    ),
    "signal": frozenset(
        {"SIGKILL", "SIGALRM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGCHLD", "SIGPIPE",
         "SIGSTOP", "SIGCONT", "alarm", "setitimer", "pthread_kill", "pthread_sigmask"}
    ),
}  # fmt: skip
#: What an ``if`` test reads when it asks which platform this is.
_PLATFORM = {("sys", "platform"), ("os", "name"), ("platform", "system"),
             ("typing", "TYPE_CHECKING")}  # fmt: skip


def _is_guard(test: ast.expr) -> bool:
    """Whether an ``if`` test asks which platform this is (or is ``TYPE_CHECKING``)."""
    for node in ast.walk(test):
        if isinstance(node, ast.Name) and node.id in ("hasattr", "TYPE_CHECKING"):
            return True
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in _PLATFORM
        ):
            return True
    return False


def _catches_import_error(node: ast.Try) -> bool:
    names = {n.id for h in node.handlers if h.type is not None for n in ast.walk(h.type)
             if isinstance(n, ast.Name)}  # fmt: skip
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def _problem(node: ast.AST) -> str | None:
    """What in ``node`` itself (not its children) is POSIX-only, if anything."""
    if isinstance(node, ast.Import):
        bad = [a.name for a in node.names if a.name.split(".")[0] in POSIX_ONLY]
        return f"import {', '.join(bad)}" if bad else None
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        root = node.module.split(".")[0]
        if root in POSIX_ONLY:
            return f"from {node.module} import"
        bad = [a.name for a in node.names if a.name in POSIX_NAMES.get(node.module, ())]
        return f"from {node.module} import {', '.join(bad)}" if bad else None
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.attr in POSIX_NAMES.get(node.value.id, ())
    ):
        return f"{node.value.id}.{node.attr}"
    return None


def import_time_problems(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for each POSIX-only import or name that runs when ``source`` is
    imported, by the rule of this module's docstring."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            run_now = [*getattr(node, "decorator_list", ()), *node.args.defaults,
                       *(d for d in node.args.kw_defaults if d is not None)]  # fmt: skip
            for part in run_now:  # the body runs when called, these when defined
                visit(part)
            return
        if isinstance(node, ast.If) and _is_guard(node.test):
            return
        if isinstance(node, ast.Try) and _catches_import_error(node):
            for part in (*node.handlers, *node.orelse, *node.finalbody):
                visit(part)
            return
        if (what := _problem(node)) is not None:
            found.append((node.lineno, what))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return sorted(found)


def test_no_module_imports_anything_posix_only_at_import_time():
    problems = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, what in import_time_problems(path.read_text())
    ]
    assert problems == [], "POSIX-only at import time (Windows cannot import these):\n" + (
        "\n".join(problems)
    )


def test_the_checker_tells_import_time_from_call_time_and_guarded_code():
    source = textwrap.dedent(
        """
        import os, fcntl
        import signal
        from pwd import getpwnam
        from os import fork, path
        KILL = signal.SIGKILL

        class Holder:
            uid = os.getuid()

        def later(sig=signal.SIGALRM):
            import resource
            return os.geteuid(), signal.SIGHUP

        if sys.platform != "win32":
            import termios
        else:
            import msvcrt
        if TYPE_CHECKING:
            import grp
        if self.name == "x":
            import pty
        try:
            import readline
        except ImportError:
            readline = None
        try:
            import tty
        except OSError:
            tty = None
        """
    )
    assert import_time_problems(source) == [
        (2, "import fcntl"),
        (4, "from pwd import"),
        (5, "from os import fork"),
        (6, "signal.SIGKILL"),
        (9, "os.getuid"),
        (11, "signal.SIGALRM"),
        (22, "import pty"),
        (28, "import tty"),
    ]


def test_the_modules_that_lock_files_import_where_fcntl_does_not_exist():
    """As on Windows: ``fcntl`` cannot be imported, and the locking modules still load."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["fcntl"] = None  # any import of it now raises ImportError
        import xstac_access._download.partfile, xstac_access.testing.clock
        print("imported")
        """
    )
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "imported"
