"""ESA MAAP Biomass L1a replica: GCP-only slant-range GeoTIFFs, KML/PNG previews, product zips.

No real Biomass item or file is public, so the layout follows the MAAP notebook (seed 000): hrefs
``/data/biomass-pdgs-01/BiomassLevel1a/<y>/<m>/<d>/<ID>/<ID>/measurement/<id>_i_abs.tiff``, a
``*_map.kml`` GroundOverlay with ``gx:LatLonQuad`` (no default KML namespace, like the ESA
Sentinel-1 previews), and a zip of the whole product under ``/data/zipper/``. Data files sit
under ``/maap/data/`` (bearer-protected); previews under ``/maap/browse/`` (public).
"""

from __future__ import annotations

import functools
import math
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.control import GroundControlPoint

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _sar, _stac

COLLECTION = "BiomassLevel1a"
POLARISATIONS = ("HH", "HV", "VH", "VV")
_DAY = "2025/11/21"
_BASE = f"biomass-pdgs-01/{COLLECTION}/{_DAY}"
#: (rows = azimuth lines, columns = slant-range samples, tile edge, TIFF compression)
_SIZES = {"ci": (512, 384, 256, "deflate"), "bench": (3750, 3750, 512, None)}
_H_KM = 666.0  # orbit height
_FRAMES = (
    ("20251121T011412", "20251121T011433", "F035"),
    ("20251121T011432", "20251121T011452", "F036"),
)
_MEAN_AMPLITUDE = {"HH": 0.32, "HV": 0.11, "VH": 0.11, "VV": 0.27}
_TIFF = "image/tiff; application=geotiff"


@dataclass(frozen=True)
class Frame:
    """One Biomass L1a product: its names and its footprint (image corners, lon/lat)."""

    item_id: str
    stem: str  # lower-case file stem
    start: str
    end: str
    corners: tuple[tuple[float, float], ...]  # (0,0), (W,0), (W,H), (0,H) in pixel/line order

    @property
    def folder(self) -> str:
        return f"{_BASE}/{self.item_id}/{self.item_id}"


def _iso(stamp: str) -> str:
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"


def _lonlat(
    frame_index: int, line: np.ndarray, sample: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Ground position of (line, sample) in a descending, right-looking slant-range swath.

    Slant range grows linearly with the sample index, so ground range (and longitude/latitude)
    does not: the GCPs are genuinely non-affine.
    """
    rows, cols = shape
    heading = math.radians(191.0)
    along = np.array([math.sin(heading), math.cos(heading)])  # east, north unit vector
    across = np.array([math.sin(heading + math.pi / 2), math.cos(heading + math.pi / 2)])
    g_near, g_far = _H_KM * math.tan(math.radians(23)), _H_KM * math.tan(math.radians(27))
    r_near, r_far = math.hypot(_H_KM, g_near), math.hypot(_H_KM, g_far)
    slant = r_near + sample / cols * (r_far - r_near)
    ground = np.sqrt(slant**2 - _H_KM**2) - g_near
    along_km = (frame_index + line / rows) * 140.0
    east = along[0] * along_km + across[0] * ground
    north = along[1] * along_km + across[1] * ground
    lat0, lon0 = -0.35, 11.8  # Gabon, over rain forest
    lat = lat0 + north / 111.32
    lon = lon0 + east / (111.32 * np.cos(np.radians(lat0)))
    return lon, lat


def frames(seed: int, scale: str) -> list[Frame]:
    """The products of this replica (names and footprints depend only on seed and scale)."""
    rows, cols = _SIZES[scale][:2]
    rng = _raster.rng_for(seed, "biomass", "names")
    out = []
    for i, (start, end, frame_no) in enumerate(_FRAMES):
        suffix = "".join(chr(65 + int(k)) for k in rng.integers(0, 26, 6))
        stem = f"bio_s1_scs__1s_{start.lower()}_{end.lower()}_t_g01_m01_c01_t002_{frame_no.lower()}"
        item_id = f"{stem.upper()}_01_{suffix}"
        lon, lat = _lonlat(
            i, np.array([0, 0, rows, rows]), np.array([0, cols, cols, 0]), (rows, cols)
        )
        corners = tuple((float(x), float(y)) for x, y in zip(lon, lat, strict=False))
        out.append(Frame(item_id, stem, start, end, corners))
    return out


def _gcps(index: int, shape: tuple[int, int]) -> list[GroundControlPoint]:
    """11 x 11 GCPs from edge to edge (lines 0 ... rows, samples 0 ... cols)."""
    rows, cols = shape
    return _sar.grid_gcps(
        np.linspace(0, rows, 11),
        np.linspace(0, cols, 11),
        lambda line, sample: _lonlat(index, line, sample, shape),
    )


def _write_gcp_tiff(
    path: Path, bands: np.ndarray, gcps: list[GroundControlPoint], scale: str, kind: str
) -> None:
    """A 4-band float32 GeoTIFF georeferenced only by GCPs (EPSG:4326), tiled, band-named."""
    _, _, tile, compress = _SIZES[scale]
    _sar.write_gcp_tiff(
        path,
        bands,
        gcps,
        tile=tile,
        compress=compress,
        descriptions=POLARISATIONS,
        tags={
            "PRODUCT_TYPE": "S1_SCS__1S",
            "IMAGE_KIND": kind,
            "TIFFTAG_SOFTWARE": "Biomass L1 processor (replica)",
        },
    )


def _kml(frame: Frame, png_name: str) -> bytes:
    """The preview KML: GroundOverlay + gx:LatLonQuad (corners LL, LR, UR, UL of the picture)."""
    ul, ur, lr, ll = frame.corners
    coords = " ".join(f"{x:.6f},{y:.6f}" for x, y in (ll, lr, ur, ul))
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns:gx="http://www.google.com/kml/ext/2.2" xmlns:bio="http://earth.esa.int/biomass/auxiliary-products/quicklook">
  <Document>
    <name>{frame.item_id}</name>
    <Folder>
      <name>Biomass Scene Overlay</name>
      <GroundOverlay>
        <name>{frame.stem} quick-look</name>
        <Icon>
          <href>{png_name}</href>
        </Icon>
        <gx:LatLonQuad>
          <coordinates>{coords}</coordinates>
        </gx:LatLonQuad>
      </GroundOverlay>
    </Folder>
  </Document>
</kml>
"""
    return text.encode()


def _quicklook(amplitude: np.ndarray, looks: int) -> np.ndarray:
    """Multi-looked RGB (HH, HV, VV in dB) picture of the image grid, as (3, y, x) uint8."""
    _, rows, cols = amplitude.shape
    rows, cols = rows // looks * looks, cols // looks * looks
    power = (amplitude[[0, 1, 3], :rows, :cols] ** 2).reshape(
        3, rows // looks, looks, cols // looks, looks
    )
    db = 10 * np.log10(np.maximum(power.mean(axis=(2, 4)), 1e-8))
    lo, hi = np.percentile(db, [2, 98])
    return np.clip((db - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One independent writer per product (TIFFs, previews, header, zip) under ``files/maap``."""
    return [
        functools.partial(_write_frame, root, seed, scale, i, frame)
        for i, frame in enumerate(frames(seed, scale))
    ]


def _write_frame(root: Path, seed: int, scale: str, index: int, frame: Frame) -> None:
    """Amplitude and phase TIFFs (speckled landscape, uniform phase), previews and the zip."""
    rows, cols = _SIZES[scale][:2]
    rng = _raster.rng_for(seed, "biomass", index)
    classes = _raster.landscape(_raster.seed_words(seed, "biomass-land", index), (rows, cols))
    texture = 0.7 + 0.15 * classes.astype(np.float32)
    speckle = np.sqrt(rng.exponential(1.0, (4, rows, cols)).astype(np.float32))
    amp = np.stack([_MEAN_AMPLITUDE[p] * texture for p in POLARISATIONS]) * speckle
    phase = rng.uniform(-np.pi, np.pi, (4, rows, cols)).astype(np.float32)
    if scale == "ci":  # float16 precision keeps ci files small; bench keeps full float32 noise
        amp, phase = (
            amp.astype(np.float16).astype(np.float32),
            phase.astype(np.float16).astype(np.float32),
        )
    data_dir = root / "files" / "maap" / "data" / frame.folder
    gcps = _gcps(index, (rows, cols))
    _write_gcp_tiff(
        data_dir / "measurement" / f"{frame.stem}_i_abs.tiff", amp, gcps, scale, "amplitude"
    )
    _write_gcp_tiff(
        data_dir / "measurement" / f"{frame.stem}_i_phase.tiff", phase, gcps, scale, "phase"
    )
    quick = _quicklook(amp, max(2, min(rows, cols) // 128))
    previews = {
        f"{frame.stem}_ql.png": _raster.image_bytes(quick, "PNG"),
        f"{frame.stem}_th.png": _raster.image_bytes(quick, "PNG", size=128),
        f"{frame.stem}_map.kml": _kml(frame, f"{frame.stem}_ql.png"),
    }
    browse_dir = root / "files" / "maap" / "browse" / frame.folder / "preview"
    for name, blob in previews.items():
        _raster.write_bytes(browse_dir / name, blob)
        _raster.write_bytes(data_dir / "preview" / name, blob)
    _raster.write_bytes(data_dir / f"{frame.stem}_mph.xml", _header(frame))
    _zip_product(
        data_dir,
        root / "files" / "maap" / "data" / "zipper" / _BASE / f"{frame.item_id}.zip",
        frame,
    )


def _header(frame: Frame) -> bytes:
    """A small main-product-header XML naming the product and its time span."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bio:EarthObservation xmlns:bio="http://earth.esa.int/biomass/1.0" '
        'xmlns:gml="http://www.opengis.net/gml/3.2">\n'
        f"  <bio:identifier>{frame.item_id}</bio:identifier>\n"
        f"  <gml:beginPosition>{_iso(frame.start)}</gml:beginPosition>\n"
        f"  <gml:endPosition>{_iso(frame.end)}</gml:endPosition>\n"
        "  <bio:productType>S1_SCS__1S</bio:productType>\n"
        "</bio:EarthObservation>\n"
    ).encode()


def _zip_product(folder: Path, target: Path, frame: Frame) -> None:
    """Zip the product folder (members under ``<ID>/``) with fixed timestamps (reproducible)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    end = frame.end
    stamp = (int(end[0:4]), int(end[4:6]), int(end[6:8]),
             int(end[9:11]), int(end[11:13]), int(end[13:15]))  # fmt: skip
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(
                f"{frame.item_id}/{path.relative_to(folder).as_posix()}", date_time=stamp
            )
            info.compress_type = (
                zipfile.ZIP_STORED if path.suffix == ".tiff" else zipfile.ZIP_DEFLATED
            )
            with path.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def collections() -> list[dict[str, Any]]:
    """BiomassLevel1a (with items) and BiomassLevel1b (empty), MAAP-style collection metadata."""
    common: dict[str, Any] = {
        "platform": "Biomass",
        "parentIdentifier": "EOP:ESA:MAAP",
        "summaries": {"platform": ["Biomass"], "instruments": ["P-SAR"]},
    }
    return [
        _stac.collection(
            cid,
            title,
            f"{title} products of the ESA Biomass P-band SAR mission.",
            [-180, -90, 180, 90],
            "2024-07-31T00:00:00Z",
            license="other",
            **common,
        )
        for cid, title in ((COLLECTION, "Biomass Level 1A"), ("BiomassLevel1b", "Biomass Level 1B"))
    ]


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """One item per product, asset keys and media types as on the MAAP catalogue."""
    out = []
    for frame in frames(seed, scale):
        data = f"{endpoints.http}/maap/data/{frame.folder}"
        browse = f"{endpoints.http}/maap/browse/{frame.folder}/preview"
        band_info = [
            {"name": p, "description": f"{p} polarisation", "data_type": "float32"}
            for p in POLARISATIONS
        ]
        assets = {
            "thumbnail": {
                "href": f"{browse}/{frame.stem}_th.png",
                "type": "image/png",
                "roles": ["thumbnail"],
                "title": "Thumbnail",
            },
            "quicklook_png": {
                "href": f"{browse}/{frame.stem}_ql.png",
                "type": "image/png",
                "roles": ["overview"],
                "title": "Quicklook",
            },
            "quicklook_kml": {
                "href": f"{browse}/{frame.stem}_map.kml",
                "type": "application/vnd.google-earth.kml+xml",
                "roles": ["overview"],
                "title": "Quicklook footprint (KML)",
            },
            "enclosure_i_abs_tiff": {
                "href": f"{data}/measurement/{frame.stem}_i_abs.tiff",
                "type": _TIFF,
                "roles": ["data"],
                "title": "Amplitude (HH, HV, VH, VV)",
                "bands": band_info,
            },
            "enclosure_i_phase_tiff": {
                "href": f"{data}/measurement/{frame.stem}_i_phase.tiff",
                "type": _TIFF,
                "roles": ["data"],
                "title": "Phase (HH, HV, VH, VV)",
                "bands": band_info,
            },
            "product": {
                "href": f"{endpoints.http}/maap/data/zipper/{_BASE}/{frame.item_id}.zip",
                "type": "application/zip",
                "roles": ["data", "metadata", "archive"],
                "title": "Zipped product",
            },
        }
        props = {
            "datetime": _iso(frame.start),
            "start_datetime": _iso(frame.start),
            "end_datetime": _iso(frame.end),
            "platform": "Biomass",
            "instruments": ["P-SAR"],
            "product:type": "S1_SCS__1S",
            "processing:level": "L1A",
            "sat:orbit_state": "descending",
            "sat:absolute_orbit": 3017,
            "sat:relative_orbit": 2,
            "eopf:datatake_id": 24719280,
            "updated": "2025-12-19T11:26:18Z",
            "sar:frequency_band": "P",
            "sar:instrument_mode": "S1",
            "sar:polarizations": list(POLARISATIONS),
        }
        out.append(
            _stac.item(
                frame.item_id,
                COLLECTION,
                _stac.polygon(list(frame.corners)),
                props,
                assets,
                extensions=[
                    "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
                    "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
                    "https://stac-extensions.github.io/product/v0.1.0/schema.json",
                ],
            )
        )
    return out


def server_rules() -> dict[str, list[dict[str, Any]]]:
    """Data under /maap/data/ on the main host needs a bearer token of realm ``maap``."""
    return {
        "protected": [
            {"prefix": "/maap/data/", "host": "main", "scheme": "bearer", "realm": "maap"}
        ]
    }
