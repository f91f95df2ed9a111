"""Login protection: per-account delays after failed passwords, per-address limits, one check at a time."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from support import PASSWORD, Auth, Clock, clear_tables

import passwords
import throttle
from models import LoginAttempts, User

EMAIL = "ada@example.com"
REFUSED = "TOO_MANY_ATTEMPTS"


def login(client: Any, password: str, email: str = EMAIL, address: str = "127.0.0.1") -> tuple[int, dict, str | None]:
    response = client.post(
        "/login", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )
    return response.status_code, response.get_json(), response.headers.get("Retry-After")


def refusal(seconds: int) -> tuple[int, dict, str]:
    unit = "second" if seconds == 1 else "seconds"
    return 429, {"code": REFUSED, "message": f"Too many attempts; try again in {seconds} {unit}."}, str(seconds)


WRONG = (401, {"code": "INVALID_CREDENTIALS", "message": "The email or password is incorrect."}, None)


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0), (1, 1), (2, 2), (3, 4), (5, 16), (10, 512), (11, 900), (20, 900), (10_000, 900)],
)
def test_the_delay_starts_at_a_second_and_doubles_up_to_the_maximum(failures: int, delay: int) -> None:
    assert throttle.delay_after(failures, 900) == delay


def test_twenty_wrong_passwords_in_a_row_then_the_right_one(client: Any, auth: Auth, clock: Clock) -> None:
    """GIVEN 20 wrong passwords in a row, without waiting, THEN one is checked, the rest and the right one wait 1 s.

    The right password is refused exactly like a wrong one: nothing tells the guesser it was right.
    """
    auth.signup()
    answers = [login(client, f"wrong {number}") for number in range(20)]
    assert answers == [WRONG] + [refusal(1)] * 19
    assert login(client, PASSWORD) == refusal(1)
    clock.advance(1)
    status, body, _ = login(client, PASSWORD)
    assert (status, sorted(body)) == (200, ["access_token", "expires_in", "refresh_token", "token_type"])


def test_a_patient_guesser_waits_twice_as_long_each_time_up_to_fifteen_minutes(
    client: Any, auth: Auth, clock: Clock
) -> None:
    """GIVEN a guesser who waits out every delay THEN 20 guesses take 1+2+...+512 s and 9 x 15 min.

    The right password is refused during the delay, works after it, and a success starts
    the count afresh: no one is locked out for good.
    """
    auth.signup()
    waited = []
    for number in range(20):
        assert login(client, f"wrong {number}") == WRONG
        status, _body, retry_after = login(client, f"wrong again {number}")
        assert (status, retry_after is not None) == (429, True)
        waited.append(int(retry_after))
        clock.advance(waited[-1])
    assert waited == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] + [900] * 10
    assert login(client, "one more") == WRONG
    assert login(client, PASSWORD) == refusal(900)
    clock.advance(900)
    assert login(client, PASSWORD)[0] == 200
    assert login(client, "wrong after success") == WRONG
    assert login(client, PASSWORD) == refusal(1)  # a success forgot the 21 failures


def test_an_unknown_account_is_refused_exactly_like_a_real_one(client: Any, auth: Auth, clock: Clock) -> None:
    """Status, body and Retry-After do not tell whether the account exists."""
    auth.signup()
    real = [login(client, "wrong", EMAIL), login(client, "wrong", EMAIL)]
    unknown = [login(client, "wrong", "nobody@example.com"), login(client, "wrong", "nobody@example.com")]
    assert real == unknown == [WRONG, refusal(1)]


def test_failures_are_forgotten_after_a_quiet_period(client: Any, auth: Auth, clock: Clock) -> None:
    """GIVEN 12 failures (the delay at its cap) WHEN left alone 15 minutes more THEN they are forgotten."""
    auth.signup()
    for number in range(12):
        assert login(client, f"wrong {number}") == WRONG
        clock.advance(throttle.delay_after(number + 1, 900))
    clock.advance(900)
    assert login(client, "wrong again") == WRONG
    assert login(client, PASSWORD) == refusal(1)


def test_emails_differing_in_case_and_spaces_share_one_count(client: Any, auth: Auth, clock: Clock) -> None:
    auth.signup()
    assert login(client, "wrong", " Ada@Example.COM ") == WRONG
    assert login(client, PASSWORD, "ada@example.com") == refusal(1)


def test_concurrent_guesses_for_one_account_get_one_password_check(
    app: Any, auth: Auth, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN 8 wrong passwords sent at the same moment THEN one is checked and the 7 others are refused."""
    auth.signup()
    checks: list[str] = []
    verify = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda stored, password: checks.append(password) or verify(
        stored, password))
    start = threading.Barrier(8)
    answers: list[tuple[int, dict, str | None]] = []

    def guess(number: int) -> None:
        client = app.test_client()
        start.wait()
        answers.append(login(client, f"wrong {number}"))

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checks) == 1
    assert sorted(answers, key=lambda answer: answer[0]) == [WRONG] + [refusal(1)] * 7


# The per-address limit


@pytest.fixture
def limited(settings: dict[str, Any], _tables: None, clock: Clock) -> Iterator[Any]:
    """Return a client of an app that lets one address send 3 requests per endpoint per minute."""
    from app import create_app

    clear_tables()
    yield create_app({**settings, "THROTTLE_ADDRESS_LIMIT": 3, "THROTTLE_ADDRESS_WINDOW": 60}).test_client()


def test_one_address_gets_a_limited_number_of_logins_per_window(limited: Any, clock: Clock) -> None:
    """GIVEN guesses against many accounts from one address THEN the 4th in the window is refused until it ends.

    Other addresses are not affected; the next window starts afresh.
    """
    clock.now = float(int(clock.now // 60 * 60 + 15))  # 15 s into a window
    emails = [f"user{number}@example.com" for number in range(5)]
    answers = [login(limited, "wrong password", email, "203.0.113.9")[0] for email in emails[:3]]
    assert answers == [401, 401, 401]
    assert login(limited, "wrong password", emails[3], "203.0.113.9") == refusal(45)
    assert login(limited, "wrong password", emails[4], "198.51.100.4")[0] == 401
    clock.advance(45)
    assert login(limited, "wrong password", emails[3], "203.0.113.9")[0] == 401


def test_each_endpoint_has_its_own_budget_per_address(limited: Any, clock: Clock) -> None:
    """Logins, signups and refreshes are counted apart: a page refreshing its token does not use up logins."""
    address = {"REMOTE_ADDR": "203.0.113.9"}
    for number in range(3):
        response = limited.post("/signup", json={"email": f"u{number}@example.com", "password": PASSWORD},
                                environ_base=address)
        assert response.status_code == 201
    refused = limited.post("/signup", json={"email": "u3@example.com", "password": PASSWORD}, environ_base=address)
    assert (refused.status_code, refused.get_json()["code"]) == (429, REFUSED)
    assert User.find_by_email("u3@example.com") is None  # refused before anything was written
    token = limited.post("/login", json={"email": "u0@example.com", "password": PASSWORD},
                         environ_base=address).get_json()["refresh_token"]
    statuses = []
    for _ in range(4):
        response = limited.post("/refresh", headers={"Authorization": f"Bearer {token}"}, environ_base=address)
        statuses.append(response.status_code)
        token = response.get_json().get("refresh_token", token)
    assert statuses == [200, 200, 200, 429]
    assert limited.post("/signup", json={"email": "u3@example.com", "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 201


def test_a_limit_of_zero_turns_the_address_limit_off(settings: dict[str, Any], _tables: None, clock: Clock) -> None:
    from app import create_app

    clear_tables()
    client = create_app({**settings, "THROTTLE_ADDRESS_LIMIT": 0}).test_client()
    statuses = {login(client, "wrong password", f"user{number}@example.com")[0] for number in range(6)}
    assert (statuses, list(LoginAttempts.scan(LoginAttempts.key.startswith("address:")))) == ({401}, [])


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", True),  # one /64: one subscriber
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("::ffff:203.0.113.9", "203.0.113.9", True),  # IPv4 written as IPv6
        ("203.0.113.9", "203.0.113.10", False),
    ],
)
def test_addresses_are_counted_per_subscriber(
    limited: Any, clock: Clock, first: str, second: str, shared: bool
) -> None:
    for number in range(3):
        assert login(limited, "wrong password", f"user{number}@example.com", first)[0] == 401
    status = login(limited, "wrong password", "other@example.com", second)[0]
    assert status == (429 if shared else 401)


def test_on_lambda_the_address_is_api_gateways_source_ip_never_x_forwarded_for(
    settings: dict[str, Any], _tables: None, clock: Clock
) -> None:
    """GIVEN REST API events whose X-Forwarded-For a client made up THEN requests count against sourceIp."""
    from test_lambda_handler import V1, V2, LambdaContext, api_event

    from app import create_app
    from lambda_handler import make_handler

    clear_tables()
    handler = make_handler(create_app({**settings, "THROTTLE_ADDRESS_LIMIT": 3}))
    statuses = []
    for number in range(4):
        version = V1 if number % 2 else V2
        event = api_event(
            version,
            "POST",
            "/login",
            json_body={"email": f"user{number}@example.com", "password": "wrong password"},
            headers={"X-Forwarded-For": f"192.0.2.{number}"},  # apig-wsgi's REMOTE_ADDR on REST APIs
        )
        statuses.append(handler(event, LambdaContext())["statusCode"])
    assert statuses == [401, 401, 401, 429]  # all from the fixtures' sourceIp, 203.0.113.7


def test_records_keep_no_email_and_expire_through_dynamodb_ttl(
    client: Any, auth: Auth, clock: Clock
) -> None:
    """An account is keyed by its email's hash, and every record carries the TTL attribute."""
    auth.signup()
    login(client, "wrong")
    now = clock.now
    records = {record.key: record for record in LoginAttempts.scan(consistent_read=True)}
    window = int(now // 300 * 300)
    account = "account:" + hashlib.sha256(EMAIL.encode()).hexdigest()
    assert sorted(records) == sorted(
        [account, f"address:login:127.0.0.1:{window}", f"address:signup:127.0.0.1:{window}"]
    )
    assert (records[account].failures, records[account].blocked_until) == (1, now + 1)
    assert records[account].expires_at.timestamp() == now + 1 + 900
    for action in ("login", "signup"):
        record = records[f"address:{action}:127.0.0.1:{window}"]
        assert (record.hits, record.expires_at.timestamp()) == (1, window + 300)


def test_a_browser_app_on_another_origin_can_read_retry_after(client: Any, clock: Clock) -> None:
    """Retry-After is no CORS-safelisted header: without Access-Control-Expose-Headers, fetch() cannot read it."""
    origin = {"Origin": "http://localhost:3000"}
    login(client, "wrong password", "nobody@example.com")
    response = client.post("/login", json={"email": "nobody@example.com", "password": "x" * 8}, headers=origin)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "1")
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"].split(", ")
