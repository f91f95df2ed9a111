"""Login protection: a growing delay after failed passwords per account, and a limit per client address.

Both are kept in DynamoDB (the login_attempts table, with TTL), so they hold across
processes and Lambda instances. An endpoint wraps its work in `guard`:

    with throttle.guard("login", account=email):
        ...verify the password; raise an error with code INVALID_CREDENTIALS if it is wrong...

A refusal is TooManyAttempts (429 with Retry-After), the same whether the account exists
or not, and raised before any password is checked, so a correct password during the delay
is refused exactly like a wrong one.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError
from flask import current_app, request

import lean_dynamodb
from errors import AppError, TooManyAttempts
from models import LoginAttempts, _connection_of

clock: Callable[[], float] = time.time  # tests move time forward instead of sleeping

FAILED = "INVALID_CREDENTIALS"  # the error code that counts as a failed password


@contextmanager
def guard(action: str, account: str | None = None, *, count_address: bool = True) -> Iterator[None]:
    """Refuse the request if its address or `account` is throttled; count the block's failed password.

    `action` names the endpoint (each has its own per-address budget). With an `account`
    (the email the client names), one password check at a time is let through per delay:
    an AppError with code INVALID_CREDENTIALS raised in the block doubles the account's
    delay, a block that ends normally clears it. `count_address=False` skips the
    per-address limit, for callers that relay many clients from one address (Hasura).
    """
    settings = current_app.config
    now = clock()
    if count_address:
        _count_address(action, client_address(), now, settings)
    if account is None:
        yield
        return
    key = "account:" + hashlib.sha256(account.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    failures = _claim(key, now, settings)
    try:
        yield
    except AppError as error:
        if error.code == FAILED:
            _record_failure(key, failures + 1, settings)
        raise
    _clear(key)


def delay_after(failures: int, max_delay: int) -> int:
    """Return the seconds an account waits after `failures` failed passwords in a row: 1, 2, 4, ... max_delay."""
    return min(2 ** min(failures - 1, 32), max_delay) if failures > 0 else 0


def client_address() -> str:
    """Return the address to count this request against: the peer, or API Gateway's sourceIp.

    X-Forwarded-For is never read: any client can write it. IPv6 clients are counted per
    /64, the block one subscriber usually gets.
    """
    context = request.environ.get("apig_wsgi.request_context") or {}
    # REST APIs (payload 1.0): apig-wsgi takes REMOTE_ADDR from X-Forwarded-For; the
    # address API Gateway saw is the context's identity.sourceIp (payload 2.0: http.sourceIp).
    source = (context.get("identity") or context.get("http") or {}).get("sourceIp")
    address = source or request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


# The records. Plain calls, as botocore's client makes them: the claim needs
# ReturnValuesOnConditionCheckFailure and the old item in the error, which PynamoDB's
# Model.update neither offers nor keeps; one call per step keeps a login at three.


def _call(operation_name: str, **params: Any) -> dict[str, Any]:
    params["TableName"] = LoginAttempts.Meta.table_name
    return lean_dynamodb.call(_connection_of(LoginAttempts), operation_name, params)


def _count_address(action: str, address: str, now: float, settings: Any) -> None:
    """Count one request from `address` in the current fixed window; refuse it past the limit."""
    limit, window = settings["THROTTLE_ADDRESS_LIMIT"], settings["THROTTLE_ADDRESS_WINDOW"]
    if limit == 0:
        return
    start = int(now // window) * window
    response = _call(
        "UpdateItem",
        Key={"key": {"S": f"address:{action}:{address}:{start}"}},
        UpdateExpression="ADD hits :one SET expires_at = :end",
        ExpressionAttributeValues={":one": {"N": "1"}, ":end": {"N": str(start + window)}},
        ReturnValues="UPDATED_NEW",
    )
    if int(response["Attributes"]["hits"]["N"]) > limit:
        raise TooManyAttempts(_seconds_until(start + window, now))


def _claim(key: str, now: float, settings: Any) -> int:
    """Take the account's turn to have one password checked; return its recent failures.

    The turn lasts a second (the shortest delay), so of concurrent attempts one goes
    through; a failure then extends the hold to the account's delay, a success ends it.
    """
    hold = math.ceil(now) + 1
    try:
        response = _call(
            "UpdateItem",
            Key={"key": {"S": key}},
            UpdateExpression="SET blocked_until = :hold, expires_at = if_not_exists(expires_at, :hold)",
            ConditionExpression="attribute_not_exists(blocked_until) OR blocked_until <= :now",
            ExpressionAttributeValues={":hold": {"N": str(hold)}, ":now": {"N": str(now)}},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        blocked_until = float(error.response.get("Item", {}).get("blocked_until", {}).get("N", hold))
        raise TooManyAttempts(_seconds_until(blocked_until, now)) from None
    record = response["Attributes"]
    if float(record["expires_at"]["N"]) <= now:  # forgotten, though TTL has not deleted it yet
        return 0
    return int(record.get("failures", {}).get("N", 0))


def _record_failure(key: str, failures: int, settings: Any) -> None:
    """Store `failures` failed passwords in a row and block the account for its delay."""
    max_delay = settings["THROTTLE_MAX_DELAY"]
    blocked_until = math.ceil(clock()) + delay_after(failures, max_delay)
    _call(
        "UpdateItem",
        Key={"key": {"S": key}},
        UpdateExpression="SET failures = :failures, blocked_until = :until, expires_at = :expires",
        ExpressionAttributeValues={
            ":failures": {"N": str(failures)},
            ":until": {"N": str(blocked_until)},
            # The count is forgotten once the account has been left alone for max_delay more.
            ":expires": {"N": str(blocked_until + max_delay)},
        },
    )


def _clear(key: str) -> None:
    _call("DeleteItem", Key={"key": {"S": key}})


def _seconds_until(moment: float, now: float) -> int:
    return max(1, math.ceil(moment - now))
