"""The application factory: settings, extensions, endpoints, error handlers and CLI commands."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

import account
import auth
import cli
import config
import faults
import logs
import models
import passwords
from errors import AppError, InternalError, error_response, from_http_exception
from graphql_http import GraphQLView
from limits import Limits

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(config_overrides: Mapping[str, Any] | None = None) -> Flask:
    """Create the app; settings are defaults, then the environment, then `config_overrides`."""
    settings = config.load_settings(config_overrides)
    app = Flask(__name__, static_folder=None)
    app.config.update(settings)
    app.config["JWT_SECRET_KEY"] = config.jwt_secret(settings)
    app.config["TESTING"] = settings["APP_ENV"] == "test"
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logs.configure(settings)
    models.configure(settings)
    passwords.configure_concurrency(settings["PASSWORD_HASH_CONCURRENCY"])

    _init_cors(app)
    auth.init_app(app)
    if settings["HASURA_CLAIMS"] or config.hasura_enabled(settings):
        import hasura  # only then: deployments without Hasura import none of it

        hasura.init_app(app)
    account.init_app(app)
    _init_graphql(app)
    if app.config["UPSTREAM_GRAPHQL_URL"]:
        import proxy  # only then: httpx and the client stay off every other cold start

        proxy.init_app(app)
    _init_request_ids(app)
    _init_error_handlers(app)
    cli.init_app(app)
    return app


def _init_cors(app: Flask) -> None:
    origins = app.config["CORS_ORIGINS"]
    if not origins:
        return
    from flask_cors import CORS

    CORS(
        app,
        origins=origins,
        supports_credentials="*" not in origins,  # credentials only for named origins
        send_wildcard="*" in origins,
        allow_headers=["Authorization", "Content-Type", "X-CSRF-TOKEN", "X-Request-ID"],
        expose_headers=["X-Request-ID", "WWW-Authenticate", "Retry-After"],  # Retry-After: 429s
        max_age=600,
    )


def _init_graphql(app: Flask) -> None:
    import graphene_pynamo
    from schema import Context, introspection, schema, sdl

    graphene_pynamo.configure(
        # A key of its own, derived from the JWT secret: one secret to manage, two uses kept apart.
        cursor_secret=hmac.new(app.config["JWT_SECRET_KEY"].encode(), b"relay cursors", hashlib.sha256).hexdigest(),
        max_page_size=app.config["GRAPHQL_MAX_PAGE_SIZE"],
        max_items_read=app.config["GRAPHQL_MAX_ITEMS_READ"],
    )

    def context() -> Context:
        return Context(viewer=auth.authenticate(), request_id=g.request_id)

    settings = app.config
    graphiql_page = None
    if settings["GRAPHIQL"]:  # development only: production does not import it
        import graphiql

        graphiql_page = graphiql.graphiql_html()
    persisted = None
    if settings["PERSISTED_QUERIES_FILE"]:
        from persisted import PersistedDocuments

        persisted = PersistedDocuments.from_file(settings["PERSISTED_QUERIES_FILE"], schema.graphql_schema)
    view = GraphQLView(
        schema.graphql_schema,
        context=context,
        graphiql_html=graphiql_page,
        limits=Limits(
            max_document_size=settings["GRAPHQL_MAX_DOCUMENT_SIZE"],
            max_tokens=settings["GRAPHQL_MAX_TOKENS"],
            max_depth=settings["GRAPHQL_MAX_DEPTH"],
            max_aliases=settings["GRAPHQL_MAX_ALIASES"],
            max_root_fields=settings["GRAPHQL_MAX_ROOT_FIELDS"],
            max_repeated_fields=settings["GRAPHQL_MAX_REPEATED_FIELDS"],
            max_cost=settings["GRAPHQL_MAX_COST"],
            page_size=settings["GRAPHQL_MAX_PAGE_SIZE"],
        ),
        cache_size=settings["GRAPHQL_CACHE_SIZE"],
        timeout=settings["GRAPHQL_TIMEOUT"],
        introspection=settings["GRAPHQL_INTROSPECTION"],
        report_cost=settings["GRAPHQL_REPORT_COST"],
        persisted=persisted,
        trusted_documents_only=settings["TRUSTED_DOCUMENTS_ONLY"],
        # With introspection off, a caller an extension trusts may still introspect (Hasura's Remote Schema).
        may_introspect=app.extensions.get("may_introspect"),
    )
    app.add_url_rule("/graphql", "graphql", view, methods=["GET", "POST"])

    access = app.config["GRAPHQL_SCHEMA_ACCESS"]
    if access == "off":
        return

    @app.get("/graphql-schema")
    def graphql_schema() -> Response:
        """Serve the schema as introspection JSON (Relay's schema.json) or, with ?format=sdl, as SDL."""
        if access == "token":
            auth.authenticate()
        if request.args.get("format") == "sdl":
            return Response(sdl(), content_type="text/plain; charset=utf-8")
        return jsonify(introspection())


def _init_request_ids(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        # On Lambda, the invocation's id (set by lambda_handler): the one CloudWatch shows.
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = logs.request_id.get() or (incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex)
        g.request_id_token = logs.request_id.set(g.request_id)  # on every log line of the request

    @app.teardown_request
    def forget_request_id(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.request_id.reset(token)

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        fault = g.get("dynamodb_fault")
        if fault is not None:  # also when a resolver's error was rendered inside a 200 GraphQL answer
            response.headers.setdefault("Retry-After", str(fault.retry_after))
        return response


def _init_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def app_error(error: AppError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return error_response(*from_http_exception(error))

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        fault = faults.as_app_error(error)
        if isinstance(fault, AppError):  # DynamoDB is down or throttling: logged in one line already
            return error_response(fault)
        log.error("unexpected error (request %s)", g.get("request_id", "-"), exc_info=error)
        return error_response(InternalError())

