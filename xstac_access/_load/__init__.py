"""Many items into one cube: odc-stac's loader, reading through the broker's credentials.

odc-stac plans the cube (common grid, groupby, overviews for coarse resolutions, dask chunks);
its reads go through a reader driver of ours: each source href becomes a
:class:`~xstac_access.readers._gdal.RasterSource` (resolved once in the calling process:
redirects to trusted download hosts and logins are walked there), and every read runs inside
that source's GDAL settings and credential, refreshed once on a 401/403. The driver pickles
with :class:`~xstac_access.credentials.broker.Access` handles only, so dask workers get no
secret in the graph: they fetch current material through the relay like every other reader.
Nothing process-wide is configured: no ``configure_rio`` with a token in it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import xarray as xr

from .. import errors
from .._extras import needs
from .._item_collections import members
from .._keywords import refuse_unknown
from ..credentials import broker_from, get_broker
from ..credentials.broker import Broker, BrokerHandle
from ..readers._gdal import RasterSource, off_main_thread, raster_source


def load(
    items: Any,
    bands: str | Sequence[str] | None = None,
    *,
    resolution: float | None = None,
    crs: str | None = None,
    bbox: Sequence[float] | None = None,
    chunks: dict[str, int | str] | None = None,
    groupby: str | None = "time",
    credentials: Any = None,
    **odc_kwargs: Any,
) -> xr.Dataset:
    """Load ``items`` (Items, item dicts, an ItemCollection or a search result) into one cube.

    ``bands`` are asset keys (or ``eo:bands`` common names odc-stac knows); ``resolution`` and
    ``crs`` define the output grid (default: the items' own), ``bbox`` is in EPSG:4326
    (west, south, east, north); ``chunks`` gives a lazy dask-backed cube (``{}`` for odc-stac's
    default). Coarse resolutions read COG overviews instead of full-resolution tiles. Other
    keywords go to ``odc.stac.load`` (``groupby``, ``resampling``, ``geobox``, ``like``...);
    one it does not take is a TypeError (odc-stac itself would ignore it).
    """
    with needs("load", "xstac_access.load()"):
        import odc.stac

        from .driver import BrokeredRioDriver
    refuse_unknown("load", odc_kwargs, load_keywords())
    broker = broker_from(credentials) if credentials is not None else get_broker()
    stac_items = _pystac_items(items)
    if not stac_items:
        raise errors.ResolveError("load() got no items: pass Items, item dicts or a search result")
    wanted = [bands] if isinstance(bands, str) else list(bands or [])
    driver = BrokeredRioDriver(_sources(stac_items, wanted, broker), BrokerHandle(broker))
    given: dict[str, Any] = {"resolution": resolution, "crs": crs, "chunks": chunks}
    given["bbox"] = bbox and tuple(bbox)

    def run() -> xr.Dataset:
        return odc.stac.load(
            stac_items,
            bands=wanted or None,
            groupby=groupby,
            driver=driver,
            **{k: v for k, v in given.items() if v is not None},
            **odc_kwargs,
        )

    # without chunks odc-stac reads here and now: from the main thread, every read would move to
    # a helper thread on its own (GDAL options are process-wide there); the whole load moves once
    return run() if chunks is not None else off_main_thread(run)


#: What odc.stac.load reads from its ``**kw``, beside its named parameters: the names of
#: datacube's load it also answers to, and options it documents nowhere else.
_ODC_KW = ("measurements", "output_crs", "use_overviews", "nodata", "align", "debug")


def load_keywords() -> tuple[str, ...]:
    """Every keyword :func:`load` takes: its own, then those it passes on to ``odc.stac.load``
    (not ``driver``: the one reading through the broker is ours)."""

    def named(function: Any) -> list[str]:
        params = inspect.signature(function).parameters.values()
        return [p.name for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD][1:]

    import odc.stac

    own = named(load)  # [1:]: not the items
    return (*own, *(n for n in named(odc.stac.load) if n not in {*own, "driver"}), *_ODC_KW)


def _pystac_items(items: Any) -> list[Any]:
    """``items`` (one item, or many: see :mod:`xstac_access._item_collections`) as pystac Items."""
    import pystac

    found = members(items)
    out = []
    for item in [items] if found is None else found:
        if isinstance(item, Mapping):
            item = pystac.Item.from_dict(dict(item), preserve_dict=False)
        if not isinstance(item, pystac.Item):
            raise errors.ResolveError(
                f"load() takes STAC Items or item dicts, not {type(item).__name__}"
            )
        out.append(item)
    return out


def _sources(items: Iterable[Any], bands: list[str], broker: Broker) -> dict[str, RasterSource]:
    """One credentialed source per asset href the load may read (keyed by the href)."""
    from .driver import SourceHref

    sources: dict[str, RasterSource] = {}
    for item in items:
        for key, asset in item.assets.items():
            if bands and key not in bands and not _common_name_in(asset, bands):
                continue
            if asset.href not in sources and _is_raster(asset):
                label = f"asset {key!r} of item {item.id!r}"
                sources[asset.href] = raster_source(SourceHref(asset.href, label), broker)
    return sources


def _common_name_in(asset: Any, bands: list[str]) -> bool:
    names = {
        b.get(k)
        for b in asset.extra_fields.get("eo:bands", []) + asset.extra_fields.get("bands", [])
        for k in ("name", "common_name")
    }
    return bool(names & set(bands))


def _is_raster(asset: Any) -> bool:
    media = (asset.media_type or "").lower()
    return "tiff" in media or "jp2" in media or not media
