"""Logging that keeps secrets secret: a registry of known secret values and a redacting filter.

Every token, password, cookie value and signature the library handles is registered here
(:func:`remember`; :class:`~xstac_access.credentials.secrets.Secret` does it as soon as a value
is read) so that :class:`RedactingFilter` can scrub it from any log record that reaches a
handler of the ``xstac_access`` logger tree (or any other logger the user attaches the filter
to). It sits below both the HTTP layer and the credentials, which both log.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_MIN_LENGTH = 6  # shorter values are not worth redacting and would mangle ordinary text
_registry: set[str] = set()
_lock = threading.Lock()


def remember(value: str) -> None:
    """Register ``value`` so that :func:`redact` and :class:`RedactingFilter` will mask it."""
    if value and len(value) >= _MIN_LENGTH:
        with _lock:
            _registry.add(value)


#: Query parameters that carry secrets in URLs others log (signatures, one-time codes, tokens).
_SECRET_QUERY = re.compile(
    r"(?i)((?:^|[?&;])(?:sig|signature|code|token|access_token|x-amz-signature|"
    r"x-amz-security-token|x-amz-credential)=)[^&\s'\"]+"
)


def redact(text: str) -> str:
    """``text`` with every registered secret, and secret-looking query values, masked."""
    if not text:
        return text
    with _lock:
        values = sorted(_registry, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return _SECRET_QUERY.sub(r"\1" + MASK, text)


class RedactingFilter(logging.Filter):
    """Mask registered secrets in a record's message and arguments before it is emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix; still redact the parts
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:  # handlers format it after filters run
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


#: Loggers that may carry a secret in a message: ours, and urllib3's request lines, which show
#: query strings (signed URLs). A logger's filter does not see its children's records, so each
#: one is named.
FILTERED_LOGGERS = (
    "urllib3.connectionpool",
    # rasterio logs dataset names (``/vsicurl/<SAS-signed URL>``) and GDAL's messages at DEBUG
    "rasterio._base", "rasterio._io", "rasterio._env", "rasterio._err", "rasterio.env",
)  # fmt: skip


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with :class:`RedactingFilter` attached (once)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


def install_log_filters() -> None:
    """Attach :class:`RedactingFilter` to the third-party loggers of :data:`FILTERED_LOGGERS`."""
    for name in FILTERED_LOGGERS:
        get_logger(name)


install_log_filters()  # at import: the filters must be there before any request
