"""Log lines as JSON, one object a line, when WEBINARS_LOG_FORMAT=json (for log collectors).

The default ("text") leaves logging as Flask, gunicorn and ``flask scheduler``
set it up.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

FORMATS = ("text", "json")


class JSONFormatter(logging.Formatter):
    """time (UTC, ISO 8601), level, logger, message, and the traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(log_format: str) -> None:
    """Send every log record to standard error in ``log_format`` ("text" changes nothing)."""
    if log_format not in FORMATS:
        raise ValueError(f"WEBINARS_LOG_FORMAT must be one of {', '.join(FORMATS)}, "
                         f"not {log_format!r}")
    if log_format == "text":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # Flask's app logger and gunicorn's add handlers of their own: one line per record.
    for name in ("webinars", "gunicorn.error", "gunicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
