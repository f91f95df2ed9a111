"""The AWS Lambda entry point (`lambda_handler.handler`): API Gateway events to the WSGI app.

Imported by the Lambda runtime (the cold start), it reads the configuration once,
fetches the secrets from SSM Parameter Store that the *_PARAMETER settings name, and
builds the app (run.py's). It sends no DynamoDB request and creates no table: PynamoDB
connects on the first event. A configuration error ends the cold start with one log
line saying what to fix.
"""

from __future__ import annotations

import gc
import logging
import os
import random
from collections.abc import Callable, Mapping
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


# Each secret setting, and the setting that names the SSM SecureString to read it from on Lambda.
SECRET_PARAMETERS = {
    "JWT_SECRET_KEY": "JWT_SECRET_PARAMETER",
    "JWT_PRIVATE_KEY": "JWT_PRIVATE_KEY_PARAMETER",
    "HASURA_ACTION_SECRET": "HASURA_ACTION_SECRET_PARAMETER",
    "UPSTREAM_CLIENT_SECRET": "UPSTREAM_CLIENT_SECRET_PARAMETER",
    "UPSTREAM_ADMIN_SECRET": "UPSTREAM_ADMIN_SECRET_PARAMETER",
}
# Without its parameter the setting stays unset (fail closed): the Hasura endpoints answer 404, and
# an /execute-graphql without its service identity is refused by the configuration check (production).
OPTIONAL_SECRETS = {"HASURA_ACTION_SECRET", "UPSTREAM_CLIENT_SECRET", "UPSTREAM_ADMIN_SECRET"}
_FROM_SSM = "_SSM_PARAMETER_OF_"  # + a setting: the parameter load_secrets read it from


def load_secrets(environ: Any = os.environ) -> None:
    """Put the SecureStrings named by the *_PARAMETER settings into their settings, unless those are set.

    One GetParameters call reads them all: a cold start pays one round trip however many there are.
    """
    settings = load_settings(environ=environ, before_secrets=True)
    wanted: dict[str, str] = {}  # parameter name -> setting
    for setting, parameter in SECRET_PARAMETERS.items():
        name = settings[parameter]
        # Read unless set otherwise; read again if it came from this parameter (a restored SnapStart snapshot).
        if not name or (settings[setting] and environ.get(_FROM_SSM + setting) != name):
            continue
        if _used(setting, settings):
            wanted[name] = setting
    if not wanted:
        return
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    names = ", ".join(f"{SECRET_PARAMETERS[setting]} {name}" for name, setting in wanted.items())
    try:
        # Credentials come from the environment: on Lambda, the role's temporary keys.
        client = botocore.session.get_session().create_client("ssm", region_name=settings["AWS_REGION"])
        response = client.get_parameters(Names=list(wanted), WithDecryption=True)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise ConfigError(f"{names}: SSM answered {code}; let the function's role read them") from None
    except BotoCoreError as error:
        raise ConfigError(f"{names}: cannot read them from SSM: {error}") from None
    for parameter in response["Parameters"]:
        environ[wanted[parameter["Name"]]] = parameter["Value"]
        environ[_FROM_SSM + wanted[parameter["Name"]]] = parameter["Name"]  # so that a restore reads it again
    for name in response.get("InvalidParameters", []):
        setting = wanted[name]
        if setting in OPTIONAL_SECRETS:
            log.warning("%s %s does not exist: %s is not set", SECRET_PARAMETERS[setting], name, setting)
            continue
        raise ConfigError(
            f"{SECRET_PARAMETERS[setting]} {name}: SSM answered ParameterNotFound; create it as a SecureString "
            "(see the README's Deploy to AWS) and let the function's role read it"
        )


def _used(setting: str, settings: Mapping[str, Any]) -> bool:
    """Say whether the configuration uses this secret: a parameter nothing would read is not asked for."""
    if setting == "JWT_PRIVATE_KEY":
        return settings["JWT_ALGORITHM"] != "HS256"  # HS256 signs with JWT_SECRET_KEY
    if setting in ("UPSTREAM_CLIENT_SECRET", "UPSTREAM_ADMIN_SECRET"):
        # Only with /execute-graphql on: client credentials with UPSTREAM_TOKEN_URL, else the admin secret.
        client_credentials = bool(settings["UPSTREAM_TOKEN_URL"])
        return bool(settings["UPSTREAM_GRAPHQL_URL"]) and client_credentials == (setting == "UPSTREAM_CLIENT_SECRET")
    return True


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
    The secrets may have been rotated since the snapshot was taken.
    """
    import models

    random.seed()  # from os.urandom: each restored instance draws its own numbers
    for model in models.MODELS:  # new sessions: current credentials, new connections
        model._connection = None
    before = [environ.get(setting) for setting in SECRET_PARAMETERS]
    load_secrets(environ)
    if [environ.get(setting) for setting in SECRET_PARAMETERS] != before:
        from app import create_app

        served.app = create_app()
        log.info("a secret changed since the snapshot: the app was built again")


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
        load_secrets()
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
