"""Prometheus metrics of this process, on a registry of their own (served at `/metrics`).

Labels are bounded by construction: a route *template* (`/api/v1/images/{image_id}`, never the
raw path), a method, a status class; nothing per user, per image or per address.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

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
)
JOBS_PENDING = Gauge(
    "imagerepo_jobs_pending",
    "Jobs waiting in the job queue (the queue's own count: in-process or procrastinate).",
    registry=REGISTRY,
)
