"""The metadata XML of a Sentinel-2 SAFE: ``MTD_MSIL2A.xml`` (``MTD_MSIL1C.xml``), ``MTD_TL.xml``,
``INSPIRE.xml``.

Written from the Sentinel-2 Products Specification (PSD 14.9: the Level-2A and Level-1C User
Product and Tile metadata schemas), with the elements a reader of the product needs and a few
around them: the product's quantification values (L2A: ``BOA_QUANTIFICATION_VALUE``, ``AOT_``,
``WVP_``; L1C: ``QUANTIFICATION_VALUE``) and, since processing baseline 04.00, one offset per
band (L2A: ``BOA_ADD_OFFSET``, L1C: ``RADIO_ADD_OFFSET``; ``band_id`` 0-12 in the order B1 ...
B8, B8A, B9 ... B12); the
tile's CRS, and per resolution its size (``NROWS``/``NCOLS``) and ``Geoposition``
(``ULX``/``ULY``/``XDIM``/``YDIM``, as the replica's grids are: coarser than 10/20/60 m at ``ci``
scale); the sun angles and, per band and detector, the viewing incidence angles on the 5 km
grid of 23 x 23 points from the tile's upper-left corner, ``NaN`` outside a detector's
footprint, with their means.

The angles are a model: the sun's from NOAA's equations at each grid point
(:func:`._s2.sun_angles`); the viewing angles grow across track from a nadir 30 km west of the
tile, two detectors split the tile along a slanted line, and each band looks a little off the
others (as the MSI's staggered focal plane does).
"""

from __future__ import annotations

import numpy as np

from xstac_access.testing.replica import _s2

#: Points per side of the angle grids and their spacing (metres).
ANGLE_POINTS, ANGLE_STEP = 23, 5000
#: The two detectors that see the tile (west, east of the split).
DETECTORS = (4, 5)
_NADIR_WEST_M = 30000.0
_PSD = "https://psd-14.sentinel2.eo.esa.int/PSD"


def grid_xy(product: _s2.Product) -> tuple[np.ndarray, np.ndarray]:
    """UTM x of the grid's columns and y of its rows (points from the upper-left corner)."""
    steps = np.arange(ANGLE_POINTS, dtype=np.float64) * ANGLE_STEP
    return product.x0 + steps, product.y0 - steps


def sun_grids(product: _s2.Product) -> tuple[np.ndarray, np.ndarray]:
    """(zenith, azimuth) in degrees on the angle grid."""
    xs, ys = grid_xy(product)
    points = [(x, y) for y in ys for x in xs]
    angles = [_s2.sun_angles(product.when, lon, lat) for lon, lat in product.lonlat(points)]
    azimuth = np.array([a for a, _ in angles]).reshape(ANGLE_POINTS, ANGLE_POINTS)
    zenith = 90 - np.array([e for _, e in angles]).reshape(ANGLE_POINTS, ANGLE_POINTS)
    return zenith, azimuth


def viewing_grids(product: _s2.Product, band_id: int, detector: int) -> tuple[np.ndarray, ...]:
    """(zenith, azimuth) in degrees of one band and detector, NaN outside its footprint."""
    xs, ys = grid_xy(product)
    x, y = np.meshgrid(xs - product.x0, product.y0 - ys)
    split = 52000.0 + 0.12 * y  # the detectors' border, slanted along track
    inside = x < split if detector == DETECTORS[0] else x >= split
    across = (x + _NADIR_WEST_M) / 145000.0
    zenith = 0.4 + 10.5 * across + 0.02 * band_id + 0.05 * (y / 109800.0)
    azimuth = 101.0 + 0.08 * band_id + 2.5 * (detector % 2) + 1.5 * (y / 109800.0)
    return np.where(inside, zenith, np.nan), np.where(inside, azimuth, np.nan)


def _values(grid: np.ndarray) -> str:
    rows = (" ".join("NaN" if np.isnan(v) else f"{v:.6g}" for v in row) for row in grid)
    return "".join(f"<VALUES>{row}</VALUES>" for row in rows)


def _grid(tag: str, grid: np.ndarray) -> str:
    return (
        f'<{tag}><COL_STEP unit="m">{ANGLE_STEP}</COL_STEP><ROW_STEP unit="m">{ANGLE_STEP}'
        f"</ROW_STEP><Values_List>{_values(grid)}</Values_List></{tag}>"
    )


def _mean(tag: str, attrs: str, zenith: np.ndarray, azimuth: np.ndarray) -> str:
    return (
        f'<{tag}{attrs}><ZENITH_ANGLE unit="deg">{np.nanmean(zenith):.6g}</ZENITH_ANGLE>'
        f'<AZIMUTH_ANGLE unit="deg">{np.nanmean(azimuth):.6g}</AZIMUTH_ANGLE></{tag}>'
    )


def _document(root: str, namespace: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<n1:{root} xmlns:n1="{namespace}">\n{body}'
        f"</n1:{root}>\n"
    ).encode()


def _radiometry(level: str, offset: int) -> str:
    """The quantification values and the per-band offsets of ``Product_Image_Characteristics``."""
    tag = "RADIO_ADD_OFFSET" if level == "L1C" else "BOA_ADD_OFFSET"
    bands = range(len(_s2.BANDS))  # band_id is the index in B1 ... B8, B8A, B9 ... B12
    offsets = "".join(f'<{tag} band_id="{i}">{offset}</{tag}>' for i in bands)
    if level == "L1C":
        return (
            '<QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>'
            f"<Radiometric_Offset_List>{offsets}</Radiometric_Offset_List>"
        )
    return (
        "<QUANTIFICATION_VALUES_LIST>"
        '<BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>'
        '<AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>'
        '<WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>'
        f"</QUANTIFICATION_VALUES_LIST><BOA_ADD_OFFSET_VALUES_LIST>{offsets}"
        "</BOA_ADD_OFFSET_VALUES_LIST>"
    )


def product_metadata(product: _s2.Product, images: list[str]) -> bytes:
    """``MTD_MSIL2A.xml`` (``MTD_MSIL1C.xml``): product info, image list, quantification values
    and offsets."""
    level = f"Level-{product.level[1:]}"
    granule = (
        f'<Granule datastripIdentifier="{product.datastrip_id}" granuleIdentifier='
        f'"{product.granule_id}" imageFormat="JPEG2000">'
        + "".join(f"<IMAGE_FILE>{path.removesuffix('.jp2')}</IMAGE_FILE>" for path in images)
        + "</Granule>"
    )
    spectral = "".join(
        f'<Spectral_Information bandId="{i}" physicalBand="B{b.number}"><RESOLUTION>{b.res}'
        f'</RESOLUTION><Wavelength><CENTRAL unit="nm">{b.wavelength * 1000:.1f}</CENTRAL>'
        "</Wavelength></Spectral_Information>"
        for i, b in enumerate(_s2.BANDS)
    )
    info = (
        f"<PRODUCT_START_TIME>{product.datetime}</PRODUCT_START_TIME>"
        f"<PRODUCT_STOP_TIME>{product.datetime}</PRODUCT_STOP_TIME>"
        f"<PRODUCT_URI>{product.product_uri}</PRODUCT_URI>"
        f"<PROCESSING_LEVEL>{level}</PROCESSING_LEVEL>"
        f"<PRODUCT_TYPE>S2MSI{product.level[1:]}</PRODUCT_TYPE>"
        f"<PROCESSING_BASELINE>{product.baseline}</PROCESSING_BASELINE>"
        f"<GENERATION_TIME>{_s2.iso(product.generated)}</GENERATION_TIME>"
        f'<Datatake datatakeIdentifier="{product.datatake_id}"><SPACECRAFT_NAME>Sentinel-'
        f"{product.mission[1:]}</SPACECRAFT_NAME><DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>"
        f"<SENSING_ORBIT_NUMBER>{product.relative_orbit}</SENSING_ORBIT_NUMBER>"
        "<SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION></Datatake>"
        f"<Product_Organisation><Granule_List>{granule}</Granule_List></Product_Organisation>"
    )
    characteristics = (
        "<Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>"
        "<SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>"
        "<Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>"
        "<SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>"
        f"{_radiometry(product.level, round(product.boa_offset * 10000))}"
        f"<Spectral_Information_List>{spectral}</Spectral_Information_List>"
    )
    body = (
        f"  <n1:General_Info><Product_Info>{info}</Product_Info>\n"
        f"  <Product_Image_Characteristics>{characteristics}</Product_Image_Characteristics>"
        "</n1:General_Info>\n  <n1:Quality_Indicators_Info>"
        f"<Cloud_Coverage_Assessment>{product.cloud}</Cloud_Coverage_Assessment>"
        "</n1:Quality_Indicators_Info>\n"
    )
    return _document(f"{level}_User_Product", f"{_PSD}/User_Product_{level}.xsd", body)


def tile_metadata(product: _s2.Product, pixels: dict[int, int]) -> bytes:
    """``MTD_TL.xml``: tile id, CRS, size and geoposition per resolution (``pixels``: pixels per
    side at 10, 20, 60 m), the sun and viewing angle grids and their means."""
    geocoding = f"<HORIZONTAL_CS_CODE>EPSG:{product.epsg}</HORIZONTAL_CS_CODE>"
    geocoding += "".join(
        f'<Size resolution="{res}"><NROWS>{n}</NROWS><NCOLS>{n}</NCOLS></Size>'
        for res, n in pixels.items()
    )
    geocoding += "".join(
        f'<Geoposition resolution="{res}"><ULX>{product.x0:.0f}</ULX><ULY>{product.y0:.0f}'
        f"</ULY><XDIM>{_s2.TILE_M / n:g}</XDIM><YDIM>{-_s2.TILE_M / n:g}</YDIM></Geoposition>"
        for res, n in pixels.items()
    )
    zenith, azimuth = sun_grids(product)
    angles = f"<Sun_Angles_Grid>{_grid('Zenith', zenith)}{_grid('Azimuth', azimuth)}"
    angles += "</Sun_Angles_Grid>" + _mean("Mean_Sun_Angle", "", zenith, azimuth)
    means = []
    for band_id in range(len(_s2.BANDS)):
        grids = [viewing_grids(product, band_id, d) for d in DETECTORS]
        for detector, (z, a) in zip(DETECTORS, grids, strict=True):
            angles += (
                f'<Viewing_Incidence_Angles_Grids bandId="{band_id}" detectorId="{detector}">'
                f"{_grid('Zenith', z)}{_grid('Azimuth', a)}</Viewing_Incidence_Angles_Grids>"
            )
        z_all = np.fmax(*(g[0] for g in grids))
        a_all = np.fmax(*(g[1] for g in grids))
        means.append(_mean("Mean_Viewing_Incidence_Angle", f' bandId="{band_id}"', z_all, a_all))
    angles += f"<Mean_Viewing_Incidence_Angle_List>{''.join(means)}"
    angles += "</Mean_Viewing_Incidence_Angle_List>"
    body = (
        f"  <n1:General_Info><TILE_ID>{product.granule_id}</TILE_ID>"
        f"<DATASTRIP_ID>{product.datastrip_id}</DATASTRIP_ID>"
        f"<SENSING_TIME>{product.datetime}</SENSING_TIME></n1:General_Info>\n"
        f'  <n1:Geometric_Info><Tile_Geocoding metadataLevel="Brief">{geocoding}'
        f'</Tile_Geocoding>\n<Tile_Angles metadataLevel="Standard">{angles}</Tile_Angles>'
        "</n1:Geometric_Info>\n"
    )
    level = f"Level-{product.level[1:]}"
    return _document(f"{level}_Tile_ID", f"{_PSD}/S2_PDI_{level}_Tile_Metadata.xsd", body)


def inspire(product: _s2.Product) -> bytes:
    """``INSPIRE.xml``: the product's ISO 19115 record, its identifier only."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gmd:MD_Metadata xmlns:gmd='
        f'"http://www.isotc211.org/2005/gmd">\n  <gmd:fileIdentifier>{product.product_name}'
        "</gmd:fileIdentifier>\n</gmd:MD_Metadata>\n"
    ).encode()
