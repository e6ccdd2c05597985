"""Multihash values as the STAC ``file`` extension writes them in ``file:checksum``.

A multihash is ``<varint function code><varint digest length><digest>``, hex-encoded: Earth
Search writes ``1220…`` (sha2-256, 32 bytes). Downloads verify against it; a function this
module does not know (blake3, say) is reported rather than failing the download, since the bytes
may well be right.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

#: Multicodec code -> (multihash name, hashlib algorithm).
_FUNCTIONS: dict[int, tuple[str, str]] = {
    0x11: ("sha1", "sha1"),
    0x12: ("sha2-256", "sha256"),
    0x13: ("sha2-512", "sha512"),
    0x20: ("sha2-384", "sha384"),
    0x14: ("sha3-512", "sha3_512"),
    0x15: ("sha3-384", "sha3_384"),
    0x16: ("sha3-256", "sha3_256"),
    0x17: ("sha3-224", "sha3_224"),
    0xD5: ("md5", "md5"),
}
_BLAKE2B = range(0xB201, 0xB241)  # blake2b-8 ... blake2b-512, by digest bytes
_BLAKE2S = range(0xB241, 0xB261)  # blake2s-8 ... blake2s-256
_KNOWN_NAMES = {0x1E: "blake3"}


@dataclass(frozen=True)
class Multihash:
    """A parsed multihash: the function's code and name, and the expected digest."""

    code: int
    name: str
    digest: bytes

    def new(self) -> Any | None:
        """A fresh hashlib object computing this function, or ``None`` if it is not supported."""
        if self.code in _FUNCTIONS:
            return hashlib.new(_FUNCTIONS[self.code][1], usedforsecurity=False)
        if self.code in _BLAKE2B:
            return hashlib.blake2b(digest_size=self.code - 0xB200, usedforsecurity=False)
        if self.code in _BLAKE2S:
            return hashlib.blake2s(digest_size=self.code - 0xB240, usedforsecurity=False)
        return None

    def matches(self, hasher: Any) -> bool:
        """True when ``hasher`` (from :meth:`new`, fed the whole file) gives the digest."""
        return hasher.digest() == self.digest


def parse(text: str) -> Multihash:
    """Parse a hex multihash; ``ValueError`` when it is not one (bad hex, wrong length)."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not hexadecimal") from None
    code, rest = _varint(raw)
    length, digest = _varint(rest)
    if length != len(digest):
        raise ValueError(f"multihash says {length} digest bytes but holds {len(digest)}")
    return Multihash(code, _name(code), digest)


def _name(code: int) -> str:
    if code in _FUNCTIONS:
        return _FUNCTIONS[code][0]
    if code in _BLAKE2B:
        return f"blake2b-{(code - 0xB200) * 8}"
    if code in _BLAKE2S:
        return f"blake2s-{(code - 0xB240) * 8}"
    return _KNOWN_NAMES.get(code, f"0x{code:x}")


def _varint(data: bytes) -> tuple[int, bytes]:
    """Decode one unsigned LEB128 varint from the front of ``data``: ``(value, rest)``."""
    value = 0
    for i, byte in enumerate(data[:9]):
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, data[i + 1 :]
    raise ValueError("truncated or over-long varint in multihash")
