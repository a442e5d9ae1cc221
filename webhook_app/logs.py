"""JSON log lines with the CallSid and masked phone numbers; secrets are never passed in."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

LOGGER_NAME = "webhook_app"
_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode  # built once, C-accelerated
# Attributes every LogRecord has; anything else was passed in `extra` and goes into the line.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, msg and the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"), default=str)


def configure_logging(level: str, stream: Any = None) -> logging.Logger:
    """Send the app's logger to ``stream`` (stderr) as JSON lines at ``level``.

    Process-wide logging settings are left alone: the server's own log formats use them
    (gunicorn's `%(process)d`), and request lines skip LogRecords anyway (`RequestLog`).
    """
    logger = logging.getLogger(LOGGER_NAME)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    return logger


class RequestLog:
    """The one JSON line per request, written straight to the JSON handler's stream.

    It skips LogRecord creation and formatting (about half the cost of a logging call) when
    the logger is set up by :func:`configure_logging`; otherwise it falls back to the logger.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        handlers = logger.handlers
        direct = (
            len(handlers) == 1
            and type(handlers[0]) is logging.StreamHandler
            and isinstance(handlers[0].formatter, JsonFormatter)
        )
        self._handler: logging.StreamHandler[Any] | None = handlers[0] if direct else None  # type: ignore[assignment]

    def write(self, fields: dict[str, object]) -> None:
        if not self._logger.isEnabledFor(logging.INFO):
            return
        handler = self._handler
        if handler is None:
            self._logger.info("webhook", extra=fields)
            return
        line = {"ts": round(time.time(), 3), "level": "INFO", "msg": "webhook", **fields}
        text = _dumps(line) + "\n"
        with handler.lock:  # type: ignore[union-attr]
            handler.stream.write(text)
            handler.stream.flush()
