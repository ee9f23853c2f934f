"""The JSON API, `/api/v1`: bearer API tokens or the session cookie; OpenAPI docs at /api/docs."""
