"""Items whose assets were downloaded (stac-asset, stactools): local hrefs under a remote self link.

A download tool rewrites each asset's href to the local file (``/data/x.tif``, ``file:///...``,
``C:\\data\\x.tif``) and leaves the item's ``self`` link pointing at the catalogue. Such an href
is already absolute: it names the local file and is never joined to the self link's host. A
relative href still is.
"""

from __future__ import annotations

import numpy as np
import pystac
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from xstac_access._hrefs import resolve_relative
from xstac_access._resolve import resolve

from ._realdata import real_item

SELF = "https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a/items/S2A_13TDE"


@pytest.fixture
def downloaded(tmp_path):
    """The real Earth Search item with its ``red`` and ``nir`` assets rewritten to files written
    here (an absolute path and a ``file://`` URI), its self link untouched."""
    item = real_item("earthsearch_v1_sentinel-2-l2a")
    values = {}
    for key, seed in (("red", 1), ("nir", 2)):
        data = np.random.default_rng(seed).integers(0, 10000, (1, 32, 48)).astype("uint16")
        path = tmp_path / f"{key}.tif"
        grid = {"crs": "EPSG:32613", "transform": from_origin(399960, 4800000, 10, 10)}
        profile = dict(driver="GTiff", width=48, height=32, count=1, dtype="uint16", **grid)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
        values[key] = data
    item["assets"]["red"]["href"] = str(tmp_path / "red.tif")
    item["assets"]["nir"]["href"] = (tmp_path / "nir.tif").as_uri()
    return item, values, tmp_path


def test_a_downloaded_items_local_hrefs_open_the_local_files(downloaded):
    item, values, root = downloaded
    assert next(link["href"] for link in item["links"] if link["rel"] == "self").startswith(
        "https://earth-search.aws.element84.com/"
    )
    for obj in (item, pystac.Item.from_dict(item)):
        assert resolve(obj, "red").href == str(root / "red.tif")
        assert resolve(obj, "nir").href == (root / "nir.tif").as_uri()
        for key in ("red", "nir"):
            ds = xr.open_dataset(obj, engine="stacasset", asset=key, mask_and_scale=False)
            (name,) = ds.data_vars
            np.testing.assert_array_equal(
                np.asarray(ds[name]).reshape(values[key].shape), values[key]
            )
    asset = pystac.Item.from_dict(item).assets["red"]
    assert resolve(asset).href == str(root / "red.tif")


@pytest.mark.parametrize(
    "href",
    ["/data/x.tif", "file:///data/x.tif", "C:\\data\\x.tif", "C:/data/x.tif", "\\\\srv\\s\\x.tif"],
)
@pytest.mark.parametrize("base", [SELF, "s3://bucket/items/x.json", "/catalog/items/x.json"])
def test_absolute_local_hrefs_are_never_joined_to_a_base(href, base):
    assert resolve_relative(href, base) == href


def test_relative_hrefs_are_still_joined_to_the_self_link():
    item = real_item("earthsearch_v1_sentinel-2-l2a")
    item["assets"]["red"]["href"] = "./B04.tif"
    expected = SELF.replace("/S2A_13TDE", "/B04.tif")
    item["links"] = [{"rel": "self", "href": SELF}]
    assert resolve(item, "red").href == expected
    assert resolve(pystac.Item.from_dict(item), "red").href == expected
