"""The Sentinel-2 MSI bands as the SAFE metadata numbers them and the EOPF product names them.

``band_id`` 0-12 of ``MTD_MSI*.xml`` and ``MTD_TL.xml`` (``BOA_ADD_OFFSET band_id=``,
``Viewing_Incidence_Angles_Grids bandId=``) counts B1 ... B8, B8A, B9 ... B12; each band has a
native resolution (10, 20 or 60 m) and a common name (the STAC ``eo`` extension's).
"""

from __future__ import annotations

#: EOPF names by ``band_id``.
BAND_IDS = ("b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08", "b8a", "b09", "b10", "b11",
            "b12")  # fmt: skip
#: Native resolution (m) of each band.
NATIVE = {
    "b01": 60, "b02": 10, "b03": 10, "b04": 10, "b05": 20, "b06": 20, "b07": 20, "b08": 10,
    "b8a": 20, "b09": 60, "b10": 60, "b11": 20, "b12": 20,
}  # fmt: skip
COMMON_NAMES = {
    "b01": "coastal", "b02": "blue", "b03": "green", "b04": "red", "b05": "rededge",
    "b06": "rededge", "b07": "rededge", "b08": "nir", "b8a": "nir08", "b09": "nir09",
    "b10": "cirrus", "b11": "swir16", "b12": "swir22",
}  # fmt: skip


def eopf_name(physical: str) -> str:
    """``B1``/``B01``/``B8A`` (as the metadata or a file name writes it) → ``b01``/``b8a``."""
    digits = physical[1:].upper()
    return "b8a" if digits == "8A" else f"b{int(digits):02d}"
