"""Prometheus metrics: counts read from the database at scrape time (exact across processes)
and request latency of this web process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.consumer import GAVE_UP
from shared.runtime import Runtime


class StoreCollector(Collector):
    """Events appended, relay lag and consumer state, from the service's own database."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        service = self.runtime.config.service
        with self.runtime.pool.connection() as conn:
            last = self.runtime.store.last_position(conn)
            relays = conn.execute("SELECT relay, position FROM relay_checkpoints").fetchall()
            blocks = dict(conn.execute("SELECT relay, position FROM relay_blocks").fetchall())
            gaps = conn.execute(
                "SELECT count(*) FROM consumer_gaps WHERE resolved_at IS NULL"
            ).fetchone()
            rejects = conn.execute(
                "SELECT count(*) FILTER (WHERE reason NOT LIKE %s), "
                "count(*) FILTER (WHERE reason LIKE %s) FROM consumer_rejects",
                [f"{GAVE_UP}%", f"{GAVE_UP}%"],
            ).fetchone()
            streams = conn.execute(
                "SELECT source, count(*), coalesce(max(applied_at), 'epoch') "
                "FROM consumed_streams GROUP BY source"
            ).fetchall()
        appended = GaugeMetricFamily(
            "styrkort_events_appended", "events in the store", labels=["service"]
        )
        appended.add_metric([service], last)
        yield appended
        lag = GaugeMetricFamily(
            "styrkort_relay_lag_events",
            "events appended but not yet acknowledged by the broker",
            labels=["service", "relay"],
        )
        for relay, position in relays:
            lag.add_metric([service, relay], last - position)
        yield lag
        blocked = GaugeMetricFamily(
            "styrkort_relay_blocked_position",
            "the position a relay stopped at on a permanent produce error (0: not stopped); "
            "it waits for an administrator (relay-status, relay-skip, relay-retry)",
            labels=["service", "relay"],
        )
        for relay, _ in relays:
            blocked.add_metric([service, relay], blocks.get(relay, 0))
        yield blocked
        gap = GaugeMetricFamily(
            "styrkort_consumer_open_gaps", "version gaps not yet filled", labels=["service"]
        )
        gap.add_metric([service], gaps[0] if gaps else 0)
        yield gap
        rejected = GaugeMetricFamily(
            "styrkort_consumer_rejected",
            "messages recorded as rejected: unreadable, or failing every attempt",
            labels=["service", "cause"],
        )
        unreadable, failing = rejects or (0, 0)
        rejected.add_metric([service, "unreadable"], unreadable)
        rejected.add_metric([service, "failing"], failing)
        yield rejected
        followed = GaugeMetricFamily(
            "styrkort_consumer_streams",
            "foreign streams applied, by source",
            labels=["service", "source"],
        )
        applied_at = GaugeMetricFamily(
            "styrkort_consumer_last_applied_seconds",
            "Unix time of the last applied event, by source",
            labels=["service", "source"],
        )
        for source, count, last_applied in streams:
            followed.add_metric([service, source], count)
            applied_at.add_metric([service, source], last_applied.timestamp())
        yield followed
        yield applied_at


def install_metrics(app: Flask, runtime: Runtime) -> Callable[[], bytes]:
    """Time every request; return the function that renders /metrics."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(runtime))
    latency = Histogram(
        "styrkort_http_request_seconds",
        "request latency",
        ["service", "method", "status"],
        registry=registry,
    )

    @app.before_request
    def _start() -> None:
        g.metrics_start = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        start: Any = g.get("metrics_start")
        if start is not None:
            latency.labels(
                runtime.config.service, request.method, str(response.status_code)
            ).observe(time.perf_counter() - start)
        return response

    return lambda: generate_latest(registry)
