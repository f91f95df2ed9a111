"""The GraphQL client's command line: `python client.py QUERY_OR_FILE --url URL [auth flags]`.

Prints the JSON result. Exit status 0 on success, 1 when the answer has GraphQL errors or the
call fails, 2 on usage errors; every failure is one line on stderr. Passwords and client
secrets come from the environment or a prompt, never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import httpx

from client import (
    ClientCredentialsAuth,
    GraphQLClient,
    GraphQLClientError,
    GraphQLResponseError,
    PasswordAuth,
    StaticTokenAuth,
)

PASSWORD_VARIABLE = "GRAPHQL_PASSWORD"
CLIENT_SECRET_VARIABLE = "GRAPHQL_CLIENT_SECRET"
TOKEN_VARIABLE = "GRAPHQL_TOKEN"


class UsageError(Exception):
    """The command line cannot be run as given."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    """Return the command line's parser."""
    parse = _Parser(
        prog="python client.py",
        description="Run one GraphQL operation and print the JSON result.",
        epilog=f"Secrets come from {PASSWORD_VARIABLE}, {CLIENT_SECRET_VARIABLE} (or a prompt) and {TOKEN_VARIABLE}.",
    )
    parse.add_argument("query", metavar="QUERY_OR_FILE", help="the GraphQL document, a file holding it, or - (stdin)")
    parse.add_argument("--url", required=True, help="the GraphQL endpoint, e.g. http://127.0.0.1:5000/graphql")
    parse.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="a string variable; NAME:=JSON for any JSON"
    )
    parse.add_argument("--variables", metavar="JSON", help="a JSON object of variables (--var entries win)")
    parse.add_argument("--operation-name", help="the operation to run when the document has several")
    who = parse.add_mutually_exclusive_group()
    who.add_argument("--email", help=f"log in at /login as this user; password from {PASSWORD_VARIABLE} or a prompt")
    who.add_argument("--token-url", help=f"OAuth2 client credentials; secret from {CLIENT_SECRET_VARIABLE} or a prompt")
    who.add_argument("--token", help=f"a bearer token ({TOKEN_VARIABLE} keeps it out of the process list)")
    parse.add_argument("--client-id", help="the OAuth2 client id (with --token-url)")
    parse.add_argument("--scope", help="OAuth2 scopes, space separated (with --token-url)")
    parse.add_argument("--auth-url", help="where /login and /refresh are (default: --url without its last segment)")
    parse.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default 30)")
    return parse


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    """Run the command line and return its exit status."""
    try:
        args = parser().parse_args(argv)
        query = _read_query(args.query)
        variables = _variables(args.variables, args.var)
        auth = _auth(args, environ)
    except UsageError as error:
        print(f"usage error: {error} (see python client.py --help)", file=sys.stderr)
        return 2
    with GraphQLClient(args.url, auth=auth, timeout=args.timeout) as client:
        try:
            data = client.execute(query, variables or None, args.operation_name)
        except GraphQLResponseError as error:
            print(json.dumps({"data": error.data, "errors": error.errors}, indent=2, ensure_ascii=False))
            print(f"error: {error}", file=sys.stderr)
            return 1
        except GraphQLClientError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(json.dumps({"data": data}, indent=2, ensure_ascii=False))
    return 0


def _read_query(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    if "{" in source:  # every operation has a selection set: this is a document, not a file name
        return source
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read the query file {source}: {error.strerror}") from None


def _variables(variables_json: str | None, pairs: list[str]) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    if variables_json is not None:
        try:
            variables = json.loads(variables_json)
        except ValueError as error:
            raise UsageError(f"--variables is not valid JSON: {error}") from None
        if not isinstance(variables, dict):
            raise UsageError("--variables must be a JSON object")
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.rstrip(":"):
            raise UsageError(f"--var {pair!r}: write NAME=VALUE, or NAME:=JSON")
        if name.endswith(":"):
            name = name[:-1]
            try:
                variables[name] = json.loads(value)
            except ValueError as error:
                raise UsageError(f"--var {name}:= is not valid JSON: {error}") from None
        else:
            variables[name] = value
    return variables


def _auth(args: argparse.Namespace, environ: Mapping[str, str]) -> httpx.Auth | None:
    if (args.client_id or args.scope) and not args.token_url:
        raise UsageError("--client-id and --scope go with --token-url")
    if args.email:
        base_url = args.auth_url or args.url.rstrip("/").rsplit("/", 1)[0]
        return PasswordAuth(base_url, args.email, _secret(environ, PASSWORD_VARIABLE, f"Password for {args.email}: "))
    if args.token_url:
        if not args.client_id:
            raise UsageError("--token-url needs --client-id")
        secret = _secret(environ, CLIENT_SECRET_VARIABLE, f"Client secret for {args.client_id}: ")
        return ClientCredentialsAuth(args.token_url, args.client_id, secret, scope=args.scope)
    token = args.token or environ.get(TOKEN_VARIABLE)
    return StaticTokenAuth(token) if token else None


def _secret(environ: Mapping[str, str], variable: str, prompt: str) -> str:
    """Return a secret from the environment, else from a prompt that does not echo it."""
    value = environ.get(variable)
    if value:
        return value
    if not sys.stdin.isatty():
        raise UsageError(f"set {variable}, or run in a terminal to be prompted")
    value = getpass.getpass(prompt)
    if not value:
        raise UsageError(f"no secret given: set {variable} or type it at the prompt")
    return value
