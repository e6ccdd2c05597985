"""STAC items of the EOPF Sentinel Zarr Sample Service, generated for the replica's products.

Two S2 L2A layouts, as the service published them:

- ``current`` (EOPF CPM 2.6, eo v2 band fields): ``product`` (the whole store, ``xarray:
  open_datatree_kwargs``), ``SR_10m/20m/60m`` (reflectance groups, ``xarray:open_dataset_
  kwargs``), one asset per band at its finest resolution (``B01_20m`` ... ``B8A_20m``, with
  ``raster:scale``/``offset``), ``AOT_10m``, ``WVP_10m``, ``SCL_20m``, ``TCI_10m``,
  ``product_metadata`` (``.zmetadata``) and ``zipped_product``; media types mix the registered
  ``application/vnd.zarr`` with the service's older ``application/vnd+zarr``;
- ``cpm_v256`` (eo v1 band fields): the same assets but no zip, every zarr asset ``application/
  vnd+zarr``, and band/quality assets carrying ``proj:*`` and an ``alternate: {"xarray": ...}``
  block that opens their group (bands with ``op_mode: "analysis"``).

Swath items (S1 OCN, S3 OLCI LFR): ``product``, one measurements group and ``product_metadata``,
with properties taken from the product's embedded ``stac_discovery``. Navigation links (self,
root, parent, collection) are the STAC API's; items carry ``cite-as`` and ``license`` links.
"""

from __future__ import annotations

from typing import Any

from xstac_access.testing.replica import _eopf_s2, _stac

_NATIVE = {"chunks": {}, "engine": "eopf-zarr", "op_mode": "native"}
_EXT = "https://stac-extensions.github.io/{}/schema.json"
_EXTENSIONS = {
    "current": [
        *(_EXT.format(e) for e in ("timestamps/v1.1.0", "eo/v2.0.0", "sat/v1.0.0",
                                   "projection/v2.0.0", "mgrs/v1.0.0", "grid/v1.1.0",
                                   "view/v1.0.0", "processing/v1.2.0", "product/v0.1.0",
                                   "scientific/v1.0.0")),
        "https://cs-si.github.io/eopf-stac-extension/v1.2.0/schema.json",
        _EXT.format("version/v1.2.0"), _EXT.format("raster/v2.0.0"),
    ],
    "cpm_v256": [
        *(_EXT.format(e) for e in ("timestamps/v1.1.0", "eo/v1.1.0", "sat/v1.0.0",
                                   "projection/v2.0.0", "mgrs/v1.0.0", "grid/v1.1.0",
                                   "view/v1.0.0", "processing/v1.2.0", "product/v0.1.0",
                                   "scientific/v1.0.0")),
        "https://cs-si.github.io/eopf-stac-extension/v1.2.0/schema.json",
        _EXT.format("raster/v1.1.0"),
    ],
}
_DOI = "10.5270/S2_-znk9xsj"
_LINKS = [
    {"rel": "cite-as", "href": f"https://doi.org/{_DOI}"},
    {**_stac.SENTINEL_LICENSE_LINK, "type": "application/pdf",
     "title": "Legal notice on the use of Copernicus Sentinel Data and Service Information"},
]
#: asset key -> (group, array, gsd, title, description, data type, scale)
_AUXILIARY = {
    "AOT_10m": ("quality/atmosphere/r10m", "aot", 10, "Aerosol optical thickness (AOT)",
                "Aerosol optical thickness at 550 nm", "uint16", 0.001),
    "WVP_10m": ("quality/atmosphere/r10m", "wvp", 10, "Water vapour (WVP)",
                "Water vapour content", "uint16", 0.001),
    "SCL_20m": ("conditions/mask/l2a_classification/r20m", "scl", 20,
                "Scene classification map (SCL)", "scene classification map", "uint8", 1),
}


def _band(band: _eopf_s2.Band, layout: str) -> dict[str, Any]:
    """A band of ``bands`` (eo v2 prefixed fields now, eo v1 ones in cpm v2.5.6 items)."""
    prefix = "eo:" if layout == "current" else ""
    return {
        "name": "B" + band.name[1:].upper(),
        "description": band.title,
        f"{prefix}common_name": band.common_name,
        f"{prefix}center_wavelength": round(band.center_nm / 1000, 3),
        f"{prefix}full_width_half_max": band.fwhm_um,
    }


def _zarr_type(layout: str, registered: bool) -> str:
    return "application/vnd.zarr" if layout == "current" and registered else "application/vnd+zarr"


def _proj(meta: dict[str, Any], array: str) -> dict[str, Any]:
    """proj:* of an asset, from its array's attributes in the product."""
    attrs = meta[f"{array}/.zattrs"]
    return {
        "proj:bbox": attrs["proj:bbox"],
        "proj:code": f"EPSG:{attrs['proj:epsg']}",
        "proj:shape": attrs["proj:shape"],
        "proj:transform": attrs["proj:transform"],
    }


def _alternate(root: str, group: str, **kwargs: Any) -> dict[str, Any]:
    return {"alternate": {"xarray": {"href": f"{root}/{group}",
                                     "xarray:open_dataset_kwargs": {**_NATIVE, **kwargs}}}}


def _finest(band: str) -> int | None:
    return next((res for res, names in _eopf_s2.REFLECTANCE.items() if band in names), None)


def _s2_assets(root: str, meta: dict[str, Any], layout: str) -> dict[str, Any]:
    old = layout == "cpm_v256"
    assets: dict[str, Any] = {}
    for res, names in _eopf_s2.REFLECTANCE.items():
        assets[f"SR_{res}m"] = {
            "gsd": res, "href": f"{root}/measurements/reflectance/r{res}m",
            "type": _zarr_type(layout, True),
            "bands": [_band(_eopf_s2.BY_NAME[n], layout) for n in names],
            "roles": ["data", "reflectance", "dataset"], "title": f"Surface Reflectance - {res}m",
            "xarray:open_dataset_kwargs": dict(_NATIVE),
        }
    for band in _eopf_s2.BANDS:
        finest = _finest(band.name)
        if finest is None:  # B10 (cirrus) has no L2A reflectance
            continue
        res, group, array = finest, f"measurements/reflectance/r{finest}m", band.name
        entry = _band(band, layout)
        assets[f"{entry['name']}_{res}m"] = {
            "gsd": res, "href": f"{root}/{group}/{array}", "type": _zarr_type(layout, True),
            "bands": [entry], "roles": ["data", "reflectance"], "title": f"{band.title} - {res}m",
            "nodata": 0, "data_type": "uint16",
            "description": meta[f"{group}/{array}/.zattrs"]["long_name"],
            "raster:scale": 0.0001, "raster:offset": -0.1,
            **(_alternate(root, group, bands=[entry["name"]], op_mode="analysis",
                          spatial_res=res) | _proj(meta, f"{group}/{array}") if old else {}),
        }
    for key, (group, array, res, title, text, dtype, scale) in _AUXILIARY.items():
        extra = (_alternate(root, group) | _proj(meta, f"{group}/{array}") if old else
                 {"nodata": 0, "data_type": dtype, "description": text, "raster:scale": scale,
                  "raster:offset": 0})
        assets[key] = {"gsd": res, "href": f"{root}/{group}/{array}",
                       "type": _zarr_type(layout, False), "roles": ["data"], "title": title,
                       **extra}
    tci = "quality/l2a_quicklook/r10m"
    assets["TCI_10m"] = {
        "gsd": 10, "href": f"{root}/{tci}/tci", "type": _zarr_type(layout, True),
        "bands": [_band(_eopf_s2.BY_NAME[n], layout) for n in ("b04", "b03", "b02")],
        "roles": ["data"], "title": "True color image",
        **(_alternate(root, tci) | _proj(meta, f"{tci}/tci") if old else {}),
    }
    return assets


def _product_assets(root: str, media_type: str) -> dict[str, Any]:
    return {
        "product": {
            "href": root, "type": media_type, "roles": ["data", "metadata"],
            "title": "EOPF Product", "description": "The full Zarr store of the EOPF product",
            "xarray:open_datatree_kwargs": dict(_NATIVE),
        },
        "product_metadata": {
            "href": f"{root}/.zmetadata", "type": "application/json", "roles": ["metadata"],
            "title": "Consolidated Metadata",
            "description": "Consolidated metadata of the EOPF product",
        },
    }


def _s2_properties(layout: str) -> dict[str, Any]:
    geometry = _eopf_s2.footprint()
    west, south, east, north = _stac.bbox_of(geometry)
    start = _eopf_s2.START.replace("+00:00", "Z")
    created = _eopf_s2.CREATED.replace("+00:00", "Z")
    props = {
        "gsd": 10.0, "created": created, "updated": created, "published": created,
        "datetime": start, "start_datetime": start, "end_datetime": start,
        "mission": "Sentinel-2", "constellation": "sentinel-2", "platform": "sentinel-2a",
        "instruments": ["msi"], "sci:doi": _DOI, "grid:code": "MGRS-34UCE",
        "mgrs:utm_zone": 34, "mgrs:latitude_band": "U", "mgrs:grid_square": "CE",
        "proj:code": f"EPSG:{_eopf_s2.EPSG}", "proj:bbox": [west, south, east, north],
        "proj:centroid": {"lat": round((south + north) / 2, 4),
                          "lon": round((west + east) / 2, 4)},
        "providers": [
            {"url": "https://commission.europa.eu/", "name": "European Commission",
             "roles": ["licensor"]},
            {"url": "https://sentinel.esa.int/web/sentinel/missions/sentinel-2", "name": "ESA",
             "roles": ["producer", "processor"]},
            {"url": "https://zarr.eopf.copernicus.eu/",
             "name": "EOPF Sentinel Zarr Samples Service", "roles": ["host", "processor"]},
        ],
        "eo:cloud_cover": _eopf_s2.CLOUD, "eo:snow_cover": 0.0,
        "eopf:datatake_id": "GS2A_20250109T100401_049883_N05.11",
        "eopf:instrument_mode": "INS-NOBS", "product:type": "S02MSIL2A",
        "product:timeliness": "PT3H", "product:timeliness_category": "NRT",
        "processing:level": "L2A", "processing:facility": "ESA",
        "processing:lineage": "systematic", "processing:software": {"EOPF-CPM": "2.6.2"},
        "sat:orbit_state": "descending", "sat:absolute_orbit": 49883, "sat:relative_orbit": 122,
        "sat:platform_international_designator": "2015-028A",
        "view:sun_azimuth": 165.0, "view:sun_elevation": 14.0,
    }
    if layout == "current":
        props.update({
            "deprecated": False, "processing:version": "05.11",
            "eopf:datastrip_id": "S2A_OPER_MSI_L2A_DS_2APS_20250109T122750_S20250109T100401_N05.11",
        })
    else:
        props.update({"mission": "copernicus", "processing:lineage": "IPF L2A processor",
                      "processing:software": {"Sentinel-2 IPF": "05.11"}})
    return props


def s2_item(
    root: str, collection: str, meta: dict[str, Any], zipped: str | None
) -> dict[str, Any]:
    """The S2 L2A item of the product at ``root`` (``meta``: its consolidated metadata): the
    current layout with a ``zipped_product`` at ``zipped``, or the cpm v2.5.6 one without."""
    layout = "current" if zipped else "cpm_v256"
    assets = _s2_assets(root, meta, layout)
    assets.update(_product_assets(root, _zarr_type(layout, True)))
    if zipped:
        assets["zipped_product"] = {
            "href": zipped, "type": "application/zip", "roles": ["data", "metadata", "archive"],
            "title": "Zipped EOPF Product",
            "description": "The full EOPF Zarr store as zip archive",
        }
    return _stac.item(
        _eopf_s2.NAME, collection, _eopf_s2.footprint(), _s2_properties(layout), assets,
        extensions=list(_EXTENSIONS[layout]), links=[dict(link) for link in _LINKS],
    )


def _swath_properties(discovery: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in discovery["properties"].items() if k != "datetime"}
    props["datetime"] = props["start_datetime"]
    props.update(
        mission=props.get("mission", props.get("constellation")),
        updated=props["created"],
        published=props["created"],
    )
    return props


def swath_item(
    name: str,
    collection: str,
    meta: dict[str, Any],
    root: str,
    groups: dict[str, tuple[str, str]],
    s3: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """An item like the real EOPF S3 OLCI ones: ``product`` tree asset, one dataset asset per
    ``groups`` entry (key -> (group path, title)) and ``product_metadata``. With ``s3`` (href,
    endpoint) the ``product`` asset points at ``s3://`` with ``xarray:storage_options``."""
    discovery = meta[".zattrs"]["stac_discovery"]
    assets = _product_assets(root, "application/vnd+zarr")
    if s3:
        assets["product"]["href"] = s3[0]
        assets["product"]["xarray:storage_options"] = {"anon": True, "endpoint_url": s3[1]}
    for key, (group, title) in groups.items():
        assets[key] = {"href": f"{root}/{group}", "type": "application/vnd+zarr",
                       "roles": ["data", "dataset"], "title": title,
                       "xarray:open_dataset_kwargs": dict(_NATIVE)}
    return _stac.item(
        name, collection, discovery["geometry"], _swath_properties(discovery), assets,
        extensions=[_EXT.format(e) for e in ("product/v0.1.0", "sat/v1.0.0", "processing/v1.2.0")],
    )
