"""DynamoDB faults as client errors: an outage answers 503 with Retry-After and logs one line."""

from __future__ import annotations

import logging
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

import logs
from errors import ServiceUnavailable

log = logging.getLogger(__name__)

# Error codes that mean "DynamoDB cannot serve this now", not "this request is wrong".
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "TransactionInProgressException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
_TABLE_IN_MESSAGE = (
    re.compile(r"on table \(([^)]+)\)"),  # PynamoDB's VerboseClientError
    re.compile(r"Table: (\S+) not found"),  # moto and DynamoDB Local
)


class TableMissing(ServiceUnavailable):
    """A table the app needs does not exist (a new or emptied endpoint)."""

    message = "A table does not exist: create the tables with `flask --app run create-tables`."
    retry_after = 30


def as_app_error(error: BaseException) -> BaseException:
    """Return `error`, or the ServiceUnavailable it means if it is a DynamoDB fault (logged once per request)."""
    cause = _botocore_cause(error)
    if cause is None:
        return error
    fault: ServiceUnavailable
    if isinstance(cause, ClientError):
        response: dict[str, Any] = cause.response
        code = response.get("Error", {}).get("Code", "")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code == "ResourceNotFoundException":
            fault = TableMissing(_missing_table_message(cause), requestId=logs.request_id.get())
        elif code in _RETRYABLE_CODES or status >= 500:
            fault = ServiceUnavailable(requestId=logs.request_id.get())
        else:
            return error
    else:  # BotoCoreError: unreachable, refused, reset, timed out (botocore retried already)
        fault = ServiceUnavailable(requestId=logs.request_id.get())
    _log_once(fault, cause)
    return fault


def _botocore_cause(error: BaseException | None) -> BotoCoreError | ClientError | None:
    """Return the botocore error behind `error` (PynamoDB wraps it as `cause`), if there is one."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, BotoCoreError | ClientError):
            return error
        error = error.cause if isinstance(error, PynamoDBException) else error.__cause__
        seen += 1
    return None


def _missing_table_message(cause: ClientError) -> str:
    text = str(cause)
    for pattern in _TABLE_IN_MESSAGE:
        match = pattern.search(text)
        if match and "," not in match.group(1):
            return f"Table {match.group(1)} does not exist: create it with `flask --app run create-tables`."
    missing = _missing_tables()
    if len(missing) == 1:
        return f"Table {missing[0]} does not exist: create it with `flask --app run create-tables`."
    if missing:
        names = ", ".join(missing)
        return f"Tables {names} do not exist: create them with `flask --app run create-tables`."
    return TableMissing.message


def _missing_tables() -> list[str]:
    """Return the names of the models' tables the endpoint lacks (one ListTables call), or [] if unknown."""
    import models

    try:
        existing = set(models._connection_of(models.User).list_tables().get("TableNames", []))
    except (BotoCoreError, ClientError, PynamoDBException):
        return []
    return [model.Meta.table_name for model in models.MODELS if model.Meta.table_name not in existing]


def _log_once(fault: ServiceUnavailable, cause: BaseException) -> None:
    """Log one line per failed request, naming the DynamoDB error; flag the response for Retry-After."""
    from flask import g, has_request_context

    if has_request_context():
        if g.get("dynamodb_fault") is not None:
            return
        g.dynamodb_fault = fault
    detail = " ".join(str(cause).split())[:300]
    log.warning(
        "DynamoDB unavailable (request %s): %s: %s", logs.request_id.get() or "-", type(cause).__name__, detail
    )
