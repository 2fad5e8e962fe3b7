"""``flask --app webinars ...`` commands: a thin door over the services."""

from __future__ import annotations

import sys

import click
from flask import Flask

from . import accounts, demo
from .errors import DomainError


def _fail(exc: DomainError) -> None:
    raise click.ClickException(exc.message)


def register_cli(app: Flask) -> None:
    """Attach the commands to the app."""

    @app.cli.command("create-organizer")
    @click.argument("email")
    @click.option("--name", default="", help="Display name.")
    @click.option("--password-stdin", is_flag=True,
                  help="Read the password from standard input instead of asking.")
    def create_organizer(email: str, name: str, password_stdin: bool) -> None:
        """Create an organizer account (asks for its password)."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            organizer = accounts.create_organizer(email, password, name)
        except DomainError as exc:
            _fail(exc)
        click.echo(f"Created organizer {organizer.email}.")

    @app.cli.command("create-token")
    @click.argument("email")
    @click.option("--name", default="cli", help="A label to recognise the token by.")
    def create_token(email: str, name: str) -> None:
        """Print a new API token for an organizer (shown once; only its hash is kept)."""
        organizer = accounts.find_organizer(email)
        if organizer is None:
            raise click.ClickException(f"No organizer with the address {email}.")
        click.echo(accounts.create_token(organizer, name))

    @app.cli.command("revoke-tokens")
    @click.argument("email")
    def revoke_tokens(email: str) -> None:
        """Revoke every API token of an organizer."""
        try:
            count = accounts.revoke_tokens(email)
        except DomainError as exc:
            _fail(exc)
        click.echo(f"Revoked {count} token(s).")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo events (idempotent)."""
        created = demo.seed()
        if created:
            click.echo("Created " + ", ".join(created) + ".")
        else:
            click.echo("The demo events exist already.")
