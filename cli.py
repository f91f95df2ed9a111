"""Flask CLI commands: `flask --app run <command>`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from botocore.exceptions import EndpointConnectionError
from flask import Flask, current_app
from flask.cli import with_appcontext
from pynamodb.exceptions import PynamoDBException

import config
import tables
from errors import AppError


def init_app(app: Flask) -> None:
    """Add the commands to `app`."""
    for command in (
        create_tables, create_user, set_roles, export_data, import_data, graphql_schema, persist_queries,
        hasura_jwt_config,
    ):
        app.cli.add_command(command)


def _fail_clearly(function):  # type: ignore[no-untyped-def]
    """Turn the errors an owner can fix into one line on stderr and exit status 1."""

    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return function(*args, **kwargs)
        except AppError as error:
            raise click.ClickException(error.message) from None
        except (EndpointConnectionError, PynamoDBException) as error:
            if isinstance(error, EndpointConnectionError) or isinstance(error.cause, EndpointConnectionError):
                endpoint = config.dynamodb_endpoint(current_app.config)
                hint = "start `python run.py` first" if config.uses_embedded_store(current_app.config) else (
                    "check DYNAMODB_HOST"
                )
                raise click.ClickException(f"Cannot reach DynamoDB at {endpoint}: {hint}.") from None
            raise click.ClickException(f"DynamoDB refused the request: {error.msg}") from None

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return with_appcontext(wrapper)


@click.command("create-tables")
@_fail_clearly
def create_tables() -> None:
    """Create the tables that do not exist yet."""
    created = tables.create_tables()
    click.echo(f"Created {', '.join(created)}." if created else "All tables exist.")


@click.command("create-user")
@click.option("--email", prompt=True)
@click.option("--first-name", default="", prompt="First name")
@click.option("--last-name", default="", prompt="Last name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", "roles", multiple=True, help="Repeat for several roles (default: user).")
@_fail_clearly
def create_user(email: str, first_name: str, last_name: str, password: str, roles: tuple[str, ...]) -> None:
    """Create a user (prompts for the password)."""
    from models import User

    user = User(email=email, first_name=first_name, last_name=last_name, roles=list(roles) or ["user"])
    user.password = password
    user.save()
    click.echo(f"Created user {user.email} ({user.id}).")


@click.command("set-roles")
@click.argument("email")
@click.argument("roles", nargs=-1, required=True)
@_fail_clearly
def set_roles(email: str, roles: tuple[str, ...]) -> None:
    """Replace the roles of the user with EMAIL (Hasura's allowed roles in its next tokens)."""
    from errors import NotFound, ValidationFailed
    from models import User

    cleaned = list(dict.fromkeys(role.strip() for role in roles))
    if not all(cleaned):
        raise ValidationFailed("A role must not be empty.")
    user = User.find_by_email(email)
    if user is None:
        raise NotFound(f"No user has the email {email}.")
    user.update(actions=[User.roles.set(cleaned)], condition=User.id.exists())
    click.echo(f"{user.email} ({user.id}) now has the roles: {', '.join(cleaned)}.")


@click.command("hasura-jwt-config")
@click.option("--url", help="The public base URL of this API (for jwk_url, with asymmetric keys).")
@with_appcontext
def hasura_jwt_config(url: str | None) -> None:
    """Print the HASURA_GRAPHQL_JWT_SECRET value that makes Hasura trust our tokens."""
    import json

    from hasura.claims import jwt_config

    settings = current_app.config
    if settings["JWT_ALGORITHM"] != "HS256" and not url:
        raise click.UsageError(f"JWT_ALGORITHM={settings['JWT_ALGORITHM']}: give --url, the API's public base URL")
    if not settings["HASURA_CLAIMS"]:
        click.echo("Note: HASURA_CLAIMS is off; Hasura refuses tokens without its claims.", err=True)
    jwk_url = url.rstrip("/") + "/.well-known/jwks.json" if url else None
    click.echo(json.dumps(jwt_config(settings, jwk_url), separators=(",", ":")))


@click.command("export-data")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@_fail_clearly
def export_data(file: str) -> None:
    """Write every item of every table to FILE as JSON Lines (- for stdout)."""
    if file == "-":
        count = tables.export_data(sys.stdout)
    else:
        path = Path(file)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "w", encoding="utf-8") as out:
            count = tables.export_data(out)
        partial.replace(path)  # a failed export leaves the previous file whole
    click.echo(f"Exported {count} items.", err=True)


@click.command("import-data")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@_fail_clearly
def import_data(file) -> None:  # type: ignore[no-untyped-def]
    """Write the items of a JSON Lines export (FILE, or - for stdin) into the tables."""
    tables.create_tables()
    try:
        count = tables.import_data(file)
    except tables.BadImportFile as error:
        raise click.ClickException(f"Nothing was imported: {error}") from None
    click.echo(f"Imported {count} items.", err=True)


@click.command("graphql-schema")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--format", "format_", type=click.Choice(["sdl", "json"]), default="sdl", show_default=True)
def graphql_schema(out: str | None, format_: str) -> None:
    """Print the GraphQL schema as SDL (relay-compiler) or introspection JSON (schema.json)."""
    import json

    from schema import introspection, sdl

    text = sdl() if format_ == "sdl" else json.dumps(introspection(), indent=2) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {out}.", err=True)
    else:
        click.echo(text, nl=False)


@click.command("persist-queries")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The JSON file to write.")
def persist_queries(directory: str, out: str) -> None:
    """Write the trusted documents of DIRECTORY's .graphql files, {sha256: text}, for PERSISTED_QUERIES_FILE."""
    import json

    from persisted import PersistFailed, build_map
    from schema import schema

    files = sorted(Path(directory).rglob("*.graphql"))
    if not files:
        raise click.ClickException(f"No .graphql files under {directory}.")
    try:
        documents = build_map(files, schema.graphql_schema)
    except PersistFailed as error:
        raise click.ClickException(f"Nothing was written: {error}") from None
    Path(out).write_text(json.dumps(documents, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    click.echo(f"Wrote {len(documents)} documents from {len(files)} files to {out}.", err=True)
