"""Secret values: a string type that is masked everywhere but in the one place that sends it.

Every token, password, cookie value and signature the library handles is wrapped in
:class:`Secret` as soon as it is read. Wrapping registers the value with the redaction registry
of :mod:`xstac_access._log` (:func:`~xstac_access._log.remember`), whose log filter then scrubs it
from any record; the registry lives there, below the HTTP layer, because the HTTP layer
registers the secrets it sees too and imports no credential code.
"""

from __future__ import annotations

from typing import NoReturn

from .._log import MASK, remember


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

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled: pass short-lived access material instead")
