"""The lock that keeps two downloads of one file apart (threads here; processes in
test_download_processes.py): a waiter gets the file after the holder, a cancelled waiter stops
with a typed error naming the file, and no lock file stays beside the downloads."""

from __future__ import annotations

import logging
import threading

import pytest

from xstac_access._download import partfile
from xstac_access._download.partfile import Interrupted, PartFile
from xstac_access.testing._procs import wait_until

HREF = "https://data.example.org/tiles/B04.tif?sig=secret"


def test_a_waiter_owns_the_file_after_the_holder_and_no_lock_file_is_left(tmp_path, caplog):
    final = tmp_path / "item" / "B04.tif"
    holder, waiter = PartFile(final, HREF), PartFile(final, HREF)
    order: list[str] = []

    def wait_then_own() -> None:
        with waiter.exclusive(threading.Event()):
            order.append("waiter")
            waiter.path.write_bytes(b"x")  # not empty: kept, as a resumable .part is

    with caplog.at_level(logging.INFO, logger=partfile.log.name):
        with holder.exclusive(threading.Event()):
            assert holder.lock_path.exists()
            thread = threading.Thread(target=wait_then_own)
            thread.start()
            wait_until(lambda: "waiting for it" in caplog.text, 30, "the waiter waiting")
            order.append("holder")
        thread.join(30)
    assert order == ["holder", "waiter"]
    assert "sig=secret" not in caplog.text  # the href is logged without its query's secret
    assert sorted(p.name for p in final.parent.iterdir()) == ["B04.tif.part"]


def test_a_cancelled_waiter_stops_with_a_typed_error_naming_the_file(tmp_path):
    final = tmp_path / "B04.tif"
    stop = threading.Event()
    stop.set()  # cancelled before it could get the file
    with PartFile(final, HREF).exclusive(threading.Event()):
        waiting = PartFile(final, HREF).exclusive(stop)
        with pytest.raises(Interrupted, match="cancelled while another one had the file") as info:
            waiting.__enter__()
    shown = "https://data.example.org/tiles/B04.tif?<redacted>"
    assert shown in str(info.value) and "secret" not in str(info.value)
    assert (info.value.href, info.value.host) == (shown, "data.example.org")
    assert list(tmp_path.iterdir()) == []  # no empty .part, no lock file
