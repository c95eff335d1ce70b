"""Structured JSON logs with the correlation id of the request or event being handled."""

from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str, process: str) -> None:
        super().__init__()
        self.service = service
        self.process = process

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.process_kind = self.process
        record.correlation_id = correlation_id.get()
        return True


def configure_logging(service: str, process: str, level: str = "INFO") -> None:
    """One JSON object per line on stderr; no personal data goes into log messages."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{service}{process_kind}{correlation_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(service, process))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kafka-python is chatty at INFO about every connection; its warnings still show.
    logging.getLogger("kafka").setLevel(max(logging.WARNING, root.level))
