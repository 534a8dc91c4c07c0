"""Log lines never carry a respondent's credential: resume links, invitations, receipt codes.

A resume token in `/r/<token>/` opens the respondent's answers; an invitation in
`?invitation=<token>` admits one respondent; a receipt code in `/withdraw/?code=<code>` deletes
a response. Django logs the path of every 4xx ("Bad Request: /r/<token>/"), runserver and
gunicorn log request lines, so every log record is rewritten before any handler sees it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

REDACTED = "[redacted]"
# The path segment after /r/, and the value of a token-bearing query parameter (also URL-encoded
# inside a `next=` parameter, where `=` reads `%3D` and `&` reads `%26`).
_PATTERNS = [
    re.compile(r"(/r/)[^/\s?#\"'<>]+"),
    re.compile(r"(%2Fr%2F)[^%\s?#\"'<>&/]+", re.IGNORECASE),
    re.compile(r"([?&](?:invitation|code|token)=)[^&\s#\"'<>]+", re.IGNORECASE),
    re.compile(r"((?:%3F|%26)(?:invitation|code|token)%3D)[^%&\s#\"'<>]+", re.IGNORECASE),
]


def redact(text: str) -> str:
    """`text` with every token of a resume link, invitation or receipt URL replaced."""
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    return text


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite the record's message (arguments merged in), traceback and attached request."""
    if not getattr(record, "_exposure_redacted", False):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call; logging reports it itself
            return
        record.msg, record.args = redact(message), None
        record._exposure_redacted = True
    if record.exc_info and not record.exc_text:
        # Formatters reuse exc_text when it is set: an exception message may quote the URL.
        record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    # django.request attaches the request (added after the record is made, so handlers' filters
    # see it): a handler that formats it, such as an e-mail report, would print the URL again.
    if getattr(record, "request", None) is not None:
        record.request = None


_TRACEBACKS = logging.Formatter()
_factory_lock = threading.Lock()
_factory_installed = False


def _install_record_factory() -> None:
    # Celery's worker and gunicorn configure handlers of their own that Django's LOGGING never
    # sees; redacting where records are made reaches those too.
    global _factory_installed
    with _factory_lock:
        if _factory_installed:
            return
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True


class RedactCredentials(logging.Filter):
    """A filter for every handler: removes credentials from the record before it is written."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        _install_record_factory()

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True
