"""RPCs (rational polynomial coefficients) to latitude/longitude for :mod:`xstac_access.eo.geocode`.

Optical images from WorldView, Pléiades, SPOT... are located by RPCs rather than GCPs. The
GeoTIFF reader keeps them as GDAL gives them (its ``RPC`` metadata domain, JSON in the
``rpcs`` attribute of ``spatial_ref``); here GDAL's RPC transformer (rasterio's
:class:`~rasterio.transform.RPCTransformer`) takes image (line, pixel) to WGS 84 longitude and
latitude, at GDAL's default height (``RPC_HEIGHT``, 0 m above the ellipsoid) as rasterio does,
chunk by chunk when dask asks. Nothing is fitted: the RPCs are the sensor's own model, and their
claimed accuracy (``ERR_BIAS``/``ERR_RAND``, metres RMS, when the file gives them) is reported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._geo import wrap
from ..errors import GeocodeError


def own_rpcs(obj: xr.Dataset | xr.DataArray) -> tuple[dict[str, str], str] | None:
    """The RPCs on a coordinate's ``rpcs`` attribute and where they were found, or None."""
    for name, coord in obj.coords.items():
        text = coord.attrs.get("rpcs")
        if text is None:
            continue
        try:
            rpcs = json.loads(text) if isinstance(text, str) else dict(text)
        except (TypeError, ValueError) as exc:
            raise GeocodeError(
                f"the 'rpcs' attribute of coordinate {name!r} is not GDAL's RPC metadata as "
                f"JSON ({exc})"
            ) from None
        return {str(k): str(v) for k, v in rpcs.items()}, f"the 'rpcs' attribute of {name!r}"
    return None


class RpcGeolocation:
    """Latitude and longitude of image positions by GDAL's RPC transformer.

    Called like :class:`~xstac_access.eo.geocode.Geolocation` (positions in GDAL's convention:
    the centre of element ``[i, j]`` is ``(i + 0.5, j + 0.5)``) and picklable: it holds the
    RPCs as strings and opens a transformer per call, so dask workers evaluate it per chunk.
    """

    def __init__(self, rpcs: Mapping[str, str], source: str) -> None:
        from rasterio.rpc import RPC

        try:
            RPC.from_gdal(dict(rpcs))
        except (KeyError, TypeError, ValueError) as exc:
            raise GeocodeError(
                f"the RPCs in {source} are incomplete or unreadable ({exc})"
            ) from None
        self.rpcs = dict(rpcs)
        self.source = source
        claimed = [
            f"{word} {float(self.rpcs[key]):g} m"
            for key, word in (("ERR_BIAS", "bias"), ("ERR_RAND", "random error"))
            if float(self.rpcs.get(key, -1)) >= 0
        ]
        accuracy = f"; the RPCs claim {' and '.join(claimed)} (RMS)" if claimed else ""
        self.description = (
            f"GDAL's RPC transformer (rasterio RPCTransformer) on the RPCs in {source}, at "
            f"height 0 m (GDAL's default RPC_HEIGHT){accuracy}; element [i, j] at "
            "(line i+0.5, pixel j+0.5)"
        )

    def __call__(
        self, line: Any, pixel: Any, *, grid: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(latitude, longitude) at the positions; ``grid=True``: on the outer product of two
        1-D arrays, shaped ``(len(line), len(pixel))``. Longitudes in [-180, 180]."""
        from rasterio.rpc import RPC
        from rasterio.transform import RPCTransformer

        line, pixel = np.asarray(line, float), np.asarray(pixel, float)
        if grid:
            line, pixel = np.meshgrid(line, pixel, indexing="ij")
        else:
            line, pixel = np.broadcast_arrays(line, pixel)
        shape = line.shape
        with RPCTransformer(RPC.from_gdal(self.rpcs)) as transformer:
            lon, lat = transformer.xy(line.ravel(), pixel.ravel(), offset="ul")
        lat = np.reshape(np.asarray(lat, float), shape)
        return lat, wrap(np.reshape(np.asarray(lon, float), shape))
