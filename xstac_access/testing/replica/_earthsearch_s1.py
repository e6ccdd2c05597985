"""The Earth Search Sentinel-1 GRD scene of the replica: its GCP TIFF, SAFE side files, item.

One IW GRDH single-polarisation (HH) ascending product named as ESA names it. The ``hh``
measurement is generated (``_sar``): uint16 amplitude with speckle, 21 x 10 GCPs in EPSG:4326
that are not affine (degrees per kilometre follow each point's latitude), one-row strips,
internal overviews 2/4/8 and the IFDs after the image data, like the processor's TIFFs. The
manifest and annotation XMLs and the quick-look PNG are small stand-ins with the real names. The
item follows Earth Search v1's ``sentinel-1-grd`` schema, ``storage:*`` fields included: bucket
``sentinel-s1-l1c`` is a requester-pays bucket in ``eu-central-1``, and the S3 store answers for
it as AWS does (:data:`BUCKET_RULE`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.control import GroundControlPoint
from shapely.geometry import Polygon

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _sar, _stac
from xstac_access.testing.replica._earthsearch_items import COG, EXT, v1_item_json
from xstac_access.testing.s3_rules import BucketRule

#: Earth Search's Sentinel-1 L1C bucket: requester pays, in eu-central-1 (AWS open-data
#: registry, "Sentinel-1"), and so in the replica's store.
S1_BUCKET = "sentinel-s1-l1c"
BUCKET_RULE = BucketRule(S1_BUCKET, region="eu-central-1", requester_pays=True)
_S1_EXTENSIONS = [
    EXT.format(e)
    for e in ("projection/v1.1.0", "storage/v1.0.0", "sat/v1.0.0", "processing/v1.1.0",
              "sar/v1.0.0", "raster/v1.1.0")
]  # fmt: skip


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


def _grd_lonlat(
    line: np.ndarray, sample: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
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


def write_files(root: Path, seed: int, scale: str) -> None:
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
    """A small stand-in of one annotation XML: its root element and the product's header."""
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
    """ISO 8601 with microseconds and ``Z``, as stactools writes Sentinel-1 times."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def item(endpoints: Endpoints, scale: str) -> dict[str, Any]:
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
            "href": f"s3://{S1_BUCKET}/{path}", "type": COG, **text("data", pol),
            "raster:bands": [{"nodata": 0, "data_type": "uint16"}], "roles": ["data"],
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
    t = scene.start
    canonical = (
        f"s3://earthsearch-data/sentinel-1-grd/{t.year}/{t.month}/{t.day}/{scene.mode}/"
        f"{scene.item_id}/{scene.item_id}.json"
    )
    return v1_item_json(
        endpoints, "sentinel-1-grd", scene.item_id, canonical, properties, geometry, assets,
        _S1_EXTENSIONS,
    )  # fmt: skip
