"""One image member of a zip as a GDAL :class:`~._gdal.RasterSource`: a byte range, or /vsizip/.

A stored image member (JPEG 2000 in a SAFE is never deflated) is a plain byte range of the
archive: GDAL gets ``/vsisubfile/<offset>_<size>,/vsicurl/<landed href>`` and reads only the
parts of the member it needs, with the archive's credential; it does not re-read the central
directory, which we already have. The offset of the member's data needs its local header: read
when the source is made, or, for a source made ``lazy`` (a SAFE tree makes one per image and
reads none at open), at the first read, once per process. A deflated member, or one whose format
GDAL knows by its file name (SRTM ``.hgt``), goes through ``/vsizip/``, which inflates it as GDAL
reads (and reads the central directory again).

A small stored image member (up to :data:`SMALL_MEMBER`: a 60 m TCI) is read whole when the
source is made, local header and data in one ranged read, and GDAL reads it from memory: GDAL
would otherwise ask for the file's size and then read most of it in several growing reads, one
after another (benchmark B7). A process without those bytes (a dask worker, or after they were
let go) reads the byte range as above.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .._hrefs import safe_href
from .._resolve import Target
from ..credentials.material import Material
from ._gdal import RasterSource, unsigned
from ._gdalmem import keep_in_memory, memory_path
from ._zipfile import STORED, Archive, ZipMember, data_offset, read_member_at

IMAGE_EXTENSIONS = (".jp2", ".j2k", ".tif", ".tiff", ".png", ".jpg", ".jpeg")
#: A stored image member up to this size is read whole at open (see the module docstring).
SMALL_MEMBER = 4 * 1024 * 1024

_OFFSETS: dict[tuple[str, int], int] = {}
_offsets_lock = threading.Lock()


@dataclass(frozen=True)
class MemberSource(RasterSource):
    """A :class:`RasterSource` for one member of a zip: a byte range, or ``/vsizip/``.

    ``lazy``: the archive and member whose local header gives ``data_offset`` at first read;
    ``kept``: the key of the member's bytes read whole into memory (:mod:`._gdalmem`).
    """

    member: str = ""
    data_offset: int = 0
    data_size: int = 0
    stored: bool = True
    lazy: tuple[Archive, ZipMember] | None = field(default=None, repr=False, compare=False)
    kept: str = ""

    def path(self, material: Material) -> str:
        in_memory = memory_path(self.kept) if self.kept else None
        if in_memory is not None:
            return in_memory
        archive = super().path(material)
        if self.stored:
            offset = self.data_offset if self.lazy is None else _offset(*self.lazy)
            return f"/vsisubfile/{offset}_{self.data_size},{archive}"
        return f"/vsizip/{{{archive}}}/{self.member}"


def _offset(archive: Archive, member: ZipMember) -> int:
    """The member's data offset: its local header read once per archive and member."""
    key = (archive.href, member.offset)
    with _offsets_lock:
        known = _OFFSETS.get(key)
    if known is None:
        known = data_offset(archive, member)
        with _offsets_lock:
            _OFFSETS[key] = known
    return known


def member_source(
    target: Target,
    archive: Archive,
    member: ZipMember,
    overview_level: int | None = None,
    *,
    lazy: bool = False,
) -> MemberSource:
    """The source GDAL reads ``member`` of ``archive`` (the asset ``target``) through."""
    # a byte range keeps no name: formats GDAL knows by the file name (SRTM .hgt) need /vsizip/
    stored = member.method == STORED and member.name.lower().endswith(IMAGE_EXTENSIONS)
    offset, kept = 0, ""
    if archive.data is not None:  # a server without Range sent it whole: GDAL reads that
        keep_in_memory(archive.href, archive.data)
    elif stored and not lazy and member.compressed_size <= SMALL_MEMBER:
        offset, data = read_member_at(archive, member)
        kept = f"{safe_href(archive.href)}#{member.name}"
        keep_in_memory(kept, data, member.name.rpartition(".")[2])
    if stored and not lazy and not offset:
        offset = data_offset(archive, member)
    origin = archive.origin  # redirected: GDAL reads where it lands (walked again if refused)
    return MemberSource(
        origin.href if origin is not None else archive.href,
        f"member {member.name!r} of {target.label}",
        overview_level,
        origin if origin is not None else archive.access,
        lands=origin is not None,
        landed=unsigned(archive.href, archive.access),
        member=member.name,
        data_offset=offset,
        data_size=member.compressed_size,
        stored=stored,
        lazy=(archive, member) if stored and lazy else None,
        kept=kept,
    )
