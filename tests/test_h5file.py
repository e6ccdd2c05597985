"""h5py reads a remote file with garbage collection paused (h5py issue 2019's deadlock).

The pause itself is pure logic, tested with plain file objects and threads coordinated by events.
The last test opens a real netCDF file from the local HTTP server and records, inside fsspec's
own fetch, whether collection could run on fsspec's IO thread while h5py waited for the bytes.
"""

from __future__ import annotations

import gc
import io
import pickle
import threading

import fsspec.implementations.http as fsspec_http
import numpy as np
import pytest
import xarray as xr

from xstac_access import credentials
from xstac_access.readers._h5file import GcPausedFile, gc_paused


@pytest.fixture
def gc_on():
    """Collection on at the start, and restored to what it was at the end."""
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


class Spy(io.BytesIO):
    """A file that records whether collection was on during each read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.seen: list[bool] = []

    def read(self, size: int = -1) -> bytes:
        self.seen.append(gc.isenabled())
        return super().read(size)

    def readinto(self, buffer) -> int:
        self.seen.append(gc.isenabled())
        return super().readinto(buffer)


def test_reads_run_with_collection_off_and_restore_it(gc_on):
    raw = Spy(b"0123456789")
    wrapped = GcPausedFile(raw)
    assert wrapped.read(4) == b"0123"
    buffer = bytearray(3)
    assert wrapped.readinto(buffer) == 3 and bytes(buffer) == b"456"
    assert raw.seen == [False, False]
    assert gc.isenabled()
    wrapped.seek(8)  # everything else is the raw file's own
    assert wrapped.tell() == 8 and wrapped.read() == b"89"


def test_collection_off_before_stays_off(gc_on):
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_a_failing_read_still_restores_collection(gc_on):
    class Broken(io.BytesIO):
        def read(self, size=-1):
            raise OSError("cut")

    with pytest.raises(OSError, match="cut"):
        GcPausedFile(Broken()).read(1)
    assert gc.isenabled()


def test_overlapping_reads_keep_collection_off_until_the_last_ends(gc_on):
    inside, release = threading.Event(), threading.Event()

    class Slow(io.BytesIO):
        def read(self, size=-1):
            inside.set()
            release.wait(10)
            return super().read(size)

    reader = threading.Thread(target=GcPausedFile(Slow(b"abc")).read)
    reader.start()
    assert inside.wait(10)
    assert GcPausedFile(io.BytesIO(b"xyz")).read() == b"xyz"  # ends first
    assert not gc.isenabled()  # the other read is still waiting for its bytes
    release.set()
    reader.join(10)
    assert gc.isenabled()


def test_the_wrapper_pickles_with_its_file():
    wrapped = GcPausedFile(io.BytesIO(b"abcdef"))
    wrapped.seek(2)
    copy = pickle.loads(pickle.dumps(wrapped))
    assert copy.read() == b"cdef"


def test_a_remote_netcdf_is_fetched_with_collection_off(local_world, tmp_path, monkeypatch, gc_on):
    credentials.reset()
    root = local_world.replica.files_root / "_tests_h5file"
    root.mkdir(exist_ok=True)
    values = np.arange(64 * 64, dtype="float32").reshape(64, 64)
    xr.Dataset({"v": (("y", "x"), values)}).to_netcdf(root / "small.nc", engine="h5netcdf")
    seen: list[bool] = []
    fetch = fsspec_http.HTTPFile._fetch_range

    def spying(self, start, end):
        seen.append(gc.isenabled())
        return fetch(self, start, end)

    monkeypatch.setattr(fsspec_http.HTTPFile, "_fetch_range", spying)
    try:
        ds = xr.open_dataset(
            f"{local_world.endpoints.http}/_tests_h5file/small.nc", engine="stacasset"
        )
        np.testing.assert_array_equal(ds["v"][10:20, 5].values, values[10:20, 5])
    finally:
        (root / "small.nc").unlink()
        root.rmdir()
    assert seen and not any(seen), seen
    assert gc.isenabled()
