"""Server-sent events: `GET /events/dashboard?payee=` tells an open dashboard its payee's live earnings changed.

Each connection polls a cheap per-payee marker in the store (`realtime.service.change_marker`: how many live
earnings rows the payee has and when the newest was written) every `POLL_SECONDS`. Because the marker lives in
the store, a change made through any worker process (or by a run from the CLI) reaches every open dashboard,
whatever process serves it. Events:

- `ready` once, when the stream opens: `{"payee": ..}`;
- `earnings` when the payee's live earnings were rewritten: `{"payee": .., "updated_at": ..}`;
- a comment line (`: keep-alive`) every `HEARTBEAT_SECONDS`, so proxies keep the connection open.

Every event carries the marker as its `id`. The stream ends when the client goes away, or after `?timeout=`
seconds (default `LIFETIME_SECONDS`); `EventSource` then reconnects by itself (`retry`: after 2 s) sending the
last id as `Last-Event-ID`, and a marker that moved meanwhile is answered with an `earnings` event at once, so
no change is missed. Streams are short so that a server asked to stop (it waits for open responses to end)
stops within that time. A rep may watch only their own payee, a manager their team (as of today), other
roles anyone; anything else is 404, like every read.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from openspm.access.transactions import watched_payee_for
from openspm.realtime.service import change_marker
from openspm.web.security import api_principal, engine_of

router = APIRouter()
POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
LIFETIME_SECONDS = 30.0


def _marker_id(marker: tuple[int, str]) -> str:
    return f"{marker[0]}@{marker[1]}".replace("\n", " ")


def _event(name: str, data: dict[str, str], marker: tuple[int, str]) -> str:
    return f"id: {_marker_id(marker)}\nevent: {name}\ndata: {json.dumps(data)}\n\n"


async def _stream(
    request: Request,
    engine: Engine,
    payee_id: int,
    payee: str,
    seconds: float,
    seen: str | None,
    changes: int | None = None,
) -> AsyncIterator[str]:
    last = await run_in_threadpool(change_marker, engine, payee_id)
    yield "retry: 2000\n" + _event("ready", {"payee": payee}, last)
    told = 0
    if seen is not None and seen != _marker_id(last):  # changed while the client was reconnecting
        told += 1
        yield _event("earnings", {"payee": payee, "updated_at": last[1]}, last)
    started = beat = time.monotonic()
    while time.monotonic() - started < seconds and (changes is None or told < changes):
        await asyncio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return
        now = await run_in_threadpool(change_marker, engine, payee_id)
        if now != last:
            last = now
            beat = time.monotonic()
            told += 1
            yield _event("earnings", {"payee": payee, "updated_at": now[1]}, now)
        elif time.monotonic() - beat >= HEARTBEAT_SECONDS:
            beat = time.monotonic()
            yield ": keep-alive\n\n"


@router.get("/events/dashboard")
async def dashboard_events(
    request: Request,
    payee: str | None = Query(None, min_length=1, max_length=128, description="The payee (default: your own)"),
    timeout: float = Query(LIFETIME_SECONDS, ge=0.5, le=3600, description="End the stream after this many seconds"),
    changes: int | None = Query(None, ge=1, le=10_000, description="End it after this many `earnings` events"),
) -> StreamingResponse:
    """`text/event-stream` of changes to a payee's live earnings (session cookie or bearer token)."""
    engine = engine_of(request)
    who = await run_in_threadpool(api_principal, request)
    payee_id, name = await run_in_threadpool(watched_payee_for, engine, who, payee)
    return StreamingResponse(
        _stream(request, engine, payee_id, name, timeout, request.headers.get("last-event-id"), changes),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
