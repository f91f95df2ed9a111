"""Hasura Event Triggers at POST /hasura/events: one decorated function per trigger, run once per event.

Hasura delivers at least once and in any order, and twice when it scales or restarts. So
each event id is claimed with a conditional write before its handler runs: a redelivery of a
processed event is acknowledged without running it again, a delivery that finds the event
claimed by another is told to come back (503, Retry-After), and a claim whose handler
crashed expires after CLAIM_SECONDS. Processed ids expire by DynamoDB's TTL.

    @event_trigger("user_created")
    def user_created(event: Event) -> None: ...

A handler raises RetryLater for a transient failure (503 with Retry-After: Hasura redelivers);
any other exception is a real fault (500, masked) and releases the claim too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, jsonify
from pynamodb.exceptions import DeleteError, PutError, UpdateError

from errors import AppError, NotFound, ValidationFailed
from hasura import blueprint, hasura_error
from hasura.inputs import parse
from models import ProcessedEvent

# Longer than Hasura's default delivery timeout (60 s): a running handler keeps its claim.
CLAIM_SECONDS = 120
# Hasura retries for at most max_retries * interval; a week covers any sensible retry_conf.
PROCESSED_RETENTION = timedelta(days=7)
OPERATIONS = ("INSERT", "UPDATE", "DELETE", "MANUAL")


class RetryLater(Exception):
    """Raised by a handler that failed for now: Hasura is told to deliver the event again later."""

    def __init__(self, message: str = "The event could not be processed now.", after: int = 10) -> None:
        super().__init__(message)
        self.after = after


class EventInProgress(AppError):
    code = "EVENT_IN_PROGRESS"
    status = 503
    message = "Another delivery of this event is being processed."


@dataclass(frozen=True)
class Named:
    name: str


@dataclass(frozen=True)
class TableName:
    schema: str
    name: str


@dataclass(frozen=True)
class RowData:
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None


@dataclass(frozen=True)
class EventBody:
    op: str
    data: RowData
    session_variables: dict[str, str] | None = None
    trace_context: dict[str, Any] | None = None


@dataclass(frozen=True)
class DeliveryInfo:
    current_retry: int
    max_retries: int


@dataclass(frozen=True)
class Event:
    """Hasura's event payload, as documented for Event Triggers."""

    id: str = field(metadata={"max_length": 100})
    created_at: str
    trigger: Named
    table: TableName
    event: EventBody
    delivery_info: DeliveryInfo

    @property
    def op(self) -> str:
        return self.event.op

    @property
    def old(self) -> dict[str, Any] | None:
        return self.event.data.old

    @property
    def new(self) -> dict[str, Any] | None:
        return self.event.data.new

    @property
    def schema(self) -> str:
        return self.table.schema

    @property
    def table_name(self) -> str:
        return self.table.name


TRIGGERS: dict[str, Callable[[Event], Any]] = {}


def event_trigger(name: str) -> Callable[[Callable[[Event], Any]], Callable[[Event], Any]]:
    """Register the decorated function as the handler of the Hasura event trigger `name`."""

    def register(function: Callable[[Event], Any]) -> Callable[[Event], Any]:
        if name in TRIGGERS:
            raise ValueError(f"event trigger {name} is registered twice")
        TRIGGERS[name] = function
        return function

    return register


@blueprint.post("/events")
def deliver_event() -> Response:
    """Run the trigger's handler once per event id, however often and in whatever order it arrives."""
    from bodies import json_body

    event = parse(Event, json_body(), ignore_unknown=True)  # a field Hasura adds later must not lose events
    if event.op not in OPERATIONS:
        raise ValidationFailed(f"event.op must be one of {', '.join(OPERATIONS)}.", field="event.op")
    handler = TRIGGERS.get(event.trigger.name)
    if handler is None:
        raise NotFound(f"No event trigger is named {event.trigger.name}.", code="TRIGGER_NOT_FOUND")
    claim = uuid.uuid4().hex
    if not _claim(event, claim):
        return _answer_duplicate(event.id)
    try:
        handler(event)
    except RetryLater as retry:
        _release(event.id, claim)
        error = AppError(str(retry), code="RETRY_LATER")
        error.status = 503
        return hasura_error(error, {"Retry-After": str(retry.after)})
    except BaseException:
        _release(event.id, claim)
        raise
    _mark_processed(event.id, claim)
    return jsonify({"id": event.id, "processed": True})


def _claim(event: Event, claim: str) -> bool:
    """Claim the event for this delivery; False if it is processed or another delivery holds it."""
    now = time.time()
    record = ProcessedEvent(
        event.id,
        trigger=event.trigger.name,
        claim=claim,
        claimed_until=int(now + CLAIM_SECONDS),
        expires_at=datetime.fromtimestamp(now, UTC) + PROCESSED_RETENTION,
    )
    free = (
        ProcessedEvent.id.does_not_exist()
        # A handler that crashed (or a process that died) leaves its claim; it expires.
        | (ProcessedEvent.claim.exists() & (ProcessedEvent.claimed_until < int(now)))
        # DynamoDB deletes expired items up to days late: an expired record counts as gone.
        | (ProcessedEvent.expires_at < datetime.fromtimestamp(now, UTC))
    )
    try:
        record.save(condition=free)
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _answer_duplicate(event_id: str) -> Response:
    try:
        record = ProcessedEvent.get(event_id, consistent_read=True)
    except ProcessedEvent.DoesNotExist:  # released meanwhile: come back and claim it
        record = None
    if record is not None and record.claim is None:
        return jsonify({"id": event_id, "processed": True, "duplicate": True})
    wait = max(1, int(record.claimed_until - time.time())) if record is not None else 1
    return hasura_error(EventInProgress(), {"Retry-After": str(wait)})


def _mark_processed(event_id: str, claim: str) -> None:
    expires_at = datetime.now(UTC) + PROCESSED_RETENTION
    actions = [
        ProcessedEvent.claim.remove(),
        ProcessedEvent.claimed_until.remove(),
        ProcessedEvent.expires_at.set(expires_at),
    ]
    try:
        ProcessedEvent(event_id).update(actions, condition=ProcessedEvent.claim == claim)
    except UpdateError as error:
        # Our claim expired and another delivery took it: the handler ran, and so will (or did) its.
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def _release(event_id: str, claim: str) -> None:
    """Give up the claim, so a redelivery runs the handler at once instead of after CLAIM_SECONDS."""
    # Taken over, or DynamoDB unreachable: the claim then expires by itself.
    with suppress(DeleteError):
        ProcessedEvent(event_id).delete(condition=ProcessedEvent.claim == claim)
