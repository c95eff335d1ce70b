"""Request and correlation ids, the gateway's audit log and its request metrics.

Each request gets a new `X-Request-Id`; its `X-Correlation-Id` is the client's if that is a
sane token (at most 64 of [A-Za-z0-9._-]), else the request id. The correlation id goes on to
the service (which records it in the metadata of the events the request causes) and both ids
come back to the client.

The audit log answers "who called what, with which outcome": one JSON line per request on the
logger `styrkort.gateway.audit` (stdout, and the file GATEWAY_AUDIT_LOG if set) with time,
ids, key id and role, method, path (never the query string: it may hold names), service,
status and duration. No addresses, bodies or personal data. Health and metrics probes are
counted but not audited.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.logs import correlation_id

AUDIT_LOGGER = "styrkort.gateway.audit"
#: what orchestrators and scrapers poll every few seconds: counted, not audited (nobody's use)
PROBES = frozenset(("/healthz", "/readyz", "/metrics"))
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)


def sane_correlation_id(given: str | None) -> str | None:
    return given if given and _SANE_ID.fullmatch(given) else None


class _Line(logging.Formatter):
    """The record's message is already the JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


class _Stdout(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is when a line is written (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def audit_logger(path: str | None) -> logging.Logger:
    """The audit logger with one stdout handler and, if `path`, one file handler (once)."""
    logger = logging.getLogger(AUDIT_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # its lines are the audit trail, not the service's log
    wanted: list[logging.Handler] = []
    if not any(isinstance(h, _Stdout) for h in logger.handlers):
        wanted.append(_Stdout(sys.stdout))
    if path and not any(
        isinstance(h, logging.FileHandler) and h.baseFilename == _absolute(path)
        for h in logger.handlers
    ):
        wanted.append(logging.FileHandler(path, encoding="utf-8"))
    for handler in wanted:
        handler.setFormatter(_Line())
        logger.addHandler(handler)
    return logger


def _absolute(path: str) -> str:
    import os

    return os.path.abspath(path)


def install_observability(app: Flask, audit_path: str | None, registry: CollectorRegistry) -> None:
    """Ids first of all before_request hooks; audit line and metrics on every answer."""
    audit = audit_logger(audit_path)
    requests = Counter(
        "styrkort_gateway_requests",
        "requests answered by the gateway, by the service that answered and status",
        ["service", "status"],
        registry=registry,
    )
    seconds = Histogram(
        "styrkort_gateway_request_seconds",
        "time to the first byte of the gateway's answer, by service",
        ["service"],
        registry=registry,
    )

    @app.before_request
    def _ids() -> None:
        g.started = time.perf_counter()
        g.request_id = str(uuid.uuid4())
        g.correlation_id = (
            sane_correlation_id(request.headers.get("X-Correlation-Id")) or g.request_id
        )
        g.service = "gateway"
        correlation_id.set(g.correlation_id)

    @app.after_request
    def _record(response: Response) -> Response:
        if "request_id" not in g:  # a failure before the first hook: nothing to record
            return response
        response.headers["X-Request-Id"] = g.request_id
        response.headers["X-Correlation-Id"] = g.correlation_id
        duration = time.perf_counter() - g.started
        service = g.get("service") or "gateway"
        requests.labels(service, str(response.status_code)).inc()
        seconds.labels(service).observe(duration)
        if request.path in PROBES:
            return response
        identity = g.get("identity")
        audit.info(
            json.dumps(
                {
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "request_id": g.request_id,
                    "correlation_id": g.correlation_id,
                    "key_id": g.get("key_id"),
                    "role": identity.role if identity else None,
                    "method": request.method,
                    "path": request.path,
                    "service": service,
                    "status": response.status_code,
                    "duration_ms": round(duration * 1000, 1),
                },
                ensure_ascii=False,
            )
        )
        return response
