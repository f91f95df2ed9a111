"""Refresh-token families: rotation at each /refresh, reuse ending the family, the concurrent-refresh grace."""

from __future__ import annotations

import threading
from typing import Any

import jwt as pyjwt
import pytest
from support import PASSWORD, Auth, Clock, clear_tables

from models import RefreshFamily

VIEWER = "{ viewer { email } }"
REVOKED = "TOKEN_REVOKED"


def claims_of(token: str) -> dict[str, Any]:
    return pyjwt.decode(token, options={"verify_signature": False})


def refresh(client: Any, token: str) -> Any:
    return client.post("/refresh", headers={"Authorization": f"Bearer {token}"})


def pair(response: Any) -> tuple[str, str]:
    body = response.get_json()
    return body["access_token"], body["refresh_token"]


def code_of(response: Any) -> str:
    body = response.get_json()
    return body["errors"][0]["extensions"]["code"] if "errors" in body else body["code"]


def test_a_login_starts_a_family_and_each_refresh_moves_it_on(client: Any, auth: Auth, clock: Clock) -> None:
    """The pair names its family and generation; the family expires (TTL) with its newest refresh token."""
    signup = auth.signup()
    access, refresh_token = claims_of(signup["access_token"]), claims_of(signup["refresh_token"])
    assert (access["fam"], access["gen"], refresh_token["gen"]) == (refresh_token["fam"], 0, 0)
    assert access["jti"] != refresh_token["jti"]
    family = RefreshFamily.get(access["fam"])
    assert (family.user_id, family.generation, family.issued_at) == (access["sub"], 0, refresh_token["iat"])
    assert family.expires_at.timestamp() == refresh_token["exp"]

    clock.advance(60)
    rotated = claims_of(pair(refresh(client, signup["refresh_token"]))[1])
    family = RefreshFamily.get(access["fam"])
    assert (rotated["fam"], rotated["gen"], family.generation) == (access["fam"], 1, 1)
    assert family.expires_at.timestamp() == rotated["exp"] == int(clock.now) + 30 * 86400


def test_a_refresh_reads_its_family_once(client: Any, auth: Auth, clock: Clock, dynamodb: Any) -> None:
    """The token's check reads the family with the user and the revocation; the rotation uses that read."""
    signup = auth.signup()
    dynamodb.operations.clear()
    assert refresh(client, signup["refresh_token"]).status_code == 200
    # the address throttle's count, the token's check (user, revocation, family), the rotation
    assert dynamodb.operations == ["UpdateItem", "BatchGetItem", "UpdateItem"]


def test_a_rotated_refresh_token_used_again_ends_the_family(client: Any, auth: Auth, clock: Clock) -> None:
    """GIVEN a thief who copied a refresh token WHEN its owner refreshed and the thief then uses it THEN
    the session ends for both: every refresh and access token of the family is refused; logging in works."""
    stolen = auth.signup()["refresh_token"]
    owner_access, owner_refresh = pair(refresh(client, stolen))
    clock.advance(11)  # past REFRESH_REUSE_GRACE
    thief = refresh(client, stolen)
    assert (thief.status_code, thief.get_json()) == (
        401,
        {"code": REVOKED, "message": "This refresh token was used before; the session has ended. Log in again."},
    )
    assert (refresh(client, owner_refresh).status_code, code_of(refresh(client, owner_refresh))) == (401, REVOKED)
    owner = auth.graphql(VIEWER, owner_access)
    assert (owner.status_code, code_of(owner)) == (401, REVOKED)
    assert list(RefreshFamily.scan()) == []
    login = client.post("/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert auth.graphql(VIEWER, login.get_json()["access_token"]).status_code == 200


def test_a_refresh_token_two_generations_old_ends_the_family_even_within_the_grace(
    client: Any, auth: Auth, clock: Clock
) -> None:
    first = auth.signup()["refresh_token"]
    second = pair(refresh(client, first))[1]
    third = pair(refresh(client, second))[1]
    assert code_of(refresh(client, first)) == REVOKED
    assert code_of(refresh(client, third)) == REVOKED


def test_within_the_grace_a_second_use_gets_the_same_pair(client: Any, auth: Auth, clock: Clock) -> None:
    """GIVEN two tabs refreshing with one token a few seconds apart THEN both get the same pair, token for token."""
    old = auth.signup()["refresh_token"]
    first = pair(refresh(client, old))
    clock.advance(9)
    assert pair(refresh(client, old)) == first
    assert auth.graphql(VIEWER, first[0]).get_json() == {"data": {"viewer": {"email": "ada@example.com"}}}
    assert refresh(client, first[1]).status_code == 200  # the family lives on
    assert code_of(refresh(client, old)) == REVOKED  # now two generations behind


def test_concurrent_refreshes_with_one_token_all_get_the_same_pair(app: Any, auth: Auth, clock: Clock) -> None:
    """GIVEN 6 requests refreshing with one token at the same moment THEN all answer 200 with one and the same pair."""
    old = auth.signup()["refresh_token"]
    start = threading.Barrier(6)
    answers: list[tuple[int, Any]] = []

    def use() -> None:
        client = app.test_client()
        start.wait()
        response = refresh(client, old)
        answers.append((response.status_code, pair(response) if response.status_code == 200 else response.get_json()))

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200] * 6
    assert len({tokens for _, tokens in answers}) == 1
    assert RefreshFamily.get(claims_of(old)["fam"]).generation == 1


def test_reuse_ends_only_its_own_family(client: Any, auth: Auth, clock: Clock) -> None:
    """Another login of the same user (another device) keeps working."""
    laptop = auth.signup()
    phone = client.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).get_json()
    refresh(client, laptop["refresh_token"])
    clock.advance(11)
    assert code_of(refresh(client, laptop["refresh_token"])) == REVOKED
    assert auth.graphql(VIEWER, phone["access_token"]).status_code == 200
    assert refresh(client, phone["refresh_token"]).status_code == 200


@pytest.fixture
def no_grace(settings: dict[str, Any], _tables: None) -> Any:
    from app import create_app

    clear_tables()
    return create_app({**settings, "REFRESH_REUSE_GRACE": 0}).test_client()


def test_without_a_grace_any_second_use_ends_the_family(no_grace: Any, clock: Clock) -> None:
    signup = no_grace.post("/signup", json={"email": "ada@example.com", "password": PASSWORD}).get_json()
    assert refresh(no_grace, signup["refresh_token"]).status_code == 200
    assert code_of(refresh(no_grace, signup["refresh_token"])) == REVOKED


def test_logout_with_the_refresh_token_ends_the_whole_session(client: Any, auth: Auth, clock: Clock) -> None:
    """Logging out with a refresh token also ends the access tokens issued with it or after it."""
    signup = auth.signup()
    access, refresh_token = pair(refresh(client, signup["refresh_token"]))
    response = client.post(
        "/logout", json={"refresh_token": refresh_token}, headers={"Authorization": f"Bearer {signup['access_token']}"}
    )
    assert (response.status_code, response.get_json()) == (200, {"revoked": ["access", "refresh"]})
    assert code_of(auth.graphql(VIEWER, access)) == REVOKED
