"""What a page does with a form's change: run it, then redirect with a note, or show the page again.

`act(action, again, to, done)` runs `action()`; when it succeeds the answer is a 303 redirect to `to` with
`?done=<done>`; when the change is refused for its state (409) or its input (422) the answer is
`again(status, reason)` (the page shown again with the reason); a role that may not (403) or a thing outside
the user's scope (404) raises on to the error page.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from fastapi.responses import RedirectResponse, Response

from openspm.access.errors import Forbidden
from openspm.core.errors import OpenSpmError


def act(action: Callable[[], object], again: Callable[[int, str], Response], to: str, done: str) -> Response:
    """Run a change; 409/422 show the page again with the reason, 403/404 are the error page."""
    try:
        action()
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden) or exc.http_status == 404:
            raise
        return again(exc.http_status, str(exc))
    return RedirectResponse(f"{to}?" + urlencode({"done": done}), status_code=303)
