"""xarray's own CF decoder arguments, shared by the readers that decode through xarray.

``decode_times``, ``decode_timedelta``, ``decode_coords``, ``use_cftime``, ``concat_characters``
and ``decode_cf`` keep xarray's meanings (``mask_and_scale`` travels on its own: every reader
takes it). A caller's value is passed through; an absent one leaves xarray's default.

Time units xarray cannot decode (``days since 1961-01-01`` on a fill value, a calendar without
cftime) do not make a whole file unreadable when the caller did not ask for decoded times: the
file is opened again with ``decode_times=False`` and a warning says so, as the times keep their
raw numbers. A caller who passed ``decode_times`` gets the failure instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

#: The decoder keywords of ``xr.open_dataset`` the readers pass on (besides mask_and_scale).
DECODERS = (
    "decode_times",
    "decode_timedelta",
    "decode_coords",
    "use_cftime",
    "concat_characters",
    "decode_cf",
)
T = TypeVar("T")


def decoders(options: Mapping[str, Any]) -> dict[str, Any]:
    """The decoder keywords the caller gave in ``options`` (``None`` means not given)."""
    return {k: options[k] for k in DECODERS if options.get(k) is not None}


def undecodable_times(exc: BaseException) -> bool:
    """Whether ``exc`` is xarray failing to decode a variable's time units."""
    return isinstance(exc, ValueError) and "unable to decode time units" in str(exc)


def open_decoding(
    opener: Callable[..., T],
    label: str,
    given: Mapping[str, Any],
    rewind: Callable[[], None] | None = None,
) -> T:
    """``opener()``, or, when its times cannot be decoded and ``given`` (the keywords the
    caller or the catalogue chose) says nothing of ``decode_times``, ``opener(decode_times=
    False)`` with a warning naming ``label``. ``rewind`` runs before the second attempt (a
    file object read by the first)."""
    try:
        return opener()
    except ValueError as exc:
        if not undecodable_times(exc) or given.get("decode_times") is not None:
            raise
        reason = str(exc).splitlines()[0]
    warnings.warn(
        f"{label}: time units could not be decoded ({reason}); opened with "
        "decode_times=False, so those variables keep their raw numbers.",
        UserWarning,
        stacklevel=3,
    )
    if rewind is not None:
        rewind()
    return opener(decode_times=False)
