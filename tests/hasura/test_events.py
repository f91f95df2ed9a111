"""Hasura Event Triggers: at-least-once, out-of-order deliveries of documented payloads run each handler once."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hasura_support import SECRET, SECRET_HEADER, Hasura, payload

from hasura.events import CLAIM_SECONDS, PROCESSED_RETENTION, Event, RetryLater, event_trigger
from models import ProcessedEvent

INSERT_ID = "85558393-c75d-4d2f-9c15-e80591b83894"  # fixtures/event_user_created.json
UPDATE_ID = "2c0d1f5e-7a39-4b8e-9d61-3e4a5b6c7d8e"  # fixtures/event_user_updated.json


class Behaviour:
    """What the test trigger `user_updated` does: record each run, fail first, or wait for a signal."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.failures: list[BaseException] = []
        self.entered = threading.Event()
        self.release: threading.Event | None = None


behaviour = Behaviour()


@event_trigger("user_updated")
def user_updated(event: Event) -> None:
    behaviour.runs.append(event.id)
    behaviour.entered.set()
    if behaviour.release is not None:
        assert behaviour.release.wait(timeout=30)
    if behaviour.failures:
        raise behaviour.failures.pop(0)


@pytest.fixture(autouse=True)
def _fresh_behaviour() -> Iterator[Behaviour]:
    global behaviour
    behaviour = Behaviour()
    yield behaviour


def record(event_id: str) -> dict[str, Any] | None:
    try:
        item = ProcessedEvent.get(event_id, consistent_read=True)
    except ProcessedEvent.DoesNotExist:
        return None
    return {"trigger": item.trigger, "claim": item.claim, "claimed_until": item.claimed_until}


PROCESSED = {"id": UPDATE_ID, "processed": True}
DUPLICATE = {"id": UPDATE_ID, "processed": True, "duplicate": True}


def test_the_user_created_example_logs_the_new_rows_name(hasura: Hasura, caplog: Any) -> None:
    caplog.set_level("INFO", logger="hasura.handlers")
    response = hasura.event(payload("event_user_created"))
    assert (response.status_code, response.get_json()) == (200, {"id": INSERT_ID, "processed": True})
    assert [r.getMessage() for r in caplog.records if r.name == "hasura.handlers"] == [
        "user_created: a user named Ada Lovelace was added to public.users"
    ]


def test_first_delivery_runs_the_handler_and_keeps_the_id_for_a_week(hasura: Hasura) -> None:
    before = datetime.now(UTC)
    response = hasura.event(payload("event_user_updated"))
    assert (response.status_code, response.get_json()) == (200, PROCESSED)
    assert behaviour.runs == [UPDATE_ID]
    assert record(UPDATE_ID) == {"trigger": "user_updated", "claim": None, "claimed_until": None}
    expires_at = ProcessedEvent.get(UPDATE_ID).expires_at
    assert before + PROCESSED_RETENTION - timedelta(seconds=5) <= expires_at <= datetime.now(UTC) + PROCESSED_RETENTION


def test_a_redelivery_is_acknowledged_without_running_the_handler_again(hasura: Hasura) -> None:
    first = hasura.event(payload("event_user_updated"))
    again = hasura.event(payload("event_user_updated", delivery_info={"current_retry": 1, "max_retries": 3}))
    assert [(r.status_code, r.get_json()) for r in (first, again)] == [(200, PROCESSED), (200, DUPLICATE)]
    assert behaviour.runs == [UPDATE_ID]


def test_out_of_order_deliveries_each_run_once(hasura: Hasura) -> None:
    """The UPDATE (created later) arrives before its row's INSERT; then Hasura redelivers both."""
    later = payload("event_user_updated")
    earlier_id = "0a1b2c3d-0000-4000-8000-000000000001"
    earlier = payload("event_user_updated", id=earlier_id, created_at="2026-12-03T01:14:21Z")
    statuses = [hasura.event(body).status_code for body in (later, earlier, earlier, later)]
    assert statuses == [200, 200, 200, 200]
    assert behaviour.runs == [UPDATE_ID, earlier_id]


def test_concurrent_deliveries_of_one_event_run_the_handler_once(live_graphql_url: str) -> None:
    """GIVEN four deliveries of one id sent at once to the live app WHEN the first holds its claim
    THEN the other three are told to come back (503, Retry-After), the handler runs once, and a
    redelivery after it finished is acknowledged."""
    url = live_graphql_url.removesuffix("/graphql") + "/hasura/events"
    body = json.dumps(payload("event_user_updated")).encode()
    behaviour.release = threading.Event()
    start = threading.Barrier(4)
    answers: list[tuple[int, dict[str, str], Any]] = []

    def deliver(together: bool = True) -> None:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", SECRET_HEADER: SECRET}
        )
        if together:
            start.wait(timeout=10)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append((response.status, dict(response.headers), json.loads(response.read())))
        except urllib.error.HTTPError as error:
            answers.append((error.code, dict(error.headers), json.loads(error.read())))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    assert behaviour.entered.wait(timeout=10)
    deadline = time.monotonic() + 30
    while len(answers) < 3 and time.monotonic() < deadline:  # the three that lost the claim answer at once
        time.sleep(0.01)
    behaviour.release.set()
    for thread in threads:
        thread.join(timeout=30)

    assert behaviour.runs == [UPDATE_ID]
    assert sorted(status for status, _headers, _body in answers) == [200, 503, 503, 503]
    for status, headers, answer in answers:
        if status == 503:
            assert answer == {
                "message": "Another delivery of this event is being processed.",
                "extensions": {"code": "EVENT_IN_PROGRESS"},
            }
            assert 1 <= int(headers["Retry-After"]) <= CLAIM_SECONDS
        else:
            assert answer == PROCESSED
    deliver(together=False)
    assert answers[-1][0] == 200 and answers[-1][2] == DUPLICATE
    assert behaviour.runs == [UPDATE_ID]


def test_a_transient_failure_is_503_with_retry_after_and_the_redelivery_runs_it(hasura: Hasura) -> None:
    behaviour.failures.append(RetryLater("The mail server is down.", after=30))
    failed = hasura.event(payload("event_user_updated"))
    assert (failed.status_code, failed.get_json(), failed.headers["Retry-After"]) == (
        503,
        {"message": "The mail server is down.", "extensions": {"code": "RETRY_LATER"}},
        "30",
    )
    assert record(UPDATE_ID) is None  # the claim is released: the redelivery need not wait for it
    redelivered = hasura.event(payload("event_user_updated", delivery_info={"current_retry": 1, "max_retries": 3}))
    assert (redelivered.status_code, redelivered.get_json()) == (200, PROCESSED)
    assert behaviour.runs == [UPDATE_ID, UPDATE_ID]


def test_a_fault_is_a_masked_500_and_the_redelivery_runs_the_handler(hasura: Hasura) -> None:
    behaviour.failures.append(KeyError("secret detail"))
    failed = hasura.event(payload("event_user_updated"), **{"X-Request-ID": "evt-1"})
    assert (failed.status_code, failed.get_json()) == (
        500,
        {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "evt-1"}},
    )
    assert "secret detail" not in failed.get_data(as_text=True)
    assert hasura.event(payload("event_user_updated")).status_code == 200
    assert behaviour.runs == [UPDATE_ID, UPDATE_ID]


def test_a_crashed_deliverys_claim_expires_and_is_taken_over(hasura: Hasura) -> None:
    """A process that died mid-handler leaves its claim; once past claimed_until, a redelivery runs the handler."""
    expires = datetime.now(UTC) + PROCESSED_RETENTION
    ProcessedEvent(UPDATE_ID, trigger="user_updated", claim="dead", claimed_until=int(time.time()) - 1,
                   expires_at=expires).save()
    response = hasura.event(payload("event_user_updated"))
    assert (response.status_code, response.get_json()) == (200, PROCESSED)
    assert behaviour.runs == [UPDATE_ID]
    assert record(UPDATE_ID) == {"trigger": "user_updated", "claim": None, "claimed_until": None}


def test_a_live_claim_makes_a_redelivery_come_back_later(hasura: Hasura) -> None:
    expires = datetime.now(UTC) + PROCESSED_RETENTION
    ProcessedEvent(UPDATE_ID, trigger="user_updated", claim="running", claimed_until=int(time.time()) + 60,
                   expires_at=expires).save()
    response = hasura.event(payload("event_user_updated"))
    assert (response.status_code, response.get_json()["extensions"]) == (503, {"code": "EVENT_IN_PROGRESS"})
    assert 55 <= int(response.headers["Retry-After"]) <= 60
    assert behaviour.runs == []


def test_an_expired_record_that_ttl_has_not_deleted_yet_counts_as_gone(hasura: Hasura) -> None:
    """DynamoDB deletes expired items up to days late: an old processed id does not block its reuse."""
    ProcessedEvent(UPDATE_ID, trigger="user_updated", expires_at=datetime.now(UTC) - timedelta(seconds=1)).save()
    assert hasura.event(payload("event_user_updated")).status_code == 200
    assert behaviour.runs == [UPDATE_ID]


def _without(path: str) -> dict[str, Any]:
    body = payload("event_user_updated")
    *parents, last = path.split(".")
    target = body
    for name in parents:
        target = target[name]
    del target[last]
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_without("id"), "id"),
        (_without("trigger"), "trigger"),
        (_without("trigger.name"), "trigger.name"),
        (_without("table.schema"), "table.schema"),
        (_without("event.op"), "event.op"),
        (_without("event.data"), "event.data"),
        (_without("delivery_info"), "delivery_info"),
        (payload("event_user_updated", id=42), "id"),
        (payload("event_user_updated", id="x" * 101), "id"),
        (payload("event_user_updated", trigger="user_updated"), "trigger"),
        (payload("event_user_updated", event={"op": "TRUNCATE", "data": {"old": None, "new": {}}}), "event.op"),
        (payload("event_user_updated", event={"op": "INSERT", "data": {"new": []}}), "event.data.new"),
        (payload("event_user_updated", delivery_info={"current_retry": "0", "max_retries": 0}),
         "delivery_info.current_retry"),
    ],
)
def test_a_malformed_payload_is_400_naming_the_field_and_runs_nothing(
    hasura: Hasura, body: dict[str, Any], field: str
) -> None:
    response = hasura.event(body)
    assert (response.status_code, response.get_json()["extensions"]) == (
        400,
        {"code": "VALIDATION_FAILED", "field": field},
    )
    assert (behaviour.runs, list(ProcessedEvent.scan())) == ([], [])


def test_fields_hasura_may_add_later_are_ignored(hasura: Hasura) -> None:
    """A payload is never refused for a field we do not know: a 400 would make Hasura drop the event."""
    body = payload("event_user_updated", version="2", delivery_info={"current_retry": 0, "max_retries": 3, "x": 1})
    body["event"]["future"] = {"anything": True}
    assert (hasura.event(body).status_code, behaviour.runs) == (200, [UPDATE_ID])


def test_an_unknown_trigger_is_404_and_records_nothing(hasura: Hasura) -> None:
    response = hasura.event(payload("event_user_updated", trigger={"name": "order_paid"}))
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "No event trigger is named order_paid.", "extensions": {"code": "TRIGGER_NOT_FOUND"}},
    )
    assert list(ProcessedEvent.scan()) == []


def test_a_trigger_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="event trigger user_updated is registered twice"):
        event_trigger("user_updated")(user_updated)
