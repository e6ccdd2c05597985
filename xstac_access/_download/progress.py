"""Progress bars of a download: one tqdm bar for the whole set, one per file in flight.

They also count the bytes each file received (the report's ``bytes``), whether or not bars are
shown, so that counting has one place. :func:`shown` decides whether to draw them: on a terminal
or in a Jupyter kernel, where ``tqdm.auto`` draws widgets (text on stderr without ipywidgets);
never into a file or a pipe, where a bar's carriage returns would only be noise.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from .types import Job


def in_kernel() -> bool:
    """True inside a Jupyter kernel (notebook, JupyterLab, VS Code, Colab): the IPython shell
    running there has a ``kernel``; a terminal IPython's shell has none."""
    ipython = sys.modules.get("IPython")  # never imported here: a kernel has imported it
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return getattr(shell, "kernel", None) is not None


def shown(progress: bool, stream: TextIO) -> bool:
    """Whether ``progress=True`` draws bars: when ``stream`` is a terminal or in a kernel."""
    return progress and (stream.isatty() or in_kernel())


class Bars:
    """One tqdm bar for the whole set and one per file being transferred, or none at all."""

    def __init__(self, jobs: list[Job], parallel: int, *, enabled: bool) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._slots = list(range(max(1, parallel), 0, -1))
        self._known = {id(job): job.size for job in jobs}
        self._total: Any = None
        if enabled:
            from tqdm.auto import tqdm  # widgets in a notebook, text on a terminal

            self._tqdm = tqdm
            total = sum(size for size in self._known.values() if size is not None)
            self._total = tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="download",
                position=0, file=sys.stderr,
            )  # fmt: skip

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._total is not None:
            self._total.close()

    def file(self, job: Job) -> FileBar:
        return FileBar(self, job)

    def _open(self, job: Job) -> tuple[Any, int | None]:
        if not self.enabled:
            return None, None
        with self._lock:
            slot = self._slots.pop() if self._slots else None
        bar = self._tqdm(
            total=job.size, unit="B", unit_scale=True, unit_divisor=1024, desc=job.path.name,
            position=slot, leave=False, file=sys.stderr,
        )  # fmt: skip
        return bar, slot

    def _close(self, bar: Any, slot: int | None) -> None:
        if bar is not None:
            bar.close()
        if slot is not None:
            with self._lock:
                self._slots.append(slot)

    def _retotal(self, job: Job, total: int | None) -> None:
        """A file's size became known (or differs from file:size): adjust the set's total."""
        if self._total is None or total is None:
            return
        with self._lock:
            before = self._known.get(id(job)) or 0
            self._known[id(job)] = total
            self._total.total += total - before
            self._total.refresh()

    def _advance(self, n: int) -> None:
        if self._total is not None:
            with self._lock:
                self._total.update(n)


class FileBar:
    """The :class:`~xstac_access._download.types.Progress` of one file: its bar and the set's."""

    def __init__(self, bars: Bars, job: Job) -> None:
        self.bars, self.job = bars, job
        self.moved = 0  # bytes received, whatever became of them (the report counts them)
        self._done = 0
        self._bar: Any = None
        self._slot: int | None = None

    def __enter__(self) -> FileBar:
        self._bar, self._slot = self.bars._open(self.job)
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars._close(self._bar, self._slot)

    def start(self, total: int | None, done: int) -> None:
        """An attempt begins with ``done`` bytes already in the ``.part`` (0 after a restart)."""
        self.bars._retotal(self.job, total)
        self.bars._advance(done - self._done)
        self._done = done
        if self._bar is not None:
            self._bar.reset(total=total)
            self._bar.update(done)

    def advance(self, n: int) -> None:
        self.moved += n
        self._done += n
        self.bars._advance(n)
        if self._bar is not None:
            self._bar.update(n)
