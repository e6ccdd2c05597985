"""Members of a (remote) zip archive, read by byte range: a SAFE product without downloading it.

A zip ends with its table of contents: the End Of Central Directory record (EOCD, zip64 too)
points at the central directory, which gives every member's name, sizes, compression method and
the offset of its local header. So listing costs one ranged read of the archive's last 64 KiB
(which holds the whole directory of a typical SAFE) and reading an XML member one more ranged
read of its local header and data. The tail's request follows the href's redirects (CDSE's
OData ``$value`` redirects to a download host that wants the same bearer token), and every later
read goes straight where it landed. A server that ignores Range sends the whole archive to that
first request: a small one (:func:`~xstac_access.http.ranged.no_range_limit`) is kept, and members,
images included, are read from memory, one transfer per archive; a larger one is a
:class:`~xstac_access.errors.RangeNotSupportedError` saying to download it.

Image members, and any other member that is not XML, go to GDAL (an SRTM ``.hgt``, an ENVI
file...: any raster GDAL reads; what it cannot read is then read as XML or refused). A stored
image member (JPEG 2000 in a SAFE is never deflated) is a plain
byte range of the archive: GDAL gets ``/vsisubfile/<offset>_<size>,/vsicurl/<landed href>`` and
reads only the parts of the member it needs, lazily, with the credential of
:mod:`._gdal`; GDAL does not re-read the central directory, which we already have. A deflated
member, or one whose format GDAL knows by its file name, goes through ``/vsizip/``, which
inflates it as GDAL reads (and reads the central directory again).

``member=`` takes an exact name, a glob (``"*/MTD_MSIL2A.xml"``), a trailing path
(``"MTD_MSIL2A.xml"``), or ``"manifest:<pattern>"``: the dataObject of the SAFE's
``manifest.safe`` whose ID or fileLocation matches (``"manifest:TCI_60m"``).
"""

from __future__ import annotations

import difflib
import posixpath
from dataclasses import replace
from fnmatch import fnmatchcase
from typing import Any

import numpy as np
import xarray as xr

from .. import errors
from .._resolve import Target
from ..credentials.broker import Broker
from . import geotiff
from ._groups import of_tree
from ._xmlmeta import flatten_xml, local_name, parse_xml
from ._zipfile import Archive, ZipMember, corrupt, locate, read_member
from ._zipmember import IMAGE_EXTENSIONS, member_source

XML_EXTENSIONS = (".xml", ".safe", ".xsd", ".kml", ".gml")
#: Members larger than this are not read into memory (images go to GDAL instead).
MAX_IN_MEMORY = 256 * 1024 * 1024

__all__ = [
    "ZipMember", "list_members", "open_dataset", "open_groups", "open_member", "safe_member",
]  # fmt: skip

# -- the module-level API ----------------------------------------------------------------------


def list_members(href: str, broker: Broker) -> list[ZipMember]:
    """The files of the zip at ``href`` (EOCD and central directory only, by ranged reads)."""
    return locate(Target(href=href), broker)[1]


def open_member(href: str, broker: Broker, member: str | ZipMember) -> bytes:
    """The uncompressed bytes of one member (a name, glob or :class:`ZipMember`)."""
    archive, members = locate(Target(href=href), broker)
    chosen = member if isinstance(member, ZipMember) else find_member(archive, members, member)
    return read_member(archive, chosen)


def safe_member(href: str, broker: Broker, pattern: str = "*TCI_60m*") -> str:
    """The member name of the ``manifest.safe`` dataObject matching ``pattern`` (ID or href)."""
    archive, members = locate(Target(href=href), broker)
    return manifest_member(archive, members, pattern).name


# -- the reader --------------------------------------------------------------------------------


def open_dataset(
    target: Target, *, broker: Broker, member: str | None = None, **options: Any
) -> xr.Dataset:
    """The member list (no ``member``), an XML member's metadata, or an image member's bands."""
    archive, members = locate(target, broker)
    if member is None:
        return _listing(members)
    if member.startswith("manifest:"):
        chosen = manifest_member(archive, members, member.removeprefix("manifest:"))
    else:
        chosen = find_member(archive, members, member)
    lower = chosen.name.lower()
    if lower.endswith(IMAGE_EXTENSIONS):
        return _image(target, archive, chosen, broker, options)
    if not lower.endswith(XML_EXTENSIONS):
        try:  # any other raster GDAL reads (SRTM .hgt, ENVI, netCDF...), by name and bytes
            return _image(target, archive, chosen, broker, options)
        except errors.FormatError:
            pass  # not a raster: XML without the extension, or a file to read as bytes
    if chosen.size > MAX_IN_MEMORY:
        raise errors.UnsupportedFormatError(
            f"member {chosen.name!r} of {archive.where()} is {chosen.size} bytes and not a "
            "raster GDAL reads; read it with xstac_access.readers.zip.open_member"
        )
    data = read_member(archive, chosen)
    head = data[:1024].lstrip()
    if lower.endswith(XML_EXTENSIONS) or head.startswith(b"<"):
        return _xml(archive, chosen, data)
    raise errors.UnsupportedFormatError(
        f"member {chosen.name!r} of {archive.where()} is neither XML nor a raster GDAL reads "
        f"(first bytes {data[:8]!r}); read its bytes with xstac_access.readers.zip.open_member"
    )


def open_groups(target: Target, *, broker: Broker, **options: Any) -> dict[str, xr.Dataset]:
    """A SAFE product's groups (:mod:`.safe`) when the zip holds one, else :func:`open_dataset`'s
    Dataset alone (the member list, or the ``member=`` asked) at "/"."""
    from . import safe

    archive, members = locate(target, broker)
    if options.get("member") is None and safe.product_folder([m.name for m in members]):
        return of_tree(safe.zip_tree(target, archive, members, **safe.tree_options(options)))
    return {"/": open_dataset(target, broker=broker, **options)}


def _listing(members: list[ZipMember]) -> xr.Dataset:
    names = [m.name for m in members]
    attrs = {
        "zip_members": len(members),
        "description": "files of the zip archive; open one with member=<name, glob or "
        "'manifest:<pattern>'>",
    }
    return xr.Dataset(
        {
            "size": ("member", np.array([m.size for m in members], dtype="int64")),
            "compressed_size": (
                "member",
                np.array([m.compressed_size for m in members], dtype="int64"),
            ),
            "method": ("member", np.array([m.method_name for m in members], dtype=object)),
            "offset": ("member", np.array([m.offset for m in members], dtype="int64")),
        },
        coords={"member": ("member", np.array(names, dtype=object))},
        attrs=attrs,
    )


def _xml(archive: Archive, member: ZipMember, data: bytes) -> xr.Dataset:
    root = parse_xml(data, f"member {member.name!r} of {archive.where()}")
    attrs = {"zip_member": member.name, **flatten_xml(root)}
    text = data.decode("utf-8", errors="replace")
    return xr.Dataset({"xml": ((), np.array(text, dtype=object))}, attrs=attrs)


def _image(
    target: Target, archive: Archive, member: ZipMember, broker: Broker, options: dict[str, Any]
) -> xr.Dataset:
    source = member_source(target, archive, member, options.get("overview_level"))
    member_target = replace(target, title=member.name)
    options = {k: v for k, v in options.items() if k != "overview_level"}
    ds = geotiff.open_dataset(member_target, broker=broker, source=source, **options)
    ds.attrs["zip_member"] = member.name
    return ds


# -- choosing a member -------------------------------------------------------------------------


def find_member(archive: Archive, members: list[ZipMember], pattern: str) -> ZipMember:
    """The one member named ``pattern``: exact name, glob, or trailing path components."""
    for member in members:
        if member.name == pattern:
            return member
    if any(c in pattern for c in "*?["):
        hits = [m for m in members if fnmatchcase(m.name, pattern)]
    else:
        hits = [m for m in members if m.name.endswith("/" + pattern.lstrip("/"))]
    return _one(archive, [m.name for m in members], hits, f"member={pattern!r}")


def _one(archive: Archive, names: list[str], hits: list[ZipMember], asked: str) -> ZipMember:
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise errors.AmbiguousAssetError(
            f"{asked} matches {len(hits)} members of {archive.where()}: "
            + ", ".join(m.name for m in hits[:10])
            + (" ..." if len(hits) > 10 else "")
            + ". Give a longer name or a narrower glob."
        )
    bare = asked.split("=", 1)[1].strip("'\"*").rsplit("/", 1)[-1]
    by_base = {posixpath.basename(n): n for n in names}
    close = [by_base[b] for b in difflib.get_close_matches(bare, list(by_base), n=5, cutoff=0.5)]
    shown = close or names[:10]
    raise errors.AssetKeyError(
        f"{asked} matches no member of {archive.where()} ({len(names)} members). "
        + ("Close names: " if close else "Some members: ")
        + ", ".join(shown)
    )


def manifest_member(archive: Archive, members: list[ZipMember], pattern: str) -> ZipMember:
    """The member of the ``manifest.safe`` dataObject whose ID or fileLocation matches."""
    manifests = [m for m in members if m.name.endswith("manifest.safe")]
    if not manifests:
        raise errors.AssetKeyError(f"{archive.where()} holds no manifest.safe (not a SAFE product)")
    manifest = min(manifests, key=lambda m: len(m.name))
    root = parse_xml(read_member(archive, manifest), f"manifest.safe of {archive.where()}")
    glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    base = posixpath.dirname(manifest.name)
    objects = []
    for element in root.iter():
        if not isinstance(element.tag, str) or local_name(element.tag) != "dataObject":
            continue
        locations = (e for e in element.iter() if local_name(e.tag) == "fileLocation")
        location = next((e.get("href") for e in locations), None)
        if location and (fnmatchcase(element.get("ID", ""), glob) or fnmatchcase(location, glob)):
            objects.append(posixpath.normpath(posixpath.join(base, location)))
    by_name = {m.name: m for m in members}
    hits = [by_name[name] for name in dict.fromkeys(objects) if name in by_name]
    if len(objects) == 1 and not hits:
        raise corrupt(archive, f"manifest.safe lists {objects[0]!r}, which the zip lacks")
    return _one(archive, list(by_name), hits, f"member='manifest:{pattern}'")
