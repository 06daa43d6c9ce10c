"""Prometheus metrics, on a registry of their own (served at `/metrics`).

Labels are bounded by construction: a route *template* (`/api/v1/images/{image_id}`, never the
raw path), a method, a status class; nothing per user, per image or per address.

Several server processes on one host (docs/deploy.md): with `PROMETHEUS_MULTIPROC_DIR` set to an
empty folder that every process of the host shares, prometheus_client keeps each process's values
in a file there, and `/metrics` answered by *any* of them sums them all, so one scrape (straight
to a worker, or through nginx, which picks a worker at random) gives the host's totals. Without
it each process counts alone, and a scrape through nginx would see a different process's counters
each time. prometheus_client reads the variable when it is first imported, so it must be in the
environment the process starts with; the folder must be emptied before the first process of the
host starts (not when one restarts: the files of exited processes keep their counts, which keeps
every counter monotonic). A Gauge added later must name its `multiprocess_mode` ("livesum",
"max", ...); `process_exited` removes the live gauges of a process that ends.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # this process's CPU and memory (not in multiprocess mode)


def multiprocess_dir() -> str | None:
    """The folder this host's server processes share their metrics in, if one is set."""
    return os.environ.get(MULTIPROC_DIR) or None


def exposition() -> bytes:
    """The text `/metrics` answers: this process's metrics, or in multiprocess mode every
    process's of this host, summed."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_exited() -> None:
    """In multiprocess mode, drop this process's live gauges (its counters stay counted)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


REQUEST_SECONDS = Histogram(
    "imagerepo_request_duration_seconds",
    "Time from request to the end of the response, by route template.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
UPLOADS = Counter(
    "imagerepo_uploads_total",
    "Upload requests answered, by outcome status (201 stored, 200 already there, 4xx refused).",
    ["status"],
    registry=REGISTRY,
)
UPLOAD_BYTES = Counter(
    "imagerepo_upload_bytes_total", "Request body bytes received by uploads.", registry=REGISTRY
)
CACHE_LOOKUPS = Counter(
    "imagerepo_cache_lookups_total",
    "Metadata cache lookups by result (hit or miss); hit ratio = hit / (hit + miss).",
    ["result"],
    registry=REGISTRY,
)
DATABASE_CONFLICTS = Counter(
    "imagerepo_database_conflicts_total",
    "PostgreSQL serialization failures and deadlocks, by what followed (retried, gave_up: 503).",
    ["result"],
    registry=REGISTRY,
)
JOB_FAILURES = Counter(
    "imagerepo_job_failures_total",
    "Failed runs of image-processing jobs in this process (each retry that fails counts).",
    registry=REGISTRY,
)
IMAGES_BY_STATE = Gauge(
    "imagerepo_images",
    "Images whose derivative work is processing (queue depth, from the database) or failed.",
    ["state"],
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",  # the library's count, read by whichever was scraped
)
JOBS_PENDING = Gauge(
    "imagerepo_jobs_pending",
    "Jobs waiting in the job queue (the queue's own count: in-process or procrastinate).",
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
