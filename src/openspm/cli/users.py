"""`openspm user set-password EMAIL` and `openspm token create|revoke|list`."""

from __future__ import annotations

import typer

from openspm.cli.common import actor, open_store, stdout, user_errors

user_app = typer.Typer(help="Users who sign in to the web app.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for integrations (scoped, revocable).", no_args_is_help=True)


@user_app.command("set-password")
def set_password_command(
    email: str = typer.Argument(..., help="The user's sign-in email"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for when not given (recommended)"
    ),
) -> None:
    """Set a user's password (stored as an argon2 hash)."""
    from openspm.auth.service import set_password

    with user_errors():
        set_password(open_store(), email, password, actor())
    typer.echo(f"{email}: password set")


@token_app.command("create")
def token_create_command(
    email: str = typer.Argument(..., help="The user the token acts as"),
    scope: list[str] = typer.Option(["read"], "--scope", help="read or write (write includes read); repeatable"),
    name: str = typer.Option("", "--name", help="What the token is for"),
) -> None:
    """Create an API token; it is printed once and only its hash is kept."""
    from openspm.auth.service import create_token

    with user_errors():
        view, token = create_token(open_store(), email, scope, actor(), name)
    typer.echo(f"token {view.id} for {view.user} ({', '.join(view.scopes)}): shown once, keep it safe")
    typer.echo(token)


@token_app.command("revoke")
def token_revoke_command(token_id: int = typer.Argument(..., help="The token's id (openspm token list)")) -> None:
    """Revoke an API token: it answers 401 from now on."""
    from openspm.auth.service import revoke_token

    with user_errors():
        view = revoke_token(open_store(), token_id, actor())
    typer.echo(f"token {view.id} of {view.user} revoked")


@token_app.command("list")
def token_list_command(email: str | None = typer.Argument(None, help="Only this user's tokens")) -> None:
    """API tokens: id, user, scopes, created, last used, revoked."""
    from openspm.auth.service import tokens

    with user_errors():
        found = tokens(open_store(), email)
    for t in found:
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        state = f"revoked {t.revoked_at.isoformat(timespec='seconds')}" if t.revoked_at else "active"
        stdout.print(
            f"{t.id:>4}  {t.user:<36} {','.join(t.scopes):<10} {t.prefix}…  created "
            f"{t.created_at.isoformat(timespec='seconds')}  last used {used}  {state}",
            highlight=False,
        )
