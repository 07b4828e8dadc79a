"""Prometheus metrics: what an operator watches, never about whom.

Labels are route templates, methods, statuses, problem codes, database
causes, and the OINs of the organisations whose inboxes wait: never a
newcomer's V-nummer, BSN or pseudonym, so a label set can be kept and
shown freely. Under ``gateway serve`` with metrics on, each worker writes
its samples to ``PROMETHEUS_MULTIPROC_DIR`` and a scrape sums every
worker's (prometheus-client's multiprocess mode); in one process the
default registry serves. Recording never raises into a request.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("gateway_requests", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "gateway_request_seconds",
    "Time to answer, by route (intake: /v1/messages…, pull: /v1/inbox)",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
REFUSALS = Counter("gateway_refusals", "Problem answers, by problem code", ["code"])
DATABASE_ERRORS = Counter(
    "gateway_database_errors", "Database errors, by cause (locked, disk full, …)", ["cause"]
)


def observe(route: str, method: str, status: int, seconds: float, code: str | None) -> None:
    """Count one answer. Never raises: metrics must not change an answer."""
    with contextlib.suppress(Exception):
        REQUESTS.labels(route, method, str(status)).inc()
        LATENCY.labels(route).observe(seconds)
        if code:
            REFUSALS.labels(code).inc()


def database_error(cause: str) -> None:
    with contextlib.suppress(Exception):
        DATABASE_ERRORS.labels(cause).inc()


class _State(Collector):
    """Gauges read from the database at the scrape: the same for every worker."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self.read()
        yield GaugeMetricFamily(
            "gateway_audit_tree_size", "Entries in the audit log", value=state["tree_size"]
        )
        age = GaugeMetricFamily(
            "gateway_checkpoint_age_seconds", "Age of the newest signed checkpoint"
        )
        if state["checkpoint_age"] is not None:
            age.add_metric([], state["checkpoint_age"])
        yield age
        backlog = GaugeMetricFamily(
            "gateway_inbox_backlog",
            "Unacknowledged deliveries, by recipient (a municipality or provider)",
            labels=["recipient"],
        )
        for recipient, count in sorted(state["backlog"].items()):
            backlog.add_metric([recipient], count)
        yield backlog


def render(read_state: Callable[[], dict[str, Any]]) -> bytes:
    """The text exposition of every worker's samples and the database's gauges."""
    state = CollectorRegistry()
    state.register(_State(read_state))
    if os.environ.get(MULTIPROC_ENV):
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)  # type: ignore[no-untyped-call]
        return generate_latest(workers) + generate_latest(state)
    return generate_latest(REGISTRY) + generate_latest(state)


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit (multiprocess mode only): the dead worker's live gauges leave
    the sums."""
    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
