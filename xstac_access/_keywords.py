"""A TypeError (:class:`~xstac_access.errors.KeywordError`) for keywords a function does not
take, naming those it does.

A function that passes ``**kwargs`` on (the engine to its readers, :func:`xstac_access.load` to
odc-stac) loses Python's own check, and one it passes them to may ignore what it does not know:
a misspelt keyword would change nothing and say nothing. Such a function checks them first with
:func:`refuse_unknown`, which says more than Python would: what is accepted, and the name
probably meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from .errors import KeywordError


def refuse_unknown(
    call: str,
    given: Iterable[str],
    accepted: Sequence[str],
    *,
    taker: str = "it",
    notes: Mapping[str, str] | None = None,
) -> None:
    """Raise a :class:`~xstac_access.errors.KeywordError` (a TypeError) if any of ``given`` is
    not in ``accepted``.

    The message names each unknown keyword (with the nearest accepted one when it looks like a
    misspelling), then what ``taker`` accepts, then the ``notes`` of the unknown keywords that
    have one (where a keyword belongs instead).
    """
    unknown = [name for name in given if name not in accepted]
    if not unknown:
        return
    named = []
    for name in unknown:
        near = difflib.get_close_matches(name, accepted, n=1)
        named.append(f"{name}=" + (f" (did you mean {near[0]}=?)" if near else ""))
    said = "".join(f" {notes[name]}." for name in unknown if notes and name in notes)
    raise KeywordError(
        f"{call}() got unexpected keyword argument(s) {', '.join(named)}; {taker} takes "
        f"{', '.join(f'{name}=' for name in accepted)}.{said}"
    )
