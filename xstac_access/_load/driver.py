"""The reader driver :func:`xstac_access.load` hands odc-stac: odc-loader's rasterio driver with
every read inside its source's GDAL settings and credential (see the package's docstring).

A module of its own because it subclasses odc-loader's classes: it is imported only when a
cube is loaded, so the package imports without the ``[load]`` extra.

The driver travels inside every task of the cube's dask graph. Pickled (to dask.distributed
workers), it keeps no per-file state but the broker's handle (its rules and provider ids), the
sources whose redirect was walked, and one credential handle per provider (pickling those
starts the relay of access material to the workers). A worker makes a file's source from the
handle when it first reads the file, as the client made it. When the driver held every file's
source, each task carried all of them: 16 KB a task for 80 files, growing with the square of
the cube (benchmark B9 on a LocalCluster: a graph ten times odc-stac's).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from odc.loader import RioDriver, RioReader

from .._hrefs import safe_href
from ..credentials.broker import Access, BrokerHandle
from ..readers._gdal import BASE_CONFIG, RasterSource, raster_source


class BrokeredRioDriver(RioDriver):
    """odc-loader's rasterio driver with each read inside its source's settings and credential.

    ``sources``: the credentialed source of each file (by href) made when the cube was built;
    ``handle``: the broker's, to make the source of a file not among them (in a worker).
    """

    def __init__(
        self,
        sources: dict[str, RasterSource],
        handle: BrokerHandle,
        relayed: tuple[Access, ...] = (),
    ) -> None:
        super().__init__()
        self.sources = sources
        self.handle = handle
        # one credential per provider and scope: pickled (with the driver, into each task) they
        # start this process's relay of access material to dask.distributed workers
        kinds = {(a.provider_id, a.scope): a for a in relayed}
        for source in sources.values():
            if source.access is not None and source.access.provider_id is not None:
                kinds.setdefault((source.access.provider_id, source.access.scope), source.access)
        self.relayed = tuple(kinds.values())

    def capture_env(self) -> dict[str, Any]:
        """What workers get: the non-secret base settings; credentials travel per read."""
        return dict(BASE_CONFIG)

    def open(self, src: Any, ctx: Any) -> _CredentialedReader:
        source = self.sources.get(src.uri)
        if source is None:
            label = f"asset at {safe_href(src.uri)}"
            source = self.sources[src.uri] = raster_source(SourceHref(src.uri, label), self.handle)
        return _CredentialedReader(src, ctx, source)

    def __reduce__(self) -> tuple[Any, ...]:
        landed = {href: s for href, s in self.sources.items() if s.lands}
        return (BrokeredRioDriver, (landed, self.handle, self.relayed))


class SourceHref:
    """The little of a target that :func:`raster_source` needs."""

    def __init__(self, href: str, label: str) -> None:
        self.href, self.label = href, label


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
