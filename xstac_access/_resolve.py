"""Turn whatever the user passed into one :class:`Target`: the asset to open and what we know of it.

Accepted inputs: a ``pystac.Item``, a ``pystac.Asset`` (with or without its owner), a STAC item
dict, an asset dict, an item JSON URL or path, or a plain asset href. When the caller names no
asset, one is chosen: the catalogue's open hints first (``xarray:open_datatree_kwargs`` when a
tree is wanted, ``xarray:open_dataset_kwargs`` for a dataset), then roles, then media type. When
several assets remain equally good the choice is refused with the list of candidates, because a
silent pick of one band out of twenty would surprise more than an error.

An asset reachable several ways (``alternate`` blocks of the alternate-assets extension, e.g. a
CDSE band on S3 that needs the user's S3 keys, and over HTTPS through OData with the CDSE login)
is read through the href whose credential is configured: :func:`reachable`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from . import errors
from ._hrefs import extension_of, is_remote, path_of, resolve_relative, safe_href, scheme_of
from ._item_collections import is_collection, is_item
from .http import fetch_json

Purpose = Literal["dataset", "datatree"]

HINT_KEYS = (
    "xarray:open_dataset_kwargs",
    "xarray:open_datatree_kwargs",
    "xarray:open_kwargs",
    "xarray:storage_options",
)
#: Roles of assets that accompany the data (previews, metadata) rather than being it.
PREVIEW_ROLES = {"thumbnail", "overview", "metadata", "visual", "tiles", "archive"}
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


@dataclass(frozen=True)
class Target:
    """One asset to open, with everything the catalogue told us about it.

    ``hints`` holds the asset's ``xarray:*`` open hints (keys without the ``xarray:`` prefix),
    ``alternates`` its ``alternate`` block, ``item`` the owning item as a dict (or ``None`` for
    a bare href), ``key`` the asset key (or ``None``), ``via`` the name of the alternate whose
    href replaced the asset's own (:func:`reachable`), if one did.
    """

    href: str
    key: str | None = None
    media_type: str | None = None
    roles: tuple[str, ...] = ()
    title: str | None = None
    asset: Mapping[str, Any] = field(default_factory=_empty, compare=False, repr=False)
    item: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    hints: Mapping[str, Any] = field(default_factory=_empty, compare=False)
    alternates: Mapping[str, Any] = field(default_factory=_empty, compare=False, repr=False)
    via: str | None = None

    @property
    def label(self) -> str:
        """How messages name this target: ``asset 'red' of item 'S2A_…'`` or the safe href."""
        if self.key is None:
            return f"asset at {safe_href(self.href)}"
        item_id = self.item.get("id") if self.item else None
        via = f" (its alternate {self.via!r})" if self.via else ""
        return f"asset {self.key!r}" + (f" of item {item_id!r}" if item_id else "") + via

    @property
    def extension(self) -> str:
        return extension_of(self.href)

    def hint(self, name: str) -> dict[str, Any]:
        """A copy of one open hint (``"open_dataset_kwargs"``…), ``{}`` when absent."""
        value = self.hints.get(name)
        return dict(value) if isinstance(value, Mapping) else {}


def resolve(
    obj: Any, asset: str | None = None, *, purpose: Purpose = "dataset", broker: Any = None
) -> Target:
    """Return the :class:`Target` to open for ``obj`` (see the module docstring for inputs)."""
    item, base, asset_dict, key = _normalise(obj, broker)
    if asset_dict is not None:
        if asset is not None and asset != key:
            raise errors.ResolveError(
                f"asset={asset!r} was given but the input is already a single asset ({key!r}); "
                "pass the item instead to choose among its assets"
            )
        return _target(asset_dict, key, item, base)
    assert item is not None  # _normalise gives an item whenever it gives no asset
    assets = item.get("assets")
    if not isinstance(assets, Mapping) or not any(isinstance(a, Mapping) for a in assets.values()):
        raise errors.ResolveError(f"item {item.get('id')!r} has no assets to open")
    if asset is None:
        key = choose_asset(item, purpose)
    elif asset in assets:
        key = asset
        if not isinstance(assets[key], Mapping):
            raise errors.ResolveError(
                f"asset {key!r} of item {item.get('id')!r} is not a STAC asset object "
                f"(it is a {type(assets[key]).__name__})"
            )
    else:
        raise errors.AssetKeyError(
            f"item {item.get('id')!r} has no asset {asset!r}; its assets are: "
            + ", ".join(sorted(assets))
        )
    return _target(assets[key], key, item, base)


def reachable(target: Target, broker: Any) -> Target:
    """``target``, or the same asset through the first of its ``alternate`` hrefs that
    ``broker`` has a credential for, when it has none for the asset's own href.

    A CDSE user with only the CDSE login (no S3 keys) thus reads a band whose href is
    ``s3://eodata/...`` through its ``alternate.https`` on the OData host. What has a credential
    is what a rule of the broker covers (a preset, the config file, code, ``storage_options``);
    only absolute remote alternates count. Without one anywhere, the asset's own href is kept.
    """
    if not target.alternates or _has_credential(broker, target.href):
        return target
    for name, block in target.alternates.items():
        href = block.get("href") if isinstance(block, Mapping) else None
        if isinstance(href, str) and is_remote(href) and _has_credential(broker, href):
            media_type = _text(block, "type") or target.media_type
            return replace(target, href=href, media_type=media_type, via=str(name))
    return target


def _has_credential(broker: Any, href: str) -> bool:
    try:
        return broker is not None and broker.access(href).provider_id is not None
    except ValueError:  # a malformed href: whatever reads it will say so
        return False


def item_of(obj: Any, *, broker: Any = None) -> Mapping[str, Any] | None:
    """The item dict behind ``obj`` (asset hrefs absolute), or ``None`` when ``obj`` is one asset.

    An item URL is fetched here: callers that go on to :func:`resolve` pass it the returned
    dict, so that one open costs one GET of the item.
    """
    item, _base, asset_dict, _key = _normalise(obj, broker)
    return item if asset_dict is None else None


def choose_asset(item: Mapping[str, Any], purpose: Purpose = "dataset") -> str:
    """The key of the asset to open when the caller named none (see module docstring)."""
    assets = {k: a for k, a in item["assets"].items() if isinstance(a, Mapping)}
    if len(assets) == 1:
        return next(iter(assets))
    scored = {key: _score(a, purpose) for key, a in assets.items()}
    best = max(scored.values())
    top = [key for key, score in scored.items() if score == best]
    if len(top) == 1 and best[1] >= 0:
        return top[0]
    if best[1] < 0:
        top = list(assets)
    raise errors.AmbiguousAssetError(
        f"item {item.get('id')!r} has several assets that could be opened as a {purpose}: "
        + ", ".join(sorted(top))
        + ". Pass asset=<key> to choose one."
    )


def _score(asset: Mapping[str, Any], purpose: Purpose) -> tuple[int, int, int]:
    hint_name = (
        "xarray:open_datatree_kwargs" if purpose == "datatree" else "xarray:open_dataset_kwargs"
    )
    hint = 2 if hint_name in asset else 1 if "xarray:open_kwargs" in asset else 0
    roles = set(_roles(asset))
    if "data" in roles:
        role = 2 + (purpose == "datatree" and "metadata" in roles)
    elif roles and roles <= PREVIEW_ROLES:
        role = -1
    else:
        role = 0
    return (hint, role, _media_rank(_text(asset, "type"), _text(asset, "href") or ""))


def _text(asset: Mapping[str, Any], name: str) -> str | None:
    """A string field of an asset, ``None`` when absent or of another type."""
    value = asset.get(name)
    return value if isinstance(value, str) else None


def _roles(asset: Mapping[str, Any]) -> tuple[str, ...]:
    """The asset's roles that are strings (catalogues in the wild put other things there)."""
    roles = asset.get("roles")
    return tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list | tuple) else ()


def _media_rank(media_type: str | None, href: str) -> int:
    mt = (media_type or "").lower()
    ext = extension_of(href)
    if "zarr" in mt or ext == ".zarr":
        return 3
    if "tiff" in mt or "netcdf" in mt or "hdf" in mt or ext in (".tif", ".tiff", ".nc", ".h5"):
        return 2
    if mt.startswith("image/") or ext in (".jp2", ".png", ".jpg", ".jpeg"):
        return 1
    return 0


def _target(
    asset: Mapping[str, Any], key: str | None, item: Mapping[str, Any] | None, base: str | None
) -> Target:
    href = asset.get("href")
    if not isinstance(href, str) or not href:
        raise errors.ResolveError(f"asset {key!r} has no href")
    hints = {name.split(":", 1)[1]: asset[name] for name in HINT_KEYS if name in asset}
    alternates = asset.get("alternate")
    return Target(
        href=resolve_relative(href, base),
        key=key,
        media_type=_text(asset, "type"),
        roles=_roles(asset),
        title=_text(asset, "title"),
        asset=MappingProxyType(dict(asset)),
        item=MappingProxyType(dict(item)) if item is not None else None,
        hints=MappingProxyType(hints),
        alternates=MappingProxyType(dict(alternates))
        if isinstance(alternates, Mapping)
        else _EMPTY,
    )


#: ``(item_dict, base_href, asset_dict, asset_key)``: an item, an asset, or both.
_Normalised = tuple[Mapping[str, Any] | None, str | None, Mapping[str, Any] | None, str | None]


def _normalise(obj: Any, broker: Any = None) -> _Normalised:
    """Return ``(item_dict, base_href, asset_dict, asset_key)`` for any accepted input."""
    import pystac

    if isinstance(obj, pystac.Item):
        return _pystac_item(obj), obj.get_self_href(), None, None
    if isinstance(obj, pystac.Asset):
        owner = obj.owner if isinstance(obj.owner, pystac.Item) else None
        key = next((k for k, a in owner.assets.items() if a is obj), None) if owner else None
        asset = obj.to_dict()
        asset["href"] = _pystac_href(obj, owner)
        item = _pystac_item(owner) if owner is not None else None
        return item, None, asset, key
    if isinstance(obj, pystac.Collection | pystac.Catalog):
        raise _many_items(obj)
    if is_collection(obj):
        raise _many_items(obj)
    if isinstance(obj, Mapping):
        return _from_mapping(obj, base=None)
    if isinstance(obj, str | os.PathLike):
        href = os.fspath(obj)
        if _looks_like_item_location(href):
            if broker is None:
                from .credentials import get_broker

                broker = get_broker()
            doc = fetch_json(href, broker=broker, what="item JSON")
            if not isinstance(doc, Mapping):
                raise errors.NotStacError(f"{safe_href(href)} holds JSON but not a STAC item")
            return _from_mapping(doc, base=_self_href(doc) or href)
        return None, None, {"href": href}, None
    raise errors.ResolveError(
        f"cannot open a {type(obj).__name__}: pass a pystac Item or Asset, a STAC item dict, "
        "an item URL or path, or an asset href"
    )


def _pystac_item(item: Any) -> dict[str, Any]:
    data = item.to_dict(include_self_link=True, transform_hrefs=False)
    for key, asset in item.assets.items():
        data["assets"][key]["href"] = _pystac_href(asset, item)
    return data


def _pystac_href(asset: Any, owner: Any) -> str:
    """The asset's href made absolute against its owner's self href, by our rule rather than
    pystac's: pystac joins a local absolute path (``/data/x.tif``, written by a download tool)
    to a remote self link's host."""
    base = owner.get_self_href() if owner is not None else None
    return resolve_relative(asset.href, base) if base else asset.get_absolute_href() or asset.href


def _from_mapping(doc: Mapping[str, Any], base: str | None) -> _Normalised:
    kind = doc.get("type")
    if is_item(doc):
        base = base or _self_href(doc)
        return _absolute(doc, base), base, None, None
    if is_collection(doc):
        raise _many_items(doc)
    if "href" in doc and kind != "Feature" and "stac_version" not in doc:
        return None, base, doc, None
    what = f"type {kind!r}" if kind else "no 'type'"
    raise errors.NotStacError(
        f"not a STAC item: the JSON has {what} and "
        + ("an 'assets' mapping" if isinstance(doc.get("assets"), Mapping) else "no 'assets'")
        + ". Pass a STAC Item (type 'Feature' with 'assets') or an asset href."
    )


def _absolute(item: Mapping[str, Any], base: str | None) -> Mapping[str, Any]:
    """``item`` with its assets' relative hrefs made absolute against ``base``, so that it stands
    alone wherever it travels (an item tree, the data's ``stac_item`` attribute). A copy when
    something changes; ``item`` itself otherwise."""
    assets = {
        key: {**asset, "href": resolve_relative(asset["href"], base)}
        if isinstance(asset, Mapping) and isinstance(asset.get("href"), str)
        else asset
        for key, asset in item["assets"].items()
    }
    return {**item, "assets": assets} if assets != item["assets"] else item


def _many_items(obj: Any) -> errors.ResolveError:
    kind = "FeatureCollection" if isinstance(obj, Mapping) else type(obj).__name__
    return errors.ResolveError(
        f"this {kind} holds many items: open one of its items, or load them into one cube with "
        "xstac_access.load"
    )


def _self_href(doc: Mapping[str, Any]) -> str | None:
    links = doc.get("links")
    for link in links if isinstance(links, list | tuple) else ():
        if (
            isinstance(link, Mapping)
            and link.get("rel") == "self"
            and isinstance(link.get("href"), str)
        ):
            return link["href"]
    return None


#: A STAC API item endpoint: ``.../collections/<id>/items/<id>``. Item ids often look like
#: file names (``HLS.S30.T13TDE.2023281T174239.v2.0``, ``S2B_MSIL2A_....SAFE``), so the
#: endpoint's shape decides, not an extension.
_ITEM_ENDPOINT = re.compile(r"/collections/[^/]+/items/[^/]+/?$")


def _looks_like_item_location(href: str) -> bool:
    ext = extension_of(href)
    if ext in (".json", ".geojson"):
        return True
    if scheme_of(href) not in ("http", "https"):
        return False
    return bool(_ITEM_ENDPOINT.search(path_of(href))) or ("/items/" in href and ext == "")
