"""When download() draws progress bars: on a terminal or in a Jupyter kernel, never elsewhere.

Whether we are in a kernel is faked with a stand-in ``IPython`` module (the decision is pure
logic); the download itself is real, from the local world's file server. That nothing is drawn
off a terminal and outside a kernel (pytest's case) is ``test_download.py``'s
``test_progress_bars_only_on_a_terminal``.
"""

from __future__ import annotations

import io
import sys
import types

import pytest
from conftest import replica_item
from tqdm.auto import tqdm as auto_tqdm

from xstac_access import download
from xstac_access._download.progress import Bars, in_kernel, shown


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def fake_ipython(monkeypatch, shell: object | None) -> None:
    """Make ``sys.modules["IPython"].get_ipython()`` return ``shell``."""
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", module)


@pytest.fixture
def kernel(monkeypatch):
    """The state inside a Jupyter kernel: IPython's shell has a kernel."""
    fake_ipython(monkeypatch, types.SimpleNamespace(kernel=object()))


def test_bars_show_on_a_terminal_or_in_a_kernel_and_never_when_turned_off(monkeypatch, kernel):
    pipe = io.StringIO()
    assert in_kernel()
    assert shown(True, pipe) and shown(True, _Terminal())
    assert not shown(False, pipe) and not shown(False, _Terminal())
    fake_ipython(monkeypatch, types.SimpleNamespace())  # terminal IPython: a shell, no kernel
    assert not in_kernel() and not shown(True, pipe) and shown(True, _Terminal())
    fake_ipython(monkeypatch, None)  # IPython imported, no shell running
    assert not in_kernel() and not shown(True, pipe)
    monkeypatch.delitem(sys.modules, "IPython")
    assert not in_kernel() and not shown(True, pipe)


def test_bars_are_tqdm_auto_bars_that_a_notebook_draws_as_widgets():
    with Bars([], 2, enabled=True) as bars:
        assert isinstance(bars._total, auto_tqdm)


def test_a_download_in_a_kernel_draws_its_bars(local_world, kernel, tmp_path, capfd):
    item = replica_item(local_world, "sentinel-2-l2a")
    report = download(item, tmp_path, assets=["red"], progress=True)
    assert report.ok
    err = capfd.readouterr().err  # no ipywidgets here: tqdm.auto falls back to text on stderr
    assert "download" in err and "100%" in err
