"""The first-run tour: `tour_context` for every page (is a tour due, which one), `POST /tour/done` to end it.

The tour itself is `static/tour.js` over the steps in `static/tours.json`; see `openspm.access.tours`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from openspm.access.principal import Principal
from openspm.access.tours import finish_tour, tour_finished, tour_role
from openspm.web.security import check_csrf, engine_of, page_principal

router = APIRouter()
SESSION_KEY = "tour_done"


class TourDone(BaseModel):
    step: int = Field(1, ge=0, le=100)
    of: int = Field(1, ge=0, le=100)


def tour_context(request: Request, principal: Principal | None) -> dict[str, Any]:
    """What base.html needs for the tour: the role, its page, and whether to start it by itself.

    Whether the user finished it is read from the store once per session, then kept in the session."""
    role = tour_role(principal) if principal is not None else None
    if principal is None or role is None:
        return {"role": None}
    done = request.session.get(SESSION_KEY)
    if not isinstance(done, bool):
        done = tour_finished(engine_of(request), principal)
        request.session[SESSION_KEY] = done
    return {"role": role, "page": principal.home, "due": not done}


@router.post("/tour/done", status_code=204)
def tour_done(request: Request, body: TourDone, principal: Principal = Depends(page_principal)) -> Response:
    """The user finished or skipped their tour (sent by tour.js with the session's CSRF header)."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    finish_tour(engine_of(request), principal, body.step, body.of)
    request.session[SESSION_KEY] = True
    return Response(status_code=204)
