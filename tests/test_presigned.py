"""NASA Earthdata's cloud data hosts (TEA): an authorised request is answered with a 303 to a
presigned S3 URL valid one hour. GDAL reads where the redirect lands; when a read outlives the
signature (a dataset kept open, a long job), S3 answers 403 "Request has expired" and the engine
lands again through the data host, with the Earthdata credential, and reads on.

The replica's S3 stand-in is the file server's second port named ``localhost``; expiry runs on
the world's shared clock.
"""

from __future__ import annotations

import logging
import pickle
import re
import shutil
import zipfile

import numpy as np
import pytest
import rasterio
import requests
import xarray as xr
from conftest import replica_item

from xstac_access import credentials
from xstac_access.http import land
from xstac_access.readers._gdal import clear_vsicurl_cache
from xstac_access.readers._zipfile import forget_archives

HOUR = 3600
SIGNED = re.compile(r"X-Amz-(Signature|Credential)=[^*&\s]")


@pytest.fixture
def world(local_world, files):
    clear_vsicurl_cache()
    credentials.reset()
    yield local_world
    credentials.reset()


def earthdata(world) -> dict:
    return {"earthdata": world.credentials()["earthdata"]}


def test_a_read_after_the_presigned_url_expired_lands_again(world, files, caplog):
    caplog.set_level(logging.DEBUG)
    granule = replica_item(world, "HLSS30_2.0")
    href = granule["assets"]["B04"]["href"]
    path = href.removeprefix(world.endpoints.http)
    ds = xr.open_dataset(granule, engine="stacasset", asset="B04", credentials=earthdata(world))
    first = ds["B04"][:64, :64].values
    world.advance_clock(HOUR + 60)  # the signature GDAL reads with has expired
    later = ds["B04"][-64:, -64:].values
    fresh = xr.open_dataset(granule, engine="stacasset", asset="B04", credentials=earthdata(world))
    np.testing.assert_array_equal(first, fresh["B04"][:64, :64].values)
    np.testing.assert_array_equal(later, fresh["B04"][-64:, -64:].values)
    log = [e for e in files.stats()["log"] if e["path"] == path]
    steps = [(e["host"], e["status"]) for e in log]
    expired = steps.index(("alt", 403))  # S3 refused the old signature...
    assert ("main", 303) in steps[expired:]  # ...so the data host was asked again...
    relanded = expired + steps[expired:].index(("main", 303))
    assert ("alt", 206) in steps[relanded:]  # ...and the new location read
    presigned = [e for e in log if e["host"] == "alt"]
    assert all("X-Amz-Signature=***" in e["query"] for e in presigned)
    assert not [e for e in presigned if e["authorization"] or e["cookie"]]
    assert all(e["cookie"] for e in log if e["status"] == 303)
    # the presigned URLs stay in the process: not in logs, reprs, attrs, encodings or pickles
    shown = [r.getMessage() for r in caplog.records] + [repr(ds), repr(ds.attrs)]
    shown += [repr(v.encoding) for v in ds.variables.values()]
    shown.append(pickle.dumps(ds).decode("latin-1"))
    assert not [t for t in shown if SIGNED.search(t)]


def test_the_replica_answers_like_tea_and_s3(world, files):
    granule = replica_item(world, "HLSS30_2.0")
    href = granule["assets"]["B04"]["href"]
    broker = credentials.broker_from(earthdata(world))
    location = land(href, access=broker.access(href), broker=broker).href
    assert [e["status"] for e in files.stats()["log"] if e["path"] == href.removeprefix(
        world.endpoints.http)] == [302, 303, 206]  # fmt: skip
    assert location.startswith("http://localhost:")
    assert "X-Amz-Expires=3600" in location and "X-Amz-Signature=" in location
    with requests.Session() as session:
        session.trust_env = False
        both = session.get(location, headers={"Authorization": "Bearer x"}, timeout=10)
        assert both.status_code == 400 and "Only one auth mechanism allowed" in both.text
        unsigned = session.get(location.partition("?")[0], timeout=10)
        assert unsigned.status_code == 403 and "<Code>AccessDenied</Code>" in unsigned.text
        world.advance_clock(HOUR + 1)
        late = session.get(location, timeout=10)
    assert late.status_code == 403 and late.headers["Content-Type"].startswith("application/xml")
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in late.text


@pytest.fixture
def tea_zip(world):
    """The SAFE zip served under the HLS protected prefix (so behind TEA's presigned 303)."""
    (source,) = (world.replica.files_root / "cdse" / "download").glob("*.SAFE.zip")
    folder = world.replica.files_root / "hls" / "protected" / "_tests_presigned_zip"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(source, folder / source.name)
    yield f"{world.endpoints.http}/hls/protected/{folder.name}/{source.name}", folder / source.name
    shutil.rmtree(folder)


def test_zip_members_read_after_the_presigned_url_expired_land_again(world, files, tea_zip):
    href, local = tea_zip
    forget_archives()
    creds = earthdata(world)
    listing = xr.open_dataset(href, engine="stacasset", reader="zip", credentials=creds)
    world.advance_clock(HOUR + 60)
    mtd = xr.open_dataset(href, engine="stacasset", reader="zip", member="MTD_TL.xml",
                          credentials=creds)  # fmt: skip
    tci = xr.open_dataset(href, engine="stacasset", reader="zip", member="manifest:TCI_60m",
                          credentials=creds)  # fmt: skip
    with zipfile.ZipFile(local) as zf:
        assert list(listing["member"].values) == [i.filename for i in zf.infolist()]
        (info,) = [i for i in zf.infolist() if i.filename.endswith("/MTD_TL.xml")]
        assert mtd["xml"].item() == zf.read(info).decode()
        (jp2,) = [i for i in zf.infolist() if i.filename.endswith("_TCI_60m.jp2")]
        with rasterio.io.MemoryFile(zf.read(jp2)) as mem, mem.open() as src:
            np.testing.assert_array_equal(tci.to_array().values, src.read())
    path = href.removeprefix(world.endpoints.http)
    steps = [(e["host"], e["status"]) for e in files.stats()["log"] if e["path"] == path]
    expired = steps.index(("alt", 403))
    assert ("main", 303) in steps[expired:] and steps[-1] == ("alt", 206)
    forget_archives()
