"""Earth Search (AWS) replica: v1 ``sentinel-2-l2a``, legacy v0 ``sentinel-s2-l2a-cogs`` and v1
``sentinel-1-grd`` items, built by code in Earth Search's schema, with the files they point at.

Sentinel-2 (v1): three scenes (two dates on tile 13TDE, one on 13TDF) with the asset keys,
titles, roles, media types, ``eo:bands`` and ``raster:bands`` of the real catalogue, made from
the MSI band table of ``_s2``; property names (``s2:*``, ``mgrs:*``, ``grid:code``,
``earthsearch:*``, ``processing:software``), extensions and link relations as Earth Search
publishes them. ESA's names (product URI, granule, datatake and datastrip ids) follow the SAFE
naming rules; sun angles and the scene-classification percentages are computed from the scene's
time and from the seeded land cover and clouds its pixels are drawn from. At ``ci`` scale the
grids are 6x coarser than the real ones (10 m bands: 1830 px of 60 m) over the same tiles.

Every asset href is served. The COGs, the thumbnail and the two metadata side files lie under
``/earthsearch/sentinel-cogs/...`` on the file server. The ``*-jp2`` twins keep their real form,
``s3://sentinel-s2-l2a/tiles/<zone>/<band>/<square>/<y>/<m>/<d>/<seq>/<B>.jp2`` (ESA's
requester-pays bucket in eu-central-1), and the replica serves them: bucket ``sentinel-s2-l2a``
of the S3 store holds real JPEG 2000 files of the same pixels (GDAL JP2OpenJPEG, georeferenced,
same grid as the COG twin). Deliberate differences: the store serves that bucket without the
requester-pays check (a later issue adds it), and the twins are lossy (quality 5) where ESA's are
lossless, so that the ``ci`` replica stays within its size budget.

Sentinel-2 (v0): one scene whose data cover a sliver at the west edge of tile 28QCH (6.85 % of
the tile, as in the real item), STAC ``1.0.0-beta.1``, keys ``B01`` ... ``B12``, ``AOT``,
``WVP``, ``SCL``, ``visual``, ``overview`` (``L2A_PVI``), ``thumbnail`` (a JPEG typed
``image/png``, as on v0), ``info`` and ``metadata`` (served from ``/earthsearch/roda/...``).

Sentinel-1 GRD: one IW GRDH single-polarisation (HH) ascending scene in the real item's schema
(``sar:*``, ``sat:*``, ``s1:*``, ``storage:*``; ``s1:shape`` and ``proj:shape`` are
``[samples, lines]``, as stactools writes them), its objects in bucket ``sentinel-s1-l1c``. The
``hh`` measurement is generated (``_sar``): uint16 amplitude with speckle, 21 x 10 = 210 GCPs in
EPSG:4326 from the first to the last line and sample, no geotransform, one-row strips,
uncompressed, internal overviews 2/4/8, and its IFDs after the image data, like the
processor's TIFFs. The item's footprint is the ring of its border GCPs. The replica adds an
``alternate.https`` (path-style S3 URL) to ``hh`` and the alternate-assets extension. The other
objects (manifest, annotation XMLs, quick-look PNG) are small stand-ins with the real names;
``schema-product-hh`` points at ``annotation/rfi/rfi-iw-hh.xml`` as on Earth Search.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.control import GroundControlPoint
from rasterio.features import rasterize
from rasterio.transform import Affine
from shapely.geometry import Polygon

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _s2, _sar, _stac

S1_BUCKET = "sentinel-s1-l1c"
JP2_BUCKET = "sentinel-s2-l2a"
#: The buckets of the S3 store this module fills.
BUCKETS = (S1_BUCKET, JP2_BUCKET)
_DIVISOR = {"ci": 6, "bench": 1}
_JP2_QUALITY = 5
_COG = "image/tiff; application=geotiff; profile=cloud-optimized"
_EXT = "https://stac-extensions.github.io/{}/schema.json"
_V1_EXTENSIONS = [
    _EXT.format(e)
    for e in ("processing/v1.1.0", "grid/v1.0.0", "raster/v1.1.0", "view/v1.0.0",
              "projection/v1.1.0", "mgrs/v1.0.0", "eo/v1.1.0")
]  # fmt: skip
_V0_EXTENSIONS = [_EXT.format(e) for e in ("eo/v1.0.0", "view/v1.0.0", "projection/v1.0.0")]
_S1_EXTENSIONS = [
    _EXT.format(e)
    for e in ("projection/v1.1.0", "storage/v1.0.0", "sat/v1.0.0", "processing/v1.1.0",
              "sar/v1.0.0", "raster/v1.1.0")
]  # fmt: skip
_ALTERNATE_EXTENSION = _EXT.format("alternate-assets/v1.2.0")


# -- Sentinel-2 scenes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """One Earth Search S2 item: an L2A granule and its sequence number of the day."""

    product: _s2.Product
    sequence: str = "0"

    @property
    def item_id(self) -> str:
        p = self.product
        return f"{p.mission}_{p.tile}_{p.sensing[:8]}_{self.sequence}_L2A"

    @property
    def tile(self) -> str:
        return self.product.tile

    @property
    def date(self) -> tuple[int, int, int]:
        s = self.product.sensing
        return int(s[0:4]), int(s[4:6]), int(s[6:8])

    @property
    def tile_path(self) -> str:
        """``13/T/DE``: the MGRS path of Earth Search's and ESA's buckets."""
        p = self.product
        return f"{p.zone}/{p.latitude_band}/{p.grid_square}"


def _product(mission: str, tile: str, sensing: str, offset_s: float, **kw: Any) -> _s2.Product:
    """A granule whose item time is ``offset_s`` seconds after the datatake's sensing start."""
    start = datetime.strptime(sensing, "%Y%m%dT%H%M%S")
    when = (start + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _s2.Product(mission, tile, sensing, when, **kw)


_UTM_13T = {"D": 399960.0, "E": 4500000.0, "F": 4600020.0}  # x0 of column D; y0 of rows E, F

V1_SCENES = (
    Scene(
        _product(
            "S2A", "13TDE", "20231008T175231", 624.276, generated="20231008T233154",
            datastrip_start="20231008T175927", absolute_orbit=43324, relative_orbit=141,
            baseline="05.09", station="2APS", cloud=0.000299, x0=_UTM_13T["D"],
            y0=_UTM_13T["E"],
        )
    ),
    Scene(
        _product(
            "S2B", "13TDE", "20231003T175249", 602.102, generated="20231003T212409",
            datastrip_start="20231003T175945", absolute_orbit=34461, relative_orbit=141,
            baseline="05.09", station="2BPS", cloud=63.2, x0=_UTM_13T["D"], y0=_UTM_13T["E"],
        )
    ),
    Scene(
        _product(
            "S2A", "13TDF", "20231008T175231", 610.520, generated="20231008T233154",
            datastrip_start="20231008T175927", absolute_orbit=43324, relative_orbit=141,
            baseline="05.09", station="2APS", cloud=8.4, x0=_UTM_13T["D"], y0=_UTM_13T["F"],
        )
    ),
)  # fmt: skip
V0_SCENE = Scene(
    _s2.Product(
        "S2A", "28QCH", "20200714T115221", "2020-07-14T11:55:52Z", generated="20200714T191310",
        datastrip_start="20200714T115912", absolute_orbit=26336, relative_orbit=123,
        baseline="02.14", station="SGS_", cloud=2.36, x0=300000.0, y0=2300040.0,
    )
)  # fmt: skip
#: The v0 scene's data footprint in tile fractions (right, down): a triangle at the tile's west
#: edge cut by the swath's edge, 6.85 % of the tile (the real item's ``data_coverage``).
V0_FOOTPRINT = ((0.0, 0.0), (0.185, 0.0), (0.0, 0.7405))


@dataclass(frozen=True)
class Raster:
    """A raster asset of an S2 scene: its key, file stem and resolution (or fixed grid)."""

    key: str
    stem: str  # B04, AOT, WVP, SCL, TCI, L2A_PVI
    res: int  # native resolution, metres
    fixed: int | None = None  # a grid that does not scale (the v0 preview: 343 px of 320 m)

    def shape(self, scale: str) -> tuple[int, int]:
        n = self.fixed or _s2.TILE_M // self.res // _DIVISOR[scale]
        return n, n

    def pixel(self, scale: str) -> float:
        return 320.0 if self.fixed else _s2.TILE_M / self.shape(scale)[0]


#: v1: the L2A bands by common-name key, then AOT, SCL, WVP (20 m) and the TCI.
V1_RASTERS = (
    *(Raster(b.key, b.band, b.res) for b in _s2.L2A_BANDS),
    Raster("aot", "AOT", 20),
    Raster("scl", "SCL", 20),
    Raster("wvp", "WVP", 20),
    Raster("visual", "TCI", 10),
)
#: v0: band keys B01 ... B12; AOT at 60 m and WVP at 10 m (v0's choice), the 320 m preview.
V0_RASTERS = (
    Raster("overview", "L2A_PVI", 320, fixed=343),
    Raster("visual", "TCI", 10),
    *(Raster(b.band, b.band, b.res) for b in _s2.L2A_BANDS),
    Raster("AOT", "AOT", 60),
    Raster("WVP", "WVP", 10),
    Raster("SCL", "SCL", 20),
)


def _cog_folder(scene: Scene, v0: bool) -> str:
    """Folder of a scene's COGs in bucket ``sentinel-cogs`` (v0 kept only the year)."""
    year, month, _ = scene.date
    if v0:
        return f"sentinel-cogs/sentinel-s2-l2a-cogs/{year}/{scene.item_id}"
    return f"sentinel-cogs/sentinel-s2-l2a-cogs/{scene.tile_path}/{year}/{month}/{scene.item_id}"


def _roda_folder(scene: Scene, level: str) -> str:
    """ESA's tile folder on the Sinergise (roda) bucket of ``level`` (``l1c`` or ``l2a``)."""
    year, month, day = scene.date
    return f"roda/sentinel-s2-{level}/tiles/{scene.tile_path}/{year}/{month}/{day}/{scene.sequence}"


def _jp2_key(scene: Scene, stem: str) -> str:
    year, month, day = scene.date
    return f"tiles/{scene.tile_path}/{year}/{month}/{day}/{scene.sequence}/{stem}.jp2"


def _valid_mask(
    ring: list[tuple[float, float]] | None, transform: Affine, shape: tuple[int, int]
) -> np.ndarray:
    """Pixels inside a UTM data footprint (all of them without one)."""
    if ring is None:
        return np.ones(shape, dtype=bool)
    polygon = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    burnt = rasterize([polygon], out_shape=shape, transform=transform, fill=0, default_value=1)
    return burnt.astype(bool)


def _pixels(
    seed: int, scene: Scene, stem: str, shape: tuple[int, int], valid: np.ndarray
) -> np.ndarray:
    """The values of one raster of a scene: reflectance counts, SCL, AOT/WVP, or true colour."""
    classes = _raster.landscape(_raster.seed_words(seed, "es-land", scene.tile), shape)
    clouds = _raster.cloud_mask(
        _raster.seed_words(seed, "es-cloud", scene.item_id), shape, scene.product.cloud
    )
    texture = _raster.rng_for(seed, "es-texture", scene.item_id, stem)
    if stem in ("TCI", "L2A_PVI"):
        refl = [
            _raster.textured(_raster.reflectance(classes, b.family, clouds), texture)
            for b in _s2.TCI_BANDS
        ]
        return np.where(valid, _raster.true_colour(*refl), np.uint8(0))
    if stem == "SCL":
        return np.where(valid, _raster.scl(classes, clouds), np.uint8(0))
    if stem in ("AOT", "WVP"):
        level = 120 if stem == "AOT" else 1400
        field = _raster.smooth_field(
            _raster.rng_for(seed, "es", scene.item_id, stem), shape, waves=3
        )
        return np.where(valid, (level * (0.8 + 0.4 * field)).astype(np.uint16), np.uint16(0))
    band = _s2.BY_NAME[stem]
    refl = _raster.textured(_raster.reflectance(classes, band.family, clouds), texture)
    offset = scene.product.boa_offset
    return np.where(valid, _raster.to_digital_numbers(refl, 1e-4, offset), np.uint16(0))


def _write_scene(root: Path, seed: int, scene: Scene, scale: str, v0: bool) -> None:
    """Every COG of one scene (and, on v1, its JP2 twin), the thumbnail and the side files."""
    files = root / "files" / "earthsearch"
    folder = files / _cog_folder(scene, v0)
    ring = scene.product.utm_ring(V0_FOOTPRINT) if v0 else None
    p = scene.product
    tci = None
    for raster in V0_RASTERS if v0 else V1_RASTERS:
        shape, res = raster.shape(scale), raster.pixel(scale)
        transform = Affine(res, 0, p.x0, 0, -res, p.y0)
        data = _pixels(seed, scene, raster.stem, shape, _valid_mask(ring, transform, shape))
        crs = f"EPSG:{p.epsg}"
        _raster.write_cog(folder / f"{raster.stem}.tif", data, crs, transform, nodata=0)
        if not v0:
            target = root / "s3" / JP2_BUCKET / _jp2_key(scene, raster.stem)
            _raster.write_jp2(target, data, crs, transform, nodata=0, quality=_JP2_QUALITY)
        if raster.stem == "TCI":
            tci = data
    thumb = _raster.image_bytes(tci, "JPEG", size=343)
    info, xml = _tile_info(scene), _granule_xml(scene)
    if v0:
        _raster.write_bytes(files / _roda_folder(scene, "l1c") / "preview.jpg", thumb)
        _raster.write_bytes(files / _roda_folder(scene, "l2a") / "tileInfo.json", info)
        _raster.write_bytes(files / _roda_folder(scene, "l2a") / "metadata.xml", xml)
    else:
        _raster.write_bytes(folder / "thumbnail.jpg", thumb)
        _raster.write_bytes(folder / "tileinfo_metadata.json", info)
        _raster.write_bytes(folder / "granule_metadata.xml", xml)


def _tile_info(scene: Scene) -> bytes:
    """A small ``tileInfo.json`` of the Sinergise layout."""
    p = scene.product
    info = {
        "path": f"tiles/{scene.tile_path}/{'/'.join(map(str, scene.date))}/{scene.sequence}",
        "timestamp": p.datetime,
        "utmZone": p.zone,
        "latitudeBand": p.latitude_band,
        "gridSquare": p.grid_square,
        "datastrip": {"id": p.datastrip_id},
        "tileGeometry": {
            "type": "Polygon",
            "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG:8.8.1:{p.epsg}"}},
            "coordinates": [
                [list(c) for c in p.utm_ring(((0, 0), (1, 0), (1, 1), (0, 1), (0, 0)))]
            ],
        },
        "productName": p.product_name,
    }
    return json.dumps(info, indent=2).encode()


def _granule_xml(scene: Scene) -> bytes:
    """A small L2A tile metadata XML (``MTD_TL.xml``): id, time, CRS, tile corner."""
    p = scene.product
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/'
        'S2_PDI_Level-2A_Tile_Metadata.xsd">\n'
        f"  <n1:General_Info><TILE_ID>{p.granule_id}</TILE_ID>"
        f"<SENSING_TIME>{p.datetime}</SENSING_TIME></n1:General_Info>\n"
        "  <n1:Geometric_Info><Tile_Geocoding>"
        f"<HORIZONTAL_CS_CODE>EPSG:{p.epsg}</HORIZONTAL_CS_CODE>"
        f'<Geoposition resolution="10"><ULX>{p.x0:.0f}</ULX><ULY>{p.y0:.0f}</ULY></Geoposition>'
        "</Tile_Geocoding></n1:Geometric_Info>\n"
        "</n1:Level-2A_Tile_ID>\n"
    ).encode()


# -- Sentinel-2 items --------------------------------------------------------------------------


def _eo_band(band: _s2.Band) -> dict[str, Any]:
    return {
        "name": band.key,
        "common_name": band.common,
        "description": band.description,
        "center_wavelength": band.wavelength,
        "full_width_half_max": band.fwhm,
    }


def _raster_band(
    data_type: str, res: float, *, scale: float | None = None, offset: float = 0.0, unit: str = ""
) -> dict[str, Any]:
    band: dict[str, Any] = {"nodata": 0, "data_type": data_type}
    if data_type == "uint16":
        band["bits_per_sample"] = 15
    band["spatial_resolution"] = res
    if unit:
        band["unit"] = unit
    if scale is not None:
        band.update(scale=scale, offset=offset)
    return band


def _v1_raster_asset(scene: Scene, raster: Raster, scale: str, href: str) -> dict[str, Any]:
    """One raster asset of v1, as Earth Search's sentinel2-to-stac writes it."""
    p = scene.product
    res = raster.pixel(scale)
    asset: dict[str, Any] = {"href": href, "type": _COG}
    grid = {
        "proj:shape": list(raster.shape(scale)),
        "proj:transform": [res, 0, p.x0, 0, -res, p.y0],
    }
    if raster.stem in _s2.BY_NAME:
        band = _s2.BY_NAME[raster.stem]
        asset["title"] = f"{band.description} - {band.res}m"
        asset["eo:bands"] = [_eo_band(band)]
        asset["gsd"] = band.res
        asset.update(grid)
        asset["raster:bands"] = [_raster_band("uint16", res, scale=1e-4, offset=p.boa_offset)]
        asset["roles"] = ["data", "reflectance"]
    elif raster.stem == "TCI":
        asset["title"] = "True color image"
        asset["eo:bands"] = [_eo_band(b) for b in _s2.TCI_BANDS]
        asset.update(grid)
        asset["roles"] = ["visual"]
    else:
        asset["title"] = {
            "AOT": "Aerosol optical thickness (AOT)",
            "SCL": "Scene classification map (SCL)",
            "WVP": "Water vapour (WVP)",
        }[raster.stem]
        asset.update(grid)
        if raster.stem == "SCL":
            asset["raster:bands"] = [_raster_band("uint8", res)]
        else:
            unit = "cm" if raster.stem == "WVP" else ""
            asset["raster:bands"] = [_raster_band("uint16", res, scale=0.001, unit=unit)]
        asset["roles"] = ["data", "reflectance"]
    return asset


def _scene_stats(seed: int, scene: Scene) -> dict[str, float]:
    """``s2:*_percentage`` of a whole-tile scene, measured on the fields its pixels come from."""
    classes, clouds = _s2.scene_fields(
        seed, ("es-land", scene.tile), ("es-cloud", scene.item_id), scene.product.cloud
    )
    return _s2.scl_percentages(_raster.scl(classes, clouds), np.ones(classes.shape, dtype=bool))


def _links(endpoints: Endpoints, collection: str, item_id: str) -> list[dict[str, Any]]:
    """self, parent, collection, root: what a STAC API answers with (pgstac rebuilds them)."""
    items = f"{endpoints.stac}/collections/{collection}"
    return [
        {"rel": "self", "type": "application/geo+json", "href": f"{items}/items/{item_id}"},
        {"rel": "parent", "type": "application/json", "href": items},
        {"rel": "collection", "type": "application/json", "href": items},
        {"rel": "root", "type": "application/json", "href": endpoints.stac},
    ]


def _v1_item(endpoints: Endpoints, seed: int, scene: Scene, scale: str) -> dict[str, Any]:
    """One Earth Search v1 ``sentinel-2-l2a`` item."""
    p = scene.product
    base = f"{endpoints.http}/earthsearch/{_cog_folder(scene, v0=False)}"
    cogs, twins = {}, {}
    for raster in V1_RASTERS:
        cogs[raster.key] = _v1_raster_asset(scene, raster, scale, f"{base}/{raster.stem}.tif")
        twin = _v1_raster_asset(
            scene, raster, scale, f"s3://{JP2_BUCKET}/{_jp2_key(scene, raster.stem)}"
        )
        twins[f"{raster.key}-jp2"] = {**twin, "type": "image/jp2"}
    cogs["granule_metadata"] = {
        "href": f"{base}/granule_metadata.xml", "type": "application/xml", "roles": ["metadata"]
    }  # fmt: skip
    cogs["thumbnail"] = {
        "href": f"{base}/thumbnail.jpg", "type": "image/jpeg", "title": "Thumbnail image",
        "roles": ["thumbnail"],
    }  # fmt: skip
    cogs["tileinfo_metadata"] = {
        "href": f"{base}/tileinfo_metadata.json", "type": "application/json",
        "roles": ["metadata"],
    }  # fmt: skip
    assets = {k: cogs[k] for k in sorted(cogs)} | {k: twins[k] for k in sorted(twins)}

    lon, lat = p.centre()
    azimuth, elevation = _s2.sun_angles(p.when, lon, lat)
    stats = _scene_stats(seed, scene)
    year, month, _ = scene.date
    s3_path = (
        f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/{scene.tile_path}/{year}/{month}/{scene.item_id}"
    )
    created = _s2.later(p.generation_time, 113.5)
    properties = {
        "created": created,
        "platform": f"sentinel-2{p.mission[2].lower()}",
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": p.cloud,
        "proj:epsg": p.epsg,
        "mgrs:utm_zone": p.zone,
        "mgrs:latitude_band": p.latitude_band,
        "mgrs:grid_square": p.grid_square,
        "grid:code": f"MGRS-{p.tile}",
        "view:sun_azimuth": azimuth,
        "view:sun_elevation": elevation,
        "s2:degraded_msi_data_percentage": 0,
        **{f"s2:{k}": v for k, v in stats.items()},
        "s2:product_type": "S2MSI2A",
        "s2:processing_baseline": p.baseline,
        "s2:product_uri": p.product_uri,
        "s2:generation_time": _s2.iso(p.generated),
        "s2:datatake_id": p.datatake_id,
        "s2:datatake_type": "INS-NOBS",
        "s2:datastrip_id": p.datastrip_id,
        "s2:granule_id": p.granule_id,
        "s2:reflectance_conversion_factor": _s2.earth_sun_factor(p.when),
        "datetime": p.datetime,
        "s2:sequence": scene.sequence,
        "earthsearch:s3_path": s3_path,
        "earthsearch:payload_id": "roda-sentinel2/workflow-sentinel2-to-stac/"
        + hashlib.sha256(scene.item_id.encode()).hexdigest()[:32],
        "earthsearch:boa_offset_applied": p.boa_offset != 0,
        "processing:software": {"sentinel2-to-stac": "0.1.1"},
        "updated": created,
    }
    geometry = _stac.utm_footprint(p.epsg, p.x0, p.y0, _s2.TILE_M)
    l1c = scene.item_id[: -len("L2A")] + "L1C"
    links = _links(endpoints, "sentinel-2-l2a", scene.item_id)
    links[1:1] = [
        {"rel": "canonical", "href": f"{s3_path}/{scene.item_id}.json", "type": "application/json"},
        _stac.SENTINEL_LICENSE_LINK,
        {"rel": "derived_from", "type": "application/geo+json",
         "href": f"{endpoints.stac}/collections/sentinel-2-l1c/items/{l1c}"},
    ]  # fmt: skip
    links.append(
        {"rel": "thumbnail", "href": f"{links[0]['href']}/thumbnail"},
    )
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": scene.item_id,
        "properties": properties,
        "geometry": geometry,
        "links": links,
        "assets": assets,
        "bbox": _stac.bbox_of(geometry),
        "stac_extensions": list(_V1_EXTENSIONS),
        "collection": "sentinel-2-l2a",
    }


def _v0_item(endpoints: Endpoints, scene: Scene, scale: str) -> dict[str, Any]:
    """The Earth Search v0 ``sentinel-s2-l2a-cogs`` item (STAC 1.0.0-beta.1, no roles)."""
    p = scene.product
    files = f"{endpoints.http}/earthsearch"
    base = f"{files}/{_cog_folder(scene, v0=True)}"
    titles = {
        "overview": "True color image",
        "visual": "True color image",
        "AOT": "Aerosol Optical Thickness (AOT)",
        "WVP": "Water Vapour (WVP)",
        "SCL": "Scene Classification Map (SCL)",
    }
    for band in _s2.L2A_BANDS:
        titles[band.band] = f"Band {band.number}" + (f" ({band.common})" if band.v0_named else "")
    assets: dict[str, Any] = {
        "thumbnail": {
            "title": "Thumbnail", "type": "image/png",  # a JPEG, typed PNG on v0
            "href": f"{files}/{_roda_folder(scene, 'l1c')}/preview.jpg",
        },
    }  # fmt: skip
    for raster in V0_RASTERS:
        res = raster.pixel(scale)
        assets[raster.key] = {
            "title": titles[raster.key],
            "type": _COG,
            "href": f"{base}/{raster.stem}.tif",
            "proj:shape": list(raster.shape(scale)),
            "proj:transform": [res, 0.0, p.x0, 0.0, -res, p.y0, 0.0, 0.0, 1.0],
        }
        if raster.key == "overview":
            assets["info"] = {
                "title": "Original JSON metadata", "type": "application/json",
                "href": f"{files}/{_roda_folder(scene, 'l2a')}/tileInfo.json",
            }  # fmt: skip
            assets["metadata"] = {
                "title": "Original XML metadata", "type": "application/xml",
                "href": f"{files}/{_roda_folder(scene, 'l2a')}/metadata.xml",
            }  # fmt: skip
    geometry = _stac.polygon(p.lonlat(p.utm_ring(V0_FOOTPRINT)))
    coverage = Polygon(V0_FOOTPRINT).area * 100
    properties = {
        "datetime": p.datetime,
        "platform": f"sentinel-2{p.mission[2].lower()}",
        "constellation": "sentinel-2",
        "instruments": ["MSI"],
        "gsd": 10,
        "data_coverage": round(coverage, 2),
        "view:off_nadir": 0,
        "eo:cloud_cover": p.cloud,
        "proj:epsg": p.epsg,
        "sentinel:latitude_band": p.latitude_band,
        "sentinel:grid_square": p.grid_square,
        "sentinel:sequence": scene.sequence,
        "sentinel:product_id": p.product_name,
    }
    folder = f"sentinel-s2-l2a-cogs/{scene.date[0]}/{scene.item_id}"
    return {
        "type": "Feature",
        "stac_version": "1.0.0-beta.1",
        "stac_extensions": list(_V0_EXTENSIONS),
        "id": scene.item_id,
        "bbox": _stac.bbox_of(geometry),
        "geometry": geometry,
        "properties": properties,
        "collection": "sentinel-s2-l2a-cogs",
        "assets": assets,
        "links": [
            {"rel": "self", "type": "application/json",
             "href": f"s3://sentinel-cogs/{folder}/{scene.item_id}.json"},
            {"title": "Source STAC Item", "rel": "derived_from", "type": "application/json",
             "href": f"/tmp/stac/s3:/cirrus-v0-data/sentinel-s2-l2a/{scene.date[0]}/"  # noqa: S108
                     f"{scene.item_id}/{scene.item_id}.json"},
        ],
    }  # fmt: skip


# -- Sentinel-1 GRD ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GrdScene:
    """One Sentinel-1 GRD product as ESA names it, with what its name does not say."""

    item_id: str  # S1A_IW_GRDH_1SSH_<start>_<stop>_<orbit>_<datatake>
    unique: str  # the product's 4-hex unique id (ESA appends it to the name)
    orbit_state: str
    corner: tuple[float, float]  # lon/lat of line 0, sample 0
    heading: float  # flight direction, degrees from north
    slice_number: int
    total_slices: int
    processed: str  # processing end, ISO
    timeliness: str = "NRT-3h"
    orbit_source: str = "PREORB"

    @property
    def parts(self) -> list[str]:
        return self.item_id.split("_")

    @property
    def mission(self) -> str:
        return self.parts[0]

    @property
    def mode(self) -> str:
        return self.parts[1]

    @property
    def polarisations(self) -> list[str]:
        """From the name's ``1SSH``, ``1SDV`` ...: single or dual, H or V transmitted."""
        code = self.parts[3]
        tx = code[3]
        return [tx + tx] if code[2] == "S" else [tx + tx, tx + ("V" if tx == "H" else "H")]

    @property
    def start(self) -> datetime:
        return datetime.strptime(self.parts[4], "%Y%m%dT%H%M%S")

    @property
    def stop(self) -> datetime:
        return datetime.strptime(self.parts[5], "%Y%m%dT%H%M%S")

    @property
    def absolute_orbit(self) -> int:
        return int(self.parts[6])

    @property
    def relative_orbit(self) -> int:
        """Sentinel-1A repeats every 175 orbits; absolute orbit 73 was its relative orbit 1."""
        return (self.absolute_orbit - 73) % 175 + 1

    @property
    def product_identifier(self) -> str:
        return f"{self.item_id}_{self.unique}"

    @property
    def prefix(self) -> str:
        """Key prefix of the product in bucket ``sentinel-s1-l1c``."""
        t = self.start
        return (
            f"GRD/{t.year}/{t.month}/{t.day}/{self.mode}/{self.parts[3][2:]}/"
            f"{self.product_identifier}"
        )


S1_SCENE = GrdScene(
    "S1A_IW_GRDH_1SSH_20250731T135702_20250731T135722_060328_077F7E",
    unique="0C44",
    orbit_state="ascending",
    corner=(74.70, -46.84),
    heading=340.0,
    slice_number=3,
    total_slices=3,
    processed="2025-07-31T14:45:26.000000Z",
)
#: IW GRDH: samples x lines of the real product; the replica divides both.
_GRD_FULL = (25348, 13438)
_GRD_DIVISOR = {"ci": 26, "bench": 4}
_GRD_SPACING_M = 10.0
_INTERNATIONAL_DESIGNATOR = {"S1A": "2014-016A", "S1B": "2016-025A", "S1C": "2024-235A"}
_ASSET_TEXT = {
    "safe-manifest": ("Manifest File", "General product metadata in XML format. Contains a high-level textual description of the product and references to all of product's components, the product metadata, including the product identification and the resource references, and references to the physical location of each component file contained in the product."),  # noqa: E501
    "schema-product": ("{P} Product Schema", "Describes the main characteristics corresponding to the band: state of the platform during acquisition, image properties, Doppler information, geographic location, etc."),  # noqa: E501
    "schema-calibration": ("{P} Calibration Schema", "Calibration metadata including calibration information and the beta nought, sigma nought, gamma and digital number look-up tables that can be used for absolute product calibration."),  # noqa: E501
    "schema-noise": ("{P} Noise Schema", "Estimated thermal noise look-up tables"),
    "thumbnail": ("Preview Image", "An averaged, decimated preview image in PNG format. Single polarization products are represented with a grey scale image. Dual polarization products are represented by a single composite colour image in RGB with the red channel (R) representing the  co-polarization VV or HH), the green channel (G) represents the cross-polarization (VH or HV) and the blue channel (B) represents the ratio of the cross an co-polarizations."),  # noqa: E501
    "data": ("{P} Data", "Actual SAR data that have been processed into an image"),
}  # fmt: skip


def grd_shape(scale: str) -> tuple[int, int]:
    """(lines, samples) of the replica's GRD measurement at ``scale``."""
    samples, lines = _GRD_FULL
    return round(lines / _GRD_DIVISOR[scale]), round(samples / _GRD_DIVISOR[scale])


def _grd_lonlat(line: np.ndarray, sample: np.ndarray, shape: tuple[int, int]):
    """Ground position of (line, sample) of an IW GRD: lines along track (in time order),
    samples across track to the right, 10 m apart at full size; the local east/north offsets are
    turned into degrees with the latitude of each point, so the GCPs are not affine."""
    rows, cols = shape
    along = line / max(rows - 1, 1) * (_GRD_FULL[1] - 1) * _GRD_SPACING_M / 1000
    across = sample / max(cols - 1, 1) * (_GRD_FULL[0] - 1) * _GRD_SPACING_M / 1000
    heading = math.radians(S1_SCENE.heading)
    right = heading + math.pi / 2
    east = along * math.sin(heading) + across * math.sin(right)
    north = along * math.cos(heading) + across * math.cos(right)
    lon0, lat0 = S1_SCENE.corner
    lat = lat0 + north / 111.32
    lon = lon0 + east / (111.32 * np.cos(np.radians(lat)))
    return lon, lat


def _grd_gcps(scale: str) -> list[GroundControlPoint]:
    """10 lines x 21 samples of GCPs from the first to the last line and sample."""
    rows, cols = shape = grd_shape(scale)
    return _sar.grid_gcps(
        np.linspace(0, rows - 1, 10),
        np.linspace(0, cols - 1, 21),
        lambda line, sample: _grd_lonlat(line, sample, shape),
    )


def _grd_amplitude(seed: int, scale: str) -> np.ndarray:
    """HH digital numbers: sea and land backscatter falling off with incidence, speckled as an
    ENL 4.4 multi-looked intensity (gamma distributed), as uint16 amplitude (0 is no-data)."""
    rows, cols = grd_shape(scale)
    classes = _raster.landscape(_raster.seed_words(seed, "s1-grd-land"), (rows, cols))
    level = np.array([60.0, 190.0, 170.0, 150.0, 230.0], dtype=np.float32)[classes]
    incidence = np.linspace(1.25, 0.8, cols, dtype=np.float32)  # near range is brighter
    rng = _raster.rng_for(seed, "s1-grd-speckle")
    looks = 4.4
    intensity = rng.gamma(looks, 1 / looks, (rows, cols)).astype(np.float32)
    dn = level * incidence * np.sqrt(intensity)
    return np.clip(np.round(dn), 1, 65535).astype(np.uint16)


def _write_s1(root: Path, seed: int, scale: str) -> None:
    """The GRD measurement, its quick-look and small stand-ins of the SAFE's XML files."""
    scene = S1_SCENE
    folder = root / "s3" / S1_BUCKET / scene.prefix
    amplitude = _grd_amplitude(seed, scale)
    gcps = _grd_gcps(scale)
    for pol in scene.polarisations:
        _sar.write_gcp_tiff(
            folder / "measurement" / f"{scene.mode.lower()}-{pol.lower()}.tiff",
            amplitude[np.newaxis],
            gcps,
            tile=None,
            compress=None,
            tags={
                "TIFFTAG_IMAGEDESCRIPTION": f"Sentinel-{scene.mission[1:]} {scene.mode} GRD HR L1",
                "TIFFTAG_SOFTWARE": "Sentinel-1 IPF 003.91",
                "TIFFTAG_DATETIME": scene.start.strftime("%Y:%m:%d %H:%M:%S"),
            },
            overviews=(2, 4, 8),
            trailing_ifd=True,
        )
        for path in _annotation_paths(scene, pol):
            _raster.write_bytes(folder / path, _annotation_xml(scene, pol, path))
    grey = amplitude[::8, ::8].astype(np.float32)
    grey = np.clip(grey / max(float(np.percentile(grey, 98)), 1.0) * 255, 0, 255).astype(np.uint8)
    _raster.write_bytes(folder / "preview" / "quick-look.png", _raster.image_bytes(grey, "PNG"))
    _raster.write_bytes(folder / "manifest.safe", _manifest(scene, gcps))


def _annotation_paths(scene: GrdScene, pol: str) -> list[str]:
    """The product (as Earth Search links it: the RFI annotation), calibration, noise XMLs."""
    name = f"{scene.mode.lower()}-{pol.lower()}.xml"
    return [f"annotation/rfi/rfi-{name}", f"annotation/calibration/calibration-{name}",
            f"annotation/calibration/noise-{name}"]  # fmt: skip


def _annotation_xml(scene: GrdScene, pol: str, path: str) -> bytes:
    root = Path(path).name.split("-")[0]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<{root}><adsHeader><missionId>{scene.mission}</missionId>"
        f"<productType>GRD</productType><polarisation>{pol}</polarisation>"
        f"<mode>{scene.mode}</mode><startTime>{scene.start.isoformat()}</startTime>"
        f"<stopTime>{scene.stop.isoformat()}</stopTime></adsHeader></{root}>\n"
    ).encode()


def _manifest(scene: GrdScene, gcps: list[GroundControlPoint]) -> bytes:
    """A small ``manifest.safe``: times, orbit and the four-corner footprint (lat,lon pairs)."""
    rows = [g.row for g in gcps]
    cols = [g.col for g in gcps]
    corners = [
        next(g for g in gcps if g.row == r and g.col == c)
        for r, c in ((min(rows), min(cols)), (min(rows), max(cols)),
                     (max(rows), max(cols)), (max(rows), min(cols)))
    ]  # fmt: skip
    coords = " ".join(f"{g.y:.6f},{g.x:.6f}" for g in corners)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" '
        'xmlns:safe="http://www.esa.int/safe/sentinel-1.0" '
        'xmlns:gml="http://www.opengis.net/gml">\n'
        "  <metadataSection>\n"
        f"    <safe:startTime>{scene.start.isoformat()}</safe:startTime>\n"
        f"    <safe:stopTime>{scene.stop.isoformat()}</safe:stopTime>\n"
        f'    <safe:orbitNumber type="start">{scene.absolute_orbit}</safe:orbitNumber>\n'
        f'    <safe:relativeOrbitNumber type="start">{scene.relative_orbit}'
        "</safe:relativeOrbitNumber>\n"
        f"    <gml:coordinates>{coords}</gml:coordinates>\n"
        "  </metadataSection>\n"
        "</xfdu:XFDU>\n"
    ).encode()


def _iso_us(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _s1_item(endpoints: Endpoints, scale: str) -> dict[str, Any]:
    """The Earth Search v1 ``sentinel-1-grd`` item of the generated product."""
    scene = S1_SCENE
    rows, cols = grd_shape(scale)
    gcps = _grd_gcps(scale)
    geometry = _stac.polygon(_sar.border_ring(gcps))
    footprint = Polygon(geometry["coordinates"][0])
    corners = [(g.x, g.y) for g in gcps if g.row in (0, rows - 1) and g.col in (0, cols - 1)]
    proj_bbox = [
        round(min(x for x, _ in corners), 6), round(min(y for _, y in corners), 6),
        round(max(x for x, _ in corners), 6), round(max(y for _, y in corners), 6),
    ]  # fmt: skip
    shape = [cols, rows]  # stactools: [numberOfSamples, numberOfLines]
    west, south, east, north = proj_bbox
    start, stop = scene.start, scene.stop
    created = _iso_us(stop + timedelta(minutes=66, seconds=51.811))[:-4] + "Z"
    base = f"s3://{S1_BUCKET}/{scene.prefix}"
    assets: dict[str, Any] = {}

    def text(kind: str, pol: str = "") -> dict[str, str]:
        title, description = _ASSET_TEXT[kind]
        return {"title": title.format(P=pol.upper()), "description": description}

    assets["safe-manifest"] = {
        "href": f"{base}/manifest.safe", "type": "application/xml",
        **text("safe-manifest"), "roles": ["metadata"],
    }  # fmt: skip
    for kind, index in (("schema-product", 0), ("schema-calibration", 1), ("schema-noise", 2)):
        for pol in scene.polarisations:
            assets[f"{kind}-{pol.lower()}"] = {
                "href": f"{base}/{_annotation_paths(scene, pol)[index]}",
                "type": "application/xml", **text(kind, pol), "roles": ["metadata"],
            }  # fmt: skip
    assets["thumbnail"] = {
        "href": f"{base}/preview/quick-look.png", "type": "image/png", **text("thumbnail"),
        "roles": ["thumbnail"],
    }  # fmt: skip
    for pol in scene.polarisations:
        path = f"{scene.prefix}/measurement/{scene.mode.lower()}-{pol.lower()}.tiff"
        assets[pol.lower()] = {
            "href": f"s3://{S1_BUCKET}/{path}", "type": _COG, **text("data", pol),
            "raster:bands": [{"nodata": 0, "data_type": "uint16"}], "roles": ["data"],
            # the replica's addition: the same object over plain HTTPS (path-style)
            "alternate": {"https": {"href": f"{endpoints.s3}/{S1_BUCKET}/{path}",
                                    "title": f"{pol} Data over HTTPS (path-style)"}},
        }  # fmt: skip
    properties = {
        "sar:frequency_band": "C",
        "sar:center_frequency": 5.405,
        "sar:observation_direction": "right",
        "sar:instrument_mode": scene.mode,
        "sar:polarizations": scene.polarisations,
        "sar:product_type": "GRD",
        "sar:resolution_range": 20,
        "sar:resolution_azimuth": 22,
        "sar:pixel_spacing_range": 10,
        "sar:pixel_spacing_azimuth": 10,
        "sar:looks_range": 5,
        "sar:looks_azimuth": 1,
        "sar:looks_equivalent_number": 4.4,
        "sat:platform_international_designator": _INTERNATIONAL_DESIGNATOR[scene.mission],
        "sat:orbit_state": scene.orbit_state,
        "sat:absolute_orbit": scene.absolute_orbit,
        "sat:relative_orbit": scene.relative_orbit,
        "proj:epsg": 4326,
        "proj:bbox": proj_bbox,
        "proj:shape": shape,
        "proj:transform": [
            (east - west) / shape[1],
            0,
            west,
            0,
            -(north - south) / shape[0],
            north,
        ],
        "proj:centroid": {
            "lat": round(footprint.centroid.y, 5),
            "lon": round(footprint.centroid.x, 5),
        },
        "platform": f"sentinel-1{scene.mission[2].lower()}",
        "constellation": "sentinel-1",
        "start_datetime": _iso_us(start),
        "end_datetime": _iso_us(stop),
        "s1:instrument_configuration_ID": "7",
        "s1:datatake_id": str(int(scene.parts[7], 16)),
        "s1:product_timeliness": scene.timeliness,
        "s1:processing_level": "1",
        "s1:resolution": {"H": "high", "M": "medium", "F": "full"}[scene.parts[2][3]],
        "s1:orbit_source": scene.orbit_source,
        "s1:slice_number": str(scene.slice_number),
        "s1:total_slices": str(scene.total_slices),
        "s1:shape": shape,
        "s1:product_identifier": scene.product_identifier,
        "s1:processing_datetime": scene.processed,
        "storage:platform": "AWS",
        "storage:region": "eu-central-1",
        "storage:requester_pays": True,
        "datetime": _iso_us(start + (stop - start) / 2),
        "processing:software": {"sentinel1-to-stac": "2025.05.13"},
        "created": created,
        "updated": created,
    }
    links = _links(endpoints, "sentinel-1-grd", scene.item_id)
    t = scene.start
    canonical = (
        f"s3://earthsearch-data/sentinel-1-grd/{t.year}/{t.month}/{t.day}/{scene.mode}/"
        f"{scene.item_id}/{scene.item_id}.json"
    )
    links.insert(1, {"rel": "canonical", "href": canonical, "type": "application/json"})
    links.append({"rel": "thumbnail", "href": f"{links[0]['href']}/thumbnail"})
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": scene.item_id,
        "properties": properties,
        "geometry": geometry,
        "links": links,
        "assets": assets,
        "bbox": _stac.bbox_of(geometry),
        "stac_extensions": [*_S1_EXTENSIONS, _ALTERNATE_EXTENSION],
        "collection": "sentinel-1-grd",
    }


# -- the module's interface --------------------------------------------------------------------


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """Independent writers: one per S2 scene (v1 and v0), one for the S1 GRD objects on S3."""
    out: list[Callable[[], None]] = [
        functools.partial(_write_scene, root, seed, scene, scale, False) for scene in V1_SCENES
    ]
    out.append(functools.partial(_write_scene, root, seed, V0_SCENE, scale, True))
    out.append(functools.partial(_write_s1, root, seed, scale))
    return out


def collections() -> list[dict[str, Any]]:
    """The three Earth Search collections (v1 S2 L2A, v1 S1 GRD, legacy v0 S2 L2A COGs)."""
    lic = {"license": "proprietary", "links": [_stac.SENTINEL_LICENSE_LINK]}
    return [
        _stac.collection(
            "sentinel-2-l2a",
            "Sentinel-2 Level-2A",
            "Global Sentinel-2 data from the MSI onboard Sentinel-2 (Earth Search v1).",
            [-180, -90, 180, 90],
            "2015-06-27T10:25:31.456000Z",
            **lic,
        ),
        _stac.collection(
            "sentinel-1-grd",
            "Sentinel-1 Level-1C Ground Range Detected (GRD)",
            "Sentinel-1 GRD products (Earth Search v1).",
            [-180, -90, 180, 90],
            "2014-10-10T00:28:21Z",
            **lic,
        ),
        _stac.collection(
            "sentinel-s2-l2a-cogs",
            "Sentinel 2 L2A COGs",
            "Sentinel-2 imagery processed to Level 2A and converted to COGs (Earth Search v0).",
            [-180, -90, 180, 90],
            "2015-06-27T10:25:31.456000Z",
            **lic,
        ),
    ]


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """Three v1 S2 items (2 dates, 3 cloud covers), one v0 item and the S1 GRD item."""
    out = [_v1_item(endpoints, seed, scene, scale) for scene in V1_SCENES]
    out.append(_v0_item(endpoints, V0_SCENE, scale))
    out.append(_s1_item(endpoints, scale))
    return out
