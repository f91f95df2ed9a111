"""Logging: one JSON object per line on stdout in production, plain text elsewhere.

Each JSON line carries the id of the Lambda invocation being served (`requestId`),
so a CloudWatch search for the id finds every line one request wrote.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The id of the invocation being served; set by lambda_handler.handler around each event.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


class JSONFormatter(logging.Formatter):
    """Format a record as one line of JSON: time, level, logger, message, requestId, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            entry["requestId"] = current
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class JSONHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write JSON lines to stdout (looked up at each write, so redirections are followed)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JSONFormatter())

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        """Ignore: StreamHandler.__init__ sets the stream; ours is always the current stdout."""


def configure(settings: Mapping[str, Any]) -> None:
    """Log as JSON lines on stdout in production, as text on stderr elsewhere; at LOG_LEVEL."""
    if settings["APP_ENV"] == "production":
        configure_json(settings["LOG_LEVEL"])
    else:
        logging.basicConfig(level=settings["LOG_LEVEL"], format=TEXT_FORMAT)


def configure_json(level: str | int = logging.INFO) -> None:
    """Send the root logger's records to stdout as JSON lines, once however often it is called."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        # The Lambda runtime logs every record in its own text format; one copy is enough.
        if type(handler).__name__.startswith("LambdaLoggerHandler"):
            root.removeHandler(handler)
    if not any(isinstance(handler, JSONHandler) for handler in root.handlers):
        root.addHandler(JSONHandler())
