"""The AWS Lambda entry point (`lambda_handler.handler`): API Gateway events to the WSGI app.

Imported by the Lambda runtime (the cold start), it reads the configuration once,
fetches the JWT secret from SSM Parameter Store if JWT_SECRET_PARAMETER names one, and
builds the app (run.py's). It sends no DynamoDB request and creates no table: PynamoDB
connects on the first event. A configuration error ends the cold start with one log
line saying what to fix.
"""

from __future__ import annotations

import gc
import logging
import os
import random
from collections.abc import Callable
from typing import Any

from apig_wsgi import make_lambda_handler

import logs
from config import ConfigError, load_settings

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def make_handler(wsgi_app: Callable[..., Any]) -> Handler:
    """Return a Lambda handler that serves API Gateway HTTP API (v2) and REST API (v1) events."""
    # apig-wsgi decodes base64 bodies, joins multi-value headers and cookies, and answers
    # v2 events with `cookies` and v1 events with `multiValueHeaders` when they sent them.
    serve = make_lambda_handler(wsgi_app)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        token = logs.request_id.set(getattr(context, "aws_request_id", None))
        try:
            return serve(event, context)
        finally:
            logs.request_id.reset(token)

    return handler


def load_jwt_secret(environ: Any = os.environ) -> None:
    """Put the SecureString named by JWT_SECRET_PARAMETER into JWT_SECRET_KEY, unless that is set."""
    settings = load_settings(environ=environ)
    name = settings["JWT_SECRET_PARAMETER"]
    if not name or (settings["JWT_SECRET_KEY"] and environ.get(_SECRET_FROM_SSM) != name):
        return
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        # Credentials come from the environment: on Lambda, the role's temporary keys.
        client = botocore.session.get_session().create_client("ssm", region_name=settings["AWS_REGION"])
        environ["JWT_SECRET_KEY"] = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        environ[_SECRET_FROM_SSM] = name  # so that a restored snapshot knows to read it again
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise ConfigError(
            f"JWT_SECRET_PARAMETER {name}: SSM answered {code}; create it as a SecureString "
            "(see the README's Deploy to AWS) and let the function's role read it"
        ) from None
    except BotoCoreError as error:
        raise ConfigError(f"JWT_SECRET_PARAMETER {name}: cannot read it from SSM: {error}") from None


_SECRET_FROM_SSM = "_JWT_SECRET_READ_FROM"  # set by load_jwt_secret: JWT_SECRET_KEY came from this parameter


class _Served:
    """The WSGI app the handler serves; after a SnapStart restore it may be a new one."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.app(environ, start_response)


def after_restore(served: _Served, environ: Any = os.environ) -> None:
    """Make a restored SnapStart snapshot safe to serve: fresh randomness, the current secret, new connections.

    Every instance restored from one snapshot starts with the same memory: the same state
    of `random` (retry jitter), the credentials botocore cached at snapshot time (Lambda
    gives the restored instance new ones) and connections opened before the snapshot.
    The secret may have been rotated since the snapshot was taken.
    """
    import models

    random.seed()  # from os.urandom: each restored instance draws its own numbers
    for model in models.MODELS:  # new sessions: current credentials, new connections
        model._connection = None
    before = environ.get("JWT_SECRET_KEY")
    load_jwt_secret(environ)
    if environ.get("JWT_SECRET_KEY") != before:
        from app import create_app

        served.app = create_app()
        log.info("the JWT secret changed since the snapshot: the app was built again")


def _register_after_restore(served: _Served) -> None:
    # Lambda's Python runtimes ship snapshot-restore-py; it matters only under SnapStart.
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
        return
    from snapshot_restore_py import register_after_restore

    register_after_restore(after_restore, served)


def cold_start() -> Handler:
    """Configure JSON logs, read the secret and build the app; exit after one line on a config error."""
    logs.configure_json(os.environ.get("LOG_LEVEL") or logging.INFO)
    # Their INFO lines ("Using Default settings value", "Found credentials in environment
    # variables") would open every cold start's log without telling anyone anything.
    for name in ("pynamodb.settings", "botocore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The imports allocate objects that live as long as the process; the full collection they
    # would trigger costs about 35 ms here and frees nothing. Freezing them afterwards keeps
    # them out of every later collection too.
    gc.disable()
    try:
        load_jwt_secret()
        from run import app
    except ConfigError as error:
        log.critical("%s", error)
        raise SystemExit(1) from None
    finally:
        gc.freeze()
        gc.enable()
    served = _Served(app)
    _register_after_restore(served)
    return make_handler(served)


# Lambda sets AWS_LAMBDA_FUNCTION_NAME: the app is built at import, during the cold start.
# Elsewhere importing this module does nothing (tests use make_handler on their own app).
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    handler = cold_start()
