"""`imagerepo worker`: run job workers (previews, full-size copies) beside the servers.

Only for the scaled profile, where `IMAGEREPO_QUEUE_URL` names the PostgreSQL database whose
procrastinate tables hold the jobs; the embedded profile runs its jobs inside the server. Start
as many workers, on as many machines, as the CPU work needs: each builds the same services as a
server (same database, storage and locks) and takes jobs `--concurrency` at a time. SIGTERM or
Ctrl-C stops it; a job it was running is handed out again (its heartbeat stops), and even a
SIGKILL loses nothing (every job is idempotent, and the recovery sweep finds lost ones).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from imagerepo.cli.runner import fail, guarded
from imagerepo.cli.serve import DataDirOption, server_settings


@guarded
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            help="Jobs run at once (default: $IMAGEREPO_JOB_CONCURRENCY, 2).",
            show_default=False,
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=1,
            max=65535,
            help="Serve this worker's Prometheus metrics (job failures) on this port.",
            show_default=False,
        ),
    ] = None,
    metrics_address: Annotated[
        str, typer.Option("--metrics-address", help="Address the metrics port binds to.")
    ] = "127.0.0.1",
    data_dir: DataDirOption = None,
) -> None:
    """Run job workers until stopped (needs IMAGEREPO_QUEUE_URL)."""
    settings = server_settings(data_dir=data_dir, job_concurrency=concurrency)
    if settings.queue_url is None:
        fail(
            "no job queue is configured: set IMAGEREPO_QUEUE_URL=postgresql://... (without it,"
            " the server runs its jobs itself)"
        )
    from imagerepo.db.engine import check_schema_blocking
    from imagerepo.logs import configure_logging
    from imagerepo.wiring import build_services

    configure_logging(settings)
    check_schema_blocking(settings.resolved_database_url)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from imagerepo.metrics import REGISTRY

        start_http_server(metrics_port, addr=metrics_address, registry=REGISTRY)

    async def go() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        async with build_services(settings, run_jobs=False) as services:
            assert services.processing is not None
            await services.processing.jobs.ping()  # one line if `migrate` has not run
            try:
                await services.processing.run(
                    concurrency=settings.job_concurrency,
                    sweep_seconds=settings.job_sweep_seconds,
                )
            except asyncio.CancelledError:
                return

    asyncio.run(go())
