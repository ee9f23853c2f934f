"""Running jobs: the `JobQueue` interface, and the embedded default that runs jobs in this process.

`queue.enqueue(job_id)` hands a submitted job (`service.submit`) to whatever runs jobs. The embedded default,
`InProcessQueue`, runs them on a small pool of worker threads in the process that submitted them (one job at a
time by default: a run holds a month's data in memory), calling the handler registered for the job's kind and
recording its progress, result or error in the `jobs` table. Production replaces it with a real queue on
PostgreSQL (or Redis) whose workers call `execute(engine, job_id)`: the handlers, the table and everything that
reads it stay the same.

A handler is `handler(engine, job, progress) -> result`: it calls `progress(fraction, message, partial_result)`
as it goes and returns its result (a JSON object); an exception marks the job failed with its message, and
keeps the partial result it last reported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy import Engine

from openspm.jobs import service
from openspm.jobs.service import JobView

Reporter = Callable[[float, str, dict[str, Any] | None], None]
Handler = Callable[[Engine, JobView, Reporter], dict[str, Any]]

HANDLERS: dict[str, Handler] = {}
log = logging.getLogger(__name__)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of `kind`."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


class JobQueue(Protocol):
    """What runs submitted jobs."""

    def enqueue(self, job_id: int) -> None: ...


def execute(engine: Engine, job_id: int) -> None:
    """Run one queued job to its end: running, its progress, then succeeded with its result or failed with
    the error. A job another worker already took is left alone."""
    _load_handlers()
    if not service.start(engine, job_id):
        return
    job = service.get(engine, job_id)
    partial: dict[str, Any] = {}

    def progress(fraction: float, message: str, result: dict[str, Any] | None = None) -> None:
        if result is not None:
            partial.clear()
            partial.update(result)
        service.report(engine, job_id, fraction, message, result)

    try:
        run = HANDLERS.get(job.kind)
        if run is None:
            raise LookupError(f"no handler for jobs of kind {job.kind!r}")
        result = run(engine, job, progress)
    except Exception as exc:  # any failure is the job's, recorded for whoever follows it
        log.info("job %s (%s) failed: %s", job_id, job.kind, exc)
        service.fail(engine, job_id, str(exc) or type(exc).__name__, dict(partial) if partial else None)
        return
    message = str(result.pop("message", "done"))
    service.succeed(engine, job_id, result, message)


def _load_handlers() -> None:
    """Import the modules that register handlers (each kind's module registers itself on import)."""
    from openspm.jobs import forecasts, plan_models, planning_evaluations, runs, territory_designs, whatif  # noqa: F401


class InProcessQueue:
    """The embedded default: jobs run on `workers` threads of this process, in the order they came."""

    def __init__(self, engine: Engine, workers: int = 1) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openspm-job")
        self._futures: dict[int, Future[None]] = {}
        self._lock = threading.Lock()

    def enqueue(self, job_id: int) -> None:
        with self._lock:
            self._futures[job_id] = self._pool.submit(execute, self.engine, job_id)

    def wait(self, job_id: int, timeout: float | None = None) -> JobView:
        """Block until the job is done here (for tests and the CLI), then its record."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout)
        return service.get(self.engine, job_id)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)
