"""The replica of CDSE's STAC v1: the item as CDSE documents it, its files on the ``eodata``
bucket (georeferenced JPEG 2000 on the grids the item states), the same files behind the
zipper's ``Nodes(...)/$value`` paths, and nothing else there."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import rasterio
import requests
from conftest import offline_item

from xstac_access.testing.endpoints import OFFLINE
from xstac_access.testing.replica import Replica, _s2safe, build_replica, cdse, cdse_v1
from xstac_access.testing.world import default_cache_dir


@pytest.fixture(scope="module")
def replica() -> Replica:
    return build_replica(default_cache_dir(), OFFLINE, seed=0, scale="ci")


@pytest.fixture(scope="module")
def item() -> dict:
    return offline_item(cdse_v1, cdse_v1.COLLECTION)


def bucket_file(replica: Replica, href: str) -> Path:
    bucket, key = href[len("s3://") :].split("/", 1)
    return replica.s3_buckets[bucket] / key


def test_the_item_is_cdses_v1_schema(item):
    assert item["id"] == cdse.NAME and not item["id"].endswith(".SAFE")
    extensions = {url.split("/")[3] + "/" + url.split("/")[4] for url in item["stac_extensions"]}
    assert {"authentication/v1.1.0", "storage/v2.0.0", "alternate-assets/v1.2.0"} <= extensions
    props = item["properties"]
    assert props["auth:schemes"]["s3"] == {"type": "s3"}
    assert props["auth:schemes"]["oidc"]["type"] == "openIdConnect"
    assert props["storage:schemes"]["cdse-s3"]["requester_pays"] is False
    assert props["storage:schemes"]["creodias-s3"] == {
        "type": "custom-s3", "title": "CREODIAS S3",
        "platform": "https://eodata.cloudferro.com", "requester_pays": True,
    }  # fmt: skip
    images = {f"{stem}_{res}m" for res, stems in cdse_v1.IMAGES.items() for stem in stems}
    assert len(images) == 36 and images <= set(item["assets"])
    for key in sorted(images | {"product_metadata", "granule_metadata"}):
        asset = item["assets"][key]
        assert asset["href"].startswith(f"s3://eodata/Sentinel-2/MSI/L2A/2025/06/05/{cdse.NAME}")
        assert (asset["alternate:name"], asset["auth:refs"]) == ("S3", ["s3"])
        assert asset["storage:refs"] == ["cdse-s3", "creodias-s3"]
        https = asset["alternate"]["https"]
        assert (https["alternate:name"], https["auth:refs"]) == ("HTTPS", ["oidc"])
        assert https["href"].endswith(f"Nodes({asset['href'].rsplit('/', 1)[1]})/$value")
    product = item["assets"]["Product"]
    assert product["href"].endswith(f"/odata/v1/Products({cdse.product_uuid(0)})/$value")
    assert (product["type"], product["roles"]) == (
        "application/zip",
        ["data", "metadata", "archive"],
    )


def test_every_image_is_a_georeferenced_jp2_on_the_grid_the_item_states(replica, item):
    for res, stems in cdse_v1.IMAGES.items():
        for stem in stems:
            asset = item["assets"][f"{stem}_{res}m"]
            with rasterio.open(bucket_file(replica, asset["href"])) as src:
                assert src.driver == "JP2OpenJPEG" and src.crs.to_epsg() == 32632
                assert [src.height, src.width] == asset["proj:shape"]
                assert list(src.transform)[:6] == asset["proj:transform"]
                assert src.count == len(asset["bands"]) == (3 if stem == "TCI" else 1)
                assert src.dtypes[0] == asset["bands"][0]["data_type"]


def test_the_files_are_deterministic(replica, tmp_path):
    _s2safe._write_images(tmp_path, cdse.PRODUCT, 0, _s2safe.pixels("ci"), 10)  # the 10 m images
    made = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(made) == len(cdse_v1.IMAGES[10])
    for path in made:
        twin = replica.s3_buckets["eodata"] / cdse.SAFE_KEY / path.relative_to(tmp_path)
        assert (
            hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(twin.read_bytes()).digest()
        ), path.name


def test_the_zipper_serves_the_buckets_files_with_the_bearer_only(local_world, files):
    e, realm = local_world.endpoints, "/realms/cdse/protocol/openid-connect/token"
    login = {"grant_type": "password", "client_id": "cdse-public", "username": "cdse-user",
             "password": "cdse-pass"}  # fmt: skip
    token = requests.post(e.oidc + realm, data=login, timeout=10).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    path = cdse_v1.image_path("SCL", 20)
    url = e.http + cdse_v1.nodes_path(0, path)
    assert requests.get(url, timeout=10).status_code == 401
    got = requests.get(url, headers=bearer, timeout=10)
    key = f"{cdse_v1.SAFE_KEY}/{path}"
    assert (
        got.status_code == 200
        and got.content == (local_world.replica.s3_buckets["eodata"] / key).read_bytes()
    )
    # a file that exists outside the bucket's folder (8 levels up: the generated tree's root)
    outside = [".."] * 8 + ["files", "cdse", "quicklook", f"{cdse.NAME}-ql.jpg"]
    assert (Path(local_world.replica.files_root).parent.joinpath(*outside[8:])).is_file()
    escape = url.split("/Nodes(")[0] + "".join(f"/Nodes({n})" for n in outside) + "/$value"
    assert requests.get(escape, headers=bearer, timeout=10).status_code == 404
    no_value = url.removesuffix("/$value")  # a node's metadata: not replicated
    assert requests.get(no_value, headers=bearer, timeout=10).status_code == 404
