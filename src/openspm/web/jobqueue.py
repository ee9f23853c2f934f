"""The job queue of the web app: the embedded in-process queue, made on first use and kept on the app.

Each web process has its own; since progress lives in the `jobs` table, any process shows any job. A real queue
(PostgreSQL or Redis workers calling `jobs.queue.execute`) would be set here as `app.state.job_queue`.
"""

from __future__ import annotations

import threading

from fastapi import Request

from openspm.jobs.queue import InProcessQueue, JobQueue
from openspm.web.security import engine_of

_LOCK = threading.Lock()


def queue_of(request: Request) -> JobQueue:
    """The app's job queue (an `InProcessQueue` running one job at a time, unless one was set)."""
    state = request.app.state
    with _LOCK:
        queue: JobQueue | None = getattr(state, "job_queue", None)
        if queue is None:
            queue = InProcessQueue(engine_of(request), workers=1)
            state.job_queue = queue
        return queue
