"""Logging for the whole process: one handler on stderr, as text lines or one JSON object a line.

`bot.log_format = "text"` writes `time LEVEL logger: message`; `"json"` writes
`{"time", "level", "logger", "message", ...}` plus the structured fields of the log of decisions
(bot.ops.journal) as keys of their own. The HTTP clients' line per request ("HTTP Request: POST
… 200 OK") is demoted to DEBUG, and libraries that log every tick are held to WARNING. A closed
stderr (the reader went away) ends logging quietly, never with a traceback per line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Each logs one INFO line per HTTP request it sends.
DEMOTED = ("httpx", "httpx2")
# APScheduler logs every tick at INFO; the others say what the bot already reports.
QUIET = ("alembic", "presidio-analyzer", "apscheduler")


class JsonFormatter(logging.Formatter):
    """One JSON object per record; a decision line's fields become keys of their own."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event = getattr(record, "event", None)
        if event is not None:
            line["event"] = event
            fields = getattr(record, "fields", None) or {}
            line.update({key: value for key, value in fields.items() if key not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class QuietStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that stops writing once its stream is closed by the other end."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ValueError)):  # ValueError: "I/O operation on closed file"
            self.setLevel(logging.CRITICAL + 1)
            return
        super().handleError(record)


def _demote(record: logging.LogRecord) -> bool:
    """INFO lines of the HTTP clients become DEBUG lines (shown only at log level DEBUG)."""
    if record.levelno == logging.INFO:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)
    return True


def configure(level: str, fmt: str, stream: TextIO | None = None, *, force: bool = False) -> logging.Handler | None:
    """Set up the root logger for level and format ("text" or "json"). Like logging.basicConfig, a
    root logger that already has handlers someone else installed (a test runner's) keeps them and
    gets no handler of ours, unless force; a handler of ours from an earlier call is replaced."""
    for name in DEMOTED:
        logger = logging.getLogger(name)
        if _demote not in logger.filters:
            logger.addFilter(_demote)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    root = logging.getLogger()
    foreign = [h for h in root.handlers if not isinstance(h, QuietStreamHandler)]
    if foreign and not force:
        return None
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = QuietStreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    return handler
