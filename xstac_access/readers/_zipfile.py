"""The zip format, read by byte range: end records, central directory, local headers, members.

Only what a remote reader needs, from ranged reads of an :class:`Archive`: the table of contents
(EOCD, zip64 EOCD, central directory, from the archive's last 64 KiB when it holds them) and one
member's bytes (local header and data in one read, inflated and CRC-checked). Every damage found
is a :class:`~xstac_access.errors.FormatError` naming the asset and host.
"""

from __future__ import annotations

import bz2
import struct
import threading
import time
import weakref
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from .. import errors
from .._hrefs import host_of, safe_href, scheme_of
from .._resolve import Target
from ..credentials import get_broker
from ..credentials.broker import Access, Broker, as_access
from ..http import fetch, login_page_error, looks_like_html
from ..http.landings import forget as forget_landing
from ..http.landings import known as known_landing
from ..http.landings import landed, remember
from ..http.ranged import Span, fetch_tail, no_range_limit

#: The EOCD is 22 bytes plus a comment of at most 65535: this tail always holds it.
TAIL_BYTES = 22 + 65535
STORED, DEFLATED, BZIP2 = 0, 8, 12
METHODS = {STORED: "stored", DEFLATED: "deflated", BZIP2: "bzip2"}
_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class ZipMember:
    """One file in the archive, as its central directory describes it.

    ``offset`` is where its local header starts; ``header_hint`` the local header length the
    central directory suggests (the local extra field may differ: it is always re-read).
    """

    name: str
    size: int
    compressed_size: int
    method: int
    offset: int
    crc32: int = 0
    flags: int = 0
    header_hint: int = field(default=0, repr=False)

    @property
    def method_name(self) -> str:
        return METHODS.get(self.method, f"method {self.method}")


@dataclass(frozen=True)
class Archive:
    """A zip where its bytes are: the href after redirects, its credential, size and label;
    ``data``: the whole archive, read once from a server that ignores Range (it is small:
    :func:`~xstac_access.http.ranged.no_range_limit`), which members are then read from."""

    href: str
    access: Access
    size: int
    label: str
    data: bytes | None = field(default=None, repr=False, compare=False)
    #: The credential of the href before its redirects, when it redirected: walked again when
    #: a read where it landed is refused (a presigned URL that expired).
    origin: Access | None = field(default=None, repr=False, compare=False)

    def read(self, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of the archive: one ranged request, or from memory."""
        stop = min(stop, self.size)
        if start >= stop:
            return b""
        if self.data is not None:
            return self.data[start:stop]
        href, access = self.location()
        broker = get_broker()  # for the redirects of a landed URL: none expected
        try:
            return fetch(href, broker=broker, byte_range=(start, stop), access=access,
                         what=self.label)  # fmt: skip
        except errors.AuthError:
            if self.origin is None:
                raise
            forget_landing(self.origin.href, self.origin)  # land again, read once more
            href, access = self.location()
            return fetch(href, broker=broker, byte_range=(start, stop), access=access,
                         what=self.label)  # fmt: skip

    def location(self) -> tuple[str, Access]:
        """Where the archive's bytes are read: where its href lands now, or the href."""
        if self.origin is None:
            return self.href, self.access
        landing = landed(self.origin.href, self.origin, get_broker, what=self.label)
        return landing.href, as_access(landing.access)

    def where(self) -> str:
        """How messages name the archive: its label, landed href (once) and host."""
        shown = safe_href(self.href)
        label = self.label if shown in self.label else f"{self.label} at {shown}"
        return f"{label} (host {host_of(self.href)})"


# -- locating and reading the archive ----------------------------------------------------------


#: Remote archives located in the last minute, by (href, credential). Reading several members
#: of one product (two XML files and an image: benchmark B7) would otherwise walk its redirect
#: and read its central directory again for each, three round trips per member. Small (names,
#: sizes, offsets), no secret (the credential is an :class:`Access` handle), bounded. Beside
#: each, the broker that last opened it (weakly): only that broker's opens skip the format
#: sniff, whose request is also where another configuration of the credential is checked.
_LOCATED: OrderedDict[
    tuple[str, str | None], tuple[float, Archive, list[ZipMember], weakref.ref[Broker]]
] = OrderedDict()
_LOCATED_SECONDS = 60.0
_LOCATED_MAX = 8
_located_lock = threading.Lock()


def forget_archives() -> None:
    """Forget the located archives: the next open walks the redirect and reads the directory."""
    with _located_lock:
        _LOCATED.clear()


def is_located(href: str, broker: Broker) -> bool:
    """Whether ``broker`` opened the http(s) zip at ``href`` in the last minute (then its
    format needs no sniffing)."""
    if scheme_of(href) not in ("http", "https"):
        return False
    with _located_lock:
        hit = _LOCATED.get((href, broker.access(href).provider_id))
    return hit is not None and _fresh(hit[0]) and hit[3]() is broker


def locate(target: Target, broker: Broker) -> tuple[Archive, list[ZipMember]]:
    """Read the archive's tail (following the href's redirects), parse its central directory
    (for an http(s) archive located in the last minute with the same credential: as then)."""
    if scheme_of(target.href) not in ("http", "https"):
        return _locate(target, broker)
    key = (target.href, broker.access(target.href).provider_id)
    with _located_lock:
        hit = _LOCATED.get(key)
        if hit is not None and _fresh(hit[0]):
            _LOCATED[key] = (*hit[:3], weakref.ref(broker))
            return replace(hit[1], label=target.label), list(hit[2])
    archive, members = _locate(target, broker)
    with _located_lock:
        _LOCATED[key] = (time.monotonic(), archive, members, weakref.ref(broker))
        _LOCATED.move_to_end(key)
        while len(_LOCATED) > _LOCATED_MAX or _held() > no_range_limit():
            _LOCATED.popitem(last=False)  # whole archives kept: at most one limit's worth
    return archive, list(members)


def _fresh(moment: float) -> bool:
    return time.monotonic() - moment < _LOCATED_SECONDS


def _held() -> int:
    """Bytes of whole archives the located ones hold (callers hold the lock)."""
    return sum(len(a.data) for _, a, _, _ in _LOCATED.values() if a.data is not None)


def _locate(target: Target, broker: Broker) -> tuple[Archive, list[ZipMember]]:
    href, access = target.href, broker.access(target.href)
    if scheme_of(href) in ("http", "https"):  # the tail's request walks the redirects too
        tail = _tail(href, access, broker, target.label)
        landing, origin = tail.landing, None
        if landing.href != href:
            remember(href, access, landing, broker)
            origin = access
        size = tail.size if tail.size is not None else len(tail.data)
        archive = Archive(landing.href, as_access(landing.access), size, target.label,
                          tail.whole, origin)  # fmt: skip
        return archive, _central_directory(archive, tail.data)
    size = _size(href, broker, target.label)
    last = fetch(href, broker=broker, byte_range=(max(0, size - TAIL_BYTES), size), access=access)
    archive = Archive(href, access, size, target.label)
    return archive, _central_directory(archive, last)


def _tail(href: str, access: Access, broker: Broker, label: str) -> Span:
    """The archive's last :data:`TAIL_BYTES`: read where ``href`` landed when a read of this
    process (the format sniff) walked its redirects already, else through them; a refused read
    at the landing (expired) walks them again."""
    known = known_landing(href, access)
    if known is not None and known.href != href:
        try:
            tail = fetch_tail(known.href, TAIL_BYTES, access=as_access(known.access),
                              broker=broker, what=label)  # fmt: skip
            return replace(tail, landing=known)
        except errors.AuthError:
            forget_landing(href, access)
    return fetch_tail(href, TAIL_BYTES, access=access, broker=broker, what=label)


def _size(href: str, broker: Broker, label: str) -> int:
    from ..credentials.filesystems import filesystem_for

    try:
        return int(filesystem_for(href, broker).size(href))
    except FileNotFoundError:
        raise errors.HrefNotFoundError(
            f"{label} at {safe_href(href)} does not exist", href=safe_href(href),
            host=host_of(href), status=404,
        ) from None  # fmt: skip


def _central_directory(archive: Archive, tail: bytes) -> list[ZipMember]:
    """Parse the EOCD (and zip64 EOCD) in ``tail``, then the central directory it points to."""
    tail_start = archive.size - len(tail)
    pos = _find_eocd(tail)
    if pos is None:
        raise _not_a_zip(archive, tail if tail_start == 0 else archive.read(0, 4))
    _, _, _, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, pos)
    end = tail_start + pos  # where the central directory (+ zip64 records) ends
    locator = end - _ZIP64_LOCATOR.size
    found = _slice(archive, tail, tail_start, locator, 20) if locator >= 0 else b""
    if found.startswith(b"PK\x06\x07"):  # zip64: the 64-bit end record rules
        z64_offset = _ZIP64_LOCATOR.unpack(found)[2]
        record = _slice(archive, tail, tail_start, z64_offset, _ZIP64_EOCD.size)
        fields = _ZIP64_EOCD.unpack(record) if len(record) == _ZIP64_EOCD.size else (b"",)
        if fields[0] != b"PK\x06\x06":
            raise corrupt(archive, "its zip64 end record is missing")
        count, cd_size, cd_offset, end = fields[7], fields[8], fields[9], z64_offset
    elif _MASK32 in (cd_size, cd_offset) or count == 0xFFFF:
        raise corrupt(archive, "its zip64 locator is missing")
    shift = end - cd_size - cd_offset  # bytes prepended to the archive (self-extractors)
    start = cd_offset + shift
    if start < 0 or shift < 0:
        raise corrupt(archive, "its central directory points outside the file (truncated?)")
    directory = _slice(archive, tail, tail_start, start, cd_size)
    members = _parse_entries(archive, directory, shift)
    if len(members) != count:
        raise corrupt(archive, f"its directory lists {len(members)} of {count} entries")
    return [m for m in members if not m.name.endswith("/")]


def _find_eocd(tail: bytes) -> int | None:
    """Offset of the EOCD in ``tail``: the last signature whose comment ends the file."""
    pos = tail.rfind(b"PK\x05\x06")
    fallback = None
    while pos >= 0:
        if pos + _EOCD.size <= len(tail):
            comment = _EOCD.unpack_from(tail, pos)[7]
            if pos + _EOCD.size + comment == len(tail):
                return pos
            fallback = pos if fallback is None else fallback
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    return fallback


def _slice(archive: Archive, tail: bytes, tail_start: int, start: int, length: int) -> bytes:
    """Bytes ``[start, start + length)``: from the tail when it holds them, else one read."""
    if start >= tail_start:
        return tail[start - tail_start : start - tail_start + length]
    if start + length <= tail_start:
        return archive.read(start, start + length)
    return archive.read(start, tail_start) + tail[: start + length - tail_start]


def _parse_entries(archive: Archive, directory: bytes, shift: int) -> list[ZipMember]:
    members, pos = [], 0
    while pos + _CENTRAL.size <= len(directory):
        fields = _CENTRAL.unpack_from(directory, pos)
        if fields[0] != b"PK\x01\x02":
            raise corrupt(archive, f"its central directory is damaged at byte {pos}")
        flags, method, crc, csize, usize = fields[3], fields[4], fields[7], fields[8], fields[9]
        nlen, xlen, clen, offset = fields[10], fields[11], fields[12], fields[16]
        raw = directory[pos + _CENTRAL.size : pos + _CENTRAL.size + nlen]
        extra = directory[pos + _CENTRAL.size + nlen : pos + _CENTRAL.size + nlen + xlen]
        usize, csize, offset = _zip64_sizes(extra, usize, csize, offset)
        name = raw.decode("utf-8" if flags & 0x800 else "cp437")
        members.append(
            ZipMember(name, usize, csize, method, offset + shift, crc, flags, 30 + nlen + xlen)
        )
        pos += _CENTRAL.size + nlen + xlen + clen
    return members


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Replace the 0xFFFFFFFF placeholders by the zip64 extra field's 64-bit values."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, pos)
        if tag == 0x0001:
            values = list(struct.unpack_from(f"<{length // 8}Q", extra, pos + 4))
            out = []
            for value in (usize, csize, offset):
                out.append(values.pop(0) if value == _MASK32 and values else value)
            return out[0], out[1], out[2]
        pos += 4 + length
    return usize, csize, offset


def _local_header(archive: Archive, member: ZipMember, extra: int) -> tuple[int, bytes]:
    """The member's data offset, and the bytes read from its local header on (``extra`` more)."""
    blob = archive.read(member.offset, member.offset + member.header_hint + extra)
    if len(blob) < _LOCAL.size or blob[:4] != b"PK\x03\x04":
        raise corrupt(archive, f"member {member.name!r} has no local header where expected")
    nlen, xlen = _LOCAL.unpack_from(blob)[9:11]
    return member.offset + _LOCAL.size + nlen + xlen, blob


def data_offset(archive: Archive, member: ZipMember) -> int:
    """Where the member's (compressed) data starts: one small read of its local header."""
    return _local_header(archive, member, 64)[0]


def read_member(archive: Archive, member: ZipMember) -> bytes:
    """The member's uncompressed bytes: one ranged read of local header and data, CRC checked."""
    return read_member_at(archive, member)[1]


def read_member_at(archive: Archive, member: ZipMember) -> tuple[int, bytes]:
    """Where the member's data starts, and its uncompressed bytes (see :func:`read_member`)."""
    if member.flags & 0x1:
        raise errors.UnsupportedFormatError(
            f"member {member.name!r} of {archive.where()} is encrypted"
        )
    start, blob = _local_header(archive, member, 64 + member.compressed_size)
    data = blob[start - member.offset : start - member.offset + member.compressed_size]
    if len(data) < member.compressed_size:  # a local extra field longer than the hint
        data += archive.read(start + len(data), start + member.compressed_size)
    if len(data) < member.compressed_size:
        raise corrupt(archive, f"member {member.name!r} is cut short (truncated archive?)")
    try:
        if member.method == STORED:
            out = data
        elif member.method == DEFLATED:
            inflater = zlib.decompressobj(-15)
            out = inflater.decompress(data) + inflater.flush()
        elif member.method == BZIP2:
            out = bz2.decompress(data)
        else:
            raise errors.UnsupportedFormatError(
                f"member {member.name!r} of {archive.where()} uses {member.method_name} "
                "compression; only stored, deflated and bzip2 members are read"
            )
    except (zlib.error, OSError, ValueError) as exc:
        raise corrupt(archive, f"member {member.name!r} does not decompress ({exc})") from None
    if len(out) != member.size or zlib.crc32(out) != member.crc32:
        raise corrupt(archive, f"member {member.name!r} fails its size or CRC-32 check")
    return start, out


# -- errors ------------------------------------------------------------------------------------


def _not_a_zip(archive: Archive, head: bytes) -> errors.XStacError:
    if head.startswith(b"PK\x03\x04"):
        return corrupt(archive, "it starts like a zip but has no end-of-central-directory record")
    if looks_like_html(head):
        return login_page_error(archive.href, archive.label, get_broker().advice(archive.href))
    return errors.FormatError(
        f"{archive.where()} is not a zip archive: no end-of-central-directory record in its "
        f"last {TAIL_BYTES} bytes, and it starts with {head[:4]!r}. Choose another asset or "
        "pass reader=."
    )


def corrupt(archive: Archive, why: str) -> errors.FormatError:
    return errors.FormatError(f"{archive.where()} is a truncated or corrupt zip: {why}")
