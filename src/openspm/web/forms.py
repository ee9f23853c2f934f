"""What a page does with a form's change: run it, then redirect with a note, or show the page again.

`act(action, again, to, done)` runs `action()`; when it succeeds the answer is a 303 redirect to `to` with
`?done=<done>` (`done` is the note, or a function of what the action returned that makes it); when the change
is refused for its state (409) or its input (422) the answer is `again(status, reason)` (the page shown again
with the reason). A role that may not (403) raises on to the error page, and so does a thing outside the
user's scope (404) unless `not_found_shows_page` (the page shown again, as for 409/422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode

from fastapi.responses import RedirectResponse, Response

from openspm.access.errors import Forbidden
from openspm.core.errors import OpenSpmError

T = TypeVar("T")


def act(
    action: Callable[[], T],
    again: Callable[[int, str], Response],
    to: str,
    done: str | Callable[[T], str],
    *,
    not_found_shows_page: bool = False,
) -> Response:
    """Run a change; 409/422 show the page again with the reason, 403 (and 404 unless `not_found_shows_page`)
    are the error page; success redirects to `to?done=...`."""
    try:
        result = action()
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden) or (exc.http_status == 404 and not not_found_shows_page):
            raise
        return again(exc.http_status, str(exc))
    note = done if isinstance(done, str) else done(result)
    return RedirectResponse(f"{to}?" + urlencode({"done": note}), status_code=303)
