"""Logging for ``parley serve``: plain text for people, or one JSON object per line for log pipelines.

The ids a log line is about (request, account, meeting, attendee) travel in context variables: the endpoints
and sockets bind them once, and every line logged while handling that request or connection carries them,
whichever module logs it. Nothing here logs secrets, tokens or transcript text; modules must not either at
info level (docs/operations.md "Logs").
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

#: The ids of what is being handled; None while unknown. Names are the JSON fields.
CONTEXT: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"parley_{name}", default=None)
    for name in ("request_id", "account_id", "meeting_id", "attendee_id")
}


def bind(**ids: str | None) -> None:
    """Set some of the context ids (``request_id=...``, ``meeting_id=...``) for the current task."""
    for name, value in ids.items():
        CONTEXT[name].set(value)


class ContextFilter(logging.Filter):
    """Copies the bound context ids onto each record (only those that are set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT.items():
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{n}={getattr(record, n)}" for n in CONTEXT if hasattr(record, n))
        return f"{line} [{ids}]" if ids else line


def configure(level: str = "info", fmt: str = "text") -> None:
    """Install the root handler (stderr) for ``parley serve``; uvicorn's loggers propagate to it."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                datefmt="%Y-%m-%dT%H:%M:%S%z",
            )
        )
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # uvicorn's access log is off (the API logs what matters); its error logger speaks at warning and above.
    logging.getLogger("uvicorn.error").setLevel(max(logging.WARNING, root.level))
