"""The local servers' processes: a start that fails or never gets ready says which process it
was and shows the end of its log; readiness is a condition, and stopping ends the group."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from xstac_access.testing._procs import start_process, wait_until

BOOT = "import signal, sys; print('booting the {name}', flush=True); "


def test_a_server_that_exits_while_starting_is_named_with_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", BOOT.format(name="broken") + "sys.exit(3)"]
    with pytest.raises(RuntimeError) as failed:
        start_process("broken", argv, log_dir=tmp_path, ready=lambda: False)
    message = str(failed.value)
    assert message.startswith("broken exited with code 3 before it was ready;")
    assert str(tmp_path / "broken.log") in message and "booting the broken" in message


def test_a_server_never_ready_is_stopped_and_named_with_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", BOOT.format(name="sleeper") + "signal.pause()"]
    log = tmp_path / "sleeper.log"
    proc = start_process("sleeper", argv, log_dir=tmp_path)  # no condition: started is ready
    wait_until(lambda: "booting" in log.read_text(), 60, "the sleeper's first line logged")
    with pytest.raises(RuntimeError) as failed:
        proc.wait_ready(lambda: False, timeout=0.2, what="answering")
    message = str(failed.value)
    assert message.startswith(f"sleeper (pid {proc.pid}) not answering after 0.2 s; the end of")
    assert "booting the sleeper" in message and not proc.alive()


def test_ready_is_a_condition_looked_at_until_it_holds(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    argv = [sys.executable, "-c", f"import signal; open({str(flag)!r}, 'w'); signal.pause()"]
    proc = start_process("writer", argv, log_dir=tmp_path, ready=flag.exists)
    try:
        assert flag.exists() and proc.alive()
    finally:
        proc.stop()
    assert not proc.alive()
    with pytest.raises(TimeoutError, match="not the moon after 0 s"):
        wait_until(lambda: False, 0.01, "the moon")
