"""Server-rendered pages (Jinja2 + htmx): sign-in, rep, manager, admin."""
