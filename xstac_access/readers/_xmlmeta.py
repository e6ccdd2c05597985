"""XML metadata documents (SAFE manifests, Sentinel MTD files) as flat, bounded attributes.

Parsing goes through defusedxml: no entity expansion, no external entities or DTDs, so a
hostile archive cannot make the reader fetch URLs or blow up memory.
"""

from __future__ import annotations

from typing import Any

from .. import errors

#: At most this many keys, and values of at most this many characters, per document.
MAX_KEYS = 1000
MAX_VALUE = 1000


def parse_xml(data: bytes, what: str) -> Any:
    """The root element of ``data``; a typed :class:`~xstac_access.errors.FormatError` if bad.

    ``what`` starts the message (``"member 'x.xml' of ... is not usable"``); the reason follows:
    refused unsafe XML (entities, DTDs) or malformed XML (syntax, an unknown encoding).
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        return fromstring(data)
    except DefusedXmlException as exc:
        raise errors.FormatError(f"{what}: refused unsafe XML ({exc.__class__.__name__})") from None
    except (ParseError, LookupError, ValueError) as exc:  # LookupError: declared encoding unknown
        raise errors.FormatError(f"{what}: malformed XML ({exc})") from None


def local_name(tag: Any) -> str:
    """``{namespace}name`` or ``prefix:name`` → ``name``."""
    return str(tag).rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def flatten_xml(root: Any) -> dict[str, str]:
    """Leaf texts and attributes by path below the root, namespaces dropped.

    ``General_Info/Product_Info/PRODUCT_URI`` for a leaf, ``.../Geoposition@resolution`` for an
    attribute; a repeated sibling gets ``[2]``, ``[3]``... Bounded by :data:`MAX_KEYS` (then
    ``xml_keys_omitted`` says how many were left out) and :data:`MAX_VALUE`.
    """
    out: dict[str, str] = {}
    omitted = 0

    def add(key: str, value: str) -> None:
        nonlocal omitted
        if len(out) >= MAX_KEYS:
            omitted += 1
        else:
            out[key] = value[:MAX_VALUE]

    def walk(element: Any, path: str) -> None:
        for name, value in element.attrib.items():
            if "}" not in name:  # namespaced attributes are schema plumbing (xsi:...)
                add(f"{path}@{name}" if path else f"@{name}", value)
        children = [c for c in element if isinstance(c.tag, str)]
        text = (element.text or "").strip()
        if not children and text and path:
            add(path, text)
        seen: dict[str, int] = {}
        for child in children:
            name = local_name(child.tag)
            seen[name] = seen.get(name, 0) + 1
            suffix = f"[{seen[name]}]" if seen[name] > 1 else ""
            walk(child, f"{path}/{name}{suffix}" if path else f"{name}{suffix}")

    walk(root, "")
    if omitted:
        out["xml_keys_omitted"] = str(omitted)
    return out
