"""One interface over where a SAFE product's files are: a zip (remote or local) or a folder.

A SAFE reader lists the product's files, reads its small XML files whole and hands GDAL a
:class:`~xstac_access.readers._gdal.RasterSource` for each image, which is read lazily, by range.
:class:`ZipFiles` does so from the central directory of a zip read by range
(:mod:`.._zipfile`): listing costs the archive's tail, an XML member one ranged read, and an
image member nothing until GDAL reads it (:mod:`.._zipmember`). :class:`FolderFiles` reads an
unzipped ``.SAFE`` folder on the local disk. Names are POSIX paths from the archive's root
(``<NAME>.SAFE/GRANULE/...``); a folder's are prefixed with its own name, as in the zip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..._hrefs import local_path
from ..._resolve import Target
from .._gdal import RasterSource
from .._zipfile import Archive, ZipMember, read_member
from .._zipmember import member_source


class SafeFiles(Protocol):
    """The files of a SAFE product, wherever they are."""

    @property
    def where(self) -> str:
        """How messages name the product's container (label, href, host)."""
        ...

    @property
    def target(self) -> Target:
        """The asset opened (a member's own messages name it and its href)."""
        ...

    def names(self) -> list[str]:
        """Every file, as a POSIX path from the container's root."""
        ...

    def read(self, name: str) -> bytes:
        """The whole of one (small) file."""
        ...

    def source(self, name: str) -> RasterSource:
        """How GDAL reads one image file, lazily and by range."""
        ...


@dataclass(frozen=True)
class ZipFiles:
    """The members of a zip located by :func:`~xstac_access.readers._zipfile.locate`."""

    target: Target
    archive: Archive
    members: tuple[ZipMember, ...]

    @property
    def where(self) -> str:
        return self.archive.where()

    def names(self) -> list[str]:
        return [m.name for m in self.members]

    def _member(self, name: str) -> ZipMember:
        return next(m for m in self.members if m.name == name)

    def read(self, name: str) -> bytes:
        return read_member(self.archive, self._member(name))

    def source(self, name: str) -> RasterSource:
        return member_source(self.target, self.archive, self._member(name), lazy=True)


@dataclass(frozen=True)
class FolderFiles:
    """The files of an unzipped ``.SAFE`` folder on the local disk."""

    target: Target

    @property
    def root(self) -> Path:
        return Path(local_path(self.target.href))

    @property
    def where(self) -> str:
        return f"the folder {self.root}"

    def names(self) -> list[str]:
        base, out = self.root.parent, []
        for folder, _, files in os.walk(self.root):
            out += [Path(folder, f).relative_to(base).as_posix() for f in files]
        return sorted(out)

    def read(self, name: str) -> bytes:
        return (self.root.parent / name).read_bytes()

    def source(self, name: str) -> RasterSource:
        path = self.root.parent / name
        return RasterSource(str(path), f"{name} of {self.target.label}")
