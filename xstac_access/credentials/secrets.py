"""Keeping secrets secret: a masked string type, and the log filter that redacts known secrets.

Every token, password, cookie value and signature the library handles is wrapped in
:class:`Secret` as soon as it is read, and registered so that :class:`RedactingFilter` can scrub
it from any log record that reaches a handler of the ``xstac_access`` logger tree (or any other
logger the user attaches the filter to). The registry and the filter live in
:mod:`xstac_access._log`, below the HTTP layer, which logs too; they are re-exported here.
"""

from __future__ import annotations

from .._log import (
    FILTERED_LOGGERS,
    MASK,
    RedactingFilter,
    get_logger,
    install_log_filters,
    redact,
    remember,
)

__all__ = [
    "FILTERED_LOGGERS", "MASK", "RedactingFilter", "Secret", "get_logger", "install_log_filters",
    "redact", "remember",
]  # fmt: skip


class Secret:
    """A secret string: usable through :meth:`reveal`, masked in ``str``, ``repr`` and f-strings.

    Pickling a ``Secret`` is refused: secrets must never travel inside dask graphs or files.
    """

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = str(value)
        remember(self._value)

    def reveal(self) -> str:
        """The secret value, for the one place that must send it (a header, a form field)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled: pass short-lived access material instead")
