"""The reader driver :func:`xstac_access.load` hands odc-stac: odc-loader's rasterio driver with
every read inside its source's GDAL settings and credential (see the package's docstring).

A module of its own because it subclasses odc-loader's classes: it is imported only when a
cube is loaded, so the package imports without the ``[load]`` extra.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from odc.loader import RioDriver, RioReader

from .._hrefs import safe_href
from ..credentials.broker import Access
from ..readers._gdal import BASE_CONFIG, RasterSource


class BrokeredRioDriver(RioDriver):
    """odc-loader's rasterio driver with each read inside its source's settings and credential."""

    def __init__(self, sources: dict[str, RasterSource]) -> None:
        super().__init__()
        self.sources = sources

    def capture_env(self) -> dict[str, Any]:
        """What workers get: the non-secret base settings; credentials travel per read."""
        return dict(BASE_CONFIG)

    def open(self, src: Any, ctx: Any) -> _CredentialedReader:
        source = self.sources.get(src.uri) or RasterSource(
            src.uri, f"asset at {safe_href(src.uri)}", None, Access(src.uri, None)
        )
        return _CredentialedReader(src, ctx, source)


class _CredentialedReader(RioReader):
    """One source's reads: odc's rasterio read, run by :meth:`RasterSource.call` (a RioReader,
    as the driver's ``open`` promises)."""

    def __init__(self, src: Any, ctx: Any, source: RasterSource) -> None:
        super().__init__(src, ctx)
        self._source = source

    def read(self, cfg: Any, dst_geobox: Any, *, dst: Any = None, selection: Any = None) -> Any:
        def work(material: Any) -> Any:
            src = dataclasses.replace(self._src, uri=self._source.path(material))
            return RioReader(src, self._ctx).read(cfg, dst_geobox, dst=dst, selection=selection)

        return self._source.call(work)
