"""The GraphQL client and its auth providers against the live app (2-second tokens) and local stand-ins."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standins import CLIENT_ID, CLIENT_SECRET, HASURA_EXPIRED, IdentityProvider
from support import PASSWORD, Live, serve_wsgi

from client import (
    AsyncGraphQLClient,
    AuthenticationError,
    ClientCredentialsAuth,
    GraphQLClient,
    GraphQLResponseError,
    HasuraAdminSecretAuth,
    HTTPError,
    PasswordAuth,
    StaticTokenAuth,
    TransportError,
)

VIEWER = "{ viewer { email } }"
ADA = {"viewer": {"email": "ada@example.com"}}


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {**settings, "ACCESS_TOKEN_EXPIRES": 2}


class FakeClock:
    """A monotonic clock the test moves forward, so expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_password_auth_logs_in_once_and_reuses_the_token(live: Live) -> None:
    with GraphQLClient(live.graphql_url, auth=live.password_auth()) as client:
        assert [client.execute(VIEWER), client.execute(VIEWER)] == [ADA, ADA]
    assert live.recorder.paths() == [("/login", 200), ("/graphql", 200), ("/graphql", 200)]


def test_password_auth_refreshes_shortly_before_expiry(live: Live) -> None:
    """GIVEN a 2-second token WHEN 1.9 s have passed THEN it is refreshed before the query, with no 401."""
    clock = FakeClock()
    with GraphQLClient(live.graphql_url, auth=live.password_auth(clock=clock)) as client:
        client.execute(VIEWER)
        clock.now += 1.7  # within the last tenth of the token's life: not yet
        client.execute(VIEWER)
        clock.now += 0.2
        assert client.execute(VIEWER) == ADA
    assert live.recorder.paths() == [
        ("/login", 200), ("/graphql", 200), ("/graphql", 200), ("/refresh", 200), ("/graphql", 200)
    ]


def test_password_auth_refreshes_after_a_401_and_resends(live: Live) -> None:
    provider = live.password_auth()
    with GraphQLClient(live.graphql_url, auth=provider) as client:
        client.execute(VIEWER)
        assert httpx.post(f"{live.base_url}/logout", auth=provider).status_code == 200  # revokes the access token
        assert client.execute(VIEWER) == ADA
    assert live.recorder.paths() == [
        ("/login", 200), ("/graphql", 200), ("/logout", 200), ("/graphql", 401), ("/refresh", 200), ("/graphql", 200)
    ]


def test_password_auth_logs_in_again_when_the_refresh_token_is_refused(live: Live) -> None:
    from models import User

    with GraphQLClient(live.graphql_url, auth=live.password_auth()) as client:
        client.execute(VIEWER)
        user = User.find_by_email("ada@example.com")
        user.update(actions=[User.token_version.add(1)])  # every token issued so far stops working
        assert client.execute(VIEWER) == ADA
    assert live.recorder.paths() == [
        ("/login", 200), ("/graphql", 200), ("/graphql", 401), ("/refresh", 401), ("/login", 200), ("/graphql", 200)
    ]


def test_password_auth_keeps_a_rotated_refresh_token() -> None:
    """A /refresh that also answers a refresh token (rotation) has that one used next time."""
    refreshes: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/login":
            return httpx.Response(200, json={"access_token": "a0", "refresh_token": "r0", "expires_in": 100})
        if request.url.path == "/refresh":
            refreshes.append(request.headers["Authorization"])
            n = len(refreshes)
            return httpx.Response(200, json={"access_token": f"a{n}", "refresh_token": f"r{n}", "expires_in": 100})
        return httpx.Response(200, json={"data": {"token": request.headers["Authorization"]}})

    clock = FakeClock()
    provider = PasswordAuth("http://api.test", "ada@example.com", PASSWORD, clock=clock)
    with GraphQLClient("http://api.test/graphql", auth=provider, transport=httpx.MockTransport(server)) as client:
        seen = []
        for _ in range(3):
            seen.append(client.execute(VIEWER)["token"])
            clock.now += 95
    assert (seen, refreshes) == (["Bearer a0", "Bearer a1", "Bearer a2"], ["Bearer r0", "Bearer r1"])


def test_wrong_password_raises_authentication_error(live: Live) -> None:
    auth = PasswordAuth(live.base_url, "ada@example.com", "wrong password")
    with GraphQLClient(live.graphql_url, auth=auth) as client, pytest.raises(AuthenticationError) as raised:
        client.execute(VIEWER)
    assert (str(raised.value), raised.value.status_code) == (
        "/login answered 401 (INVALID_CREDENTIALS: The email or password is incorrect.)", 401
    )
    assert PASSWORD not in str(raised.value) and "wrong password" not in str(raised.value)
    assert live.recorder.paths() == [("/login", 401)]


def test_a_refused_static_token_raises_without_a_resend(live: Live) -> None:
    with (
        GraphQLClient(live.graphql_url, auth=StaticTokenAuth("not-a-token")) as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.execute(VIEWER)
    codes = [error["extensions"]["code"] for error in raised.value.errors]
    assert (raised.value.status_code, codes) == (401, ["INVALID_TOKEN"])
    assert live.recorder.paths() == [("/graphql", 401)]


def test_graphql_errors_raise_with_partial_data(live: Live) -> None:
    query = '{ viewer { email todos(first: 1, after: "not-a-cursor") { edges { cursor } } } }'
    client = GraphQLClient(live.graphql_url, auth=live.password_auth())
    with client, pytest.raises(GraphQLResponseError) as raised:
        client.execute(query)
    assert raised.value.data == {"viewer": {"email": "ada@example.com", "todos": None}}
    assert [error["extensions"]["code"] for error in raised.value.errors] == ["INVALID_CURSOR"]
    assert str(raised.value).startswith("INVALID_CURSOR: ")


def test_request_errors_raise_without_data(live: Live) -> None:
    client = GraphQLClient(live.graphql_url, auth=live.password_auth())
    with client, pytest.raises(GraphQLResponseError) as raised:
        client.execute("{ viewer { nope } }")
    assert (raised.value.data, [error["extensions"]["code"] for error in raised.value.errors]) == (
        None, ["GRAPHQL_VALIDATION_FAILED"]
    )


# 16 callers share one provider: one refresh per expiry, every call succeeds.

PARALLEL = 16


def test_threads_share_one_refresh_per_expiry(live: Live) -> None:
    provider = live.password_auth()
    failures: list[BaseException] = []
    results: list[Any] = []
    with GraphQLClient(live.graphql_url, auth=provider) as client:
        client.execute(VIEWER)  # the login
        deadline = time.monotonic() + 10

        def work() -> None:
            try:
                while live.recorder.count("/refresh") == 0 and time.monotonic() < deadline:
                    results.append(client.execute(VIEWER))
                results.append(client.execute(VIEWER))  # one more with the refreshed token
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=work) for _ in range(PARALLEL)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert results == [ADA] * len(results)
    assert (live.recorder.count("/login"), live.recorder.count("/refresh")) == (1, 1)
    assert live.recorder.count("/graphql", 200) == len(results) + 1


def test_asyncio_tasks_share_one_refresh_per_expiry(live: Live) -> None:
    async def scenario() -> list[Any]:
        async with AsyncGraphQLClient(live.graphql_url, auth=live.password_auth()) as client:
            await client.execute(VIEWER)
            deadline = time.monotonic() + 10

            async def work() -> list[Any]:
                done = []
                while live.recorder.count("/refresh") == 0 and time.monotonic() < deadline:
                    done.append(await client.execute(VIEWER))
                done.append(await client.execute(VIEWER))
                return done

            batches = await asyncio.gather(*(work() for _ in range(PARALLEL)))
            return [result for batch in batches for result in batch]

    results = asyncio.run(scenario())
    assert results == [ADA] * len(results)
    assert (live.recorder.count("/login"), live.recorder.count("/refresh")) == (1, 1)
    assert live.recorder.count("/graphql", 200) == len(results) + 1


def test_async_client_refreshes_after_a_401(live: Live) -> None:
    provider = live.password_auth()

    async def scenario() -> Any:
        async with AsyncGraphQLClient(live.graphql_url, auth=provider) as client:
            await client.execute(VIEWER)
            async with httpx.AsyncClient(auth=provider) as plain:  # the provider plugs into plain httpx too
                assert (await plain.post(f"{live.base_url}/logout")).status_code == 200
            return await client.execute(VIEWER)

    assert asyncio.run(scenario()) == ADA
    assert live.recorder.paths() == [
        ("/login", 200), ("/graphql", 200), ("/logout", 200), ("/graphql", 401), ("/refresh", 200), ("/graphql", 200)
    ]


def test_gql_runs_with_the_provider_as_its_httpx_auth(live: Live) -> None:
    from gql import Client, gql
    from gql.transport.httpx import HTTPXTransport

    provider = live.password_auth()
    with Client(transport=HTTPXTransport(url=live.graphql_url, auth=provider)) as session:
        first = session.execute(gql(VIEWER))
        httpx.post(f"{live.base_url}/logout", auth=provider)
        second = session.execute(gql(VIEWER))
    assert [first, second] == [ADA, ADA]
    assert live.recorder.count("/refresh") == 1


# Client credentials and a Hasura-like server (HTTP 200 with invalid-jwt).


@pytest.fixture
def provider_server() -> Iterator[tuple[IdentityProvider, str]]:
    identity = IdentityProvider(expires_in=2)
    with serve_wsgi(identity) as base_url:
        yield identity, base_url


def credentials(base_url: str, secret: str = CLIENT_SECRET, **options: Any) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(f"{base_url}/oauth2/token", CLIENT_ID, secret, **options)


def test_client_credentials_send_basic_auth_and_the_scope(provider_server: tuple[IdentityProvider, str]) -> None:
    identity, base_url = provider_server
    auth = credentials(base_url, scope="todos/read todos/write")
    with GraphQLClient(f"{base_url}/v1/graphql", auth=auth) as client:
        assert [client.execute(VIEWER), client.execute(VIEWER)] == [{"token": "token-1"}, {"token": "token-1"}]
    assert identity.token_forms == [{"grant_type": "client_credentials", "scope": "todos/read todos/write"}]


def test_client_credentials_fetch_a_new_token_before_expiry(provider_server: tuple[IdentityProvider, str]) -> None:
    identity, base_url = provider_server
    clock = FakeClock()
    with GraphQLClient(f"{base_url}/v1/graphql", auth=credentials(base_url, clock=clock)) as client:
        client.execute(VIEWER)
        clock.now += 1.9
        assert client.execute(VIEWER) == {"token": "token-2"}
    assert identity.graphql_tokens == ["token-1", "token-2"]  # never refused


@pytest.mark.parametrize(
    "refusal",
    [HASURA_EXPIRED, {"extensions": {"path": "$", "code": "access-denied"}, "message": "JWT expired"}],
    ids=["invalid-jwt", "access-denied"],
)
def test_a_hasura_style_refusal_fetches_a_new_token_and_resends(refusal: dict[str, Any]) -> None:
    identity = IdentityProvider(refusal=refusal)
    with serve_wsgi(identity) as base_url:
        client = GraphQLClient(f"{base_url}/v1/graphql", auth=credentials(base_url))
        client.execute(VIEWER)
        identity.expire_all()
        assert client.execute(VIEWER) == {"token": "token-2"}
        client.close()
    assert identity.graphql_tokens == ["token-1", "token-1", "token-2"]


def test_a_second_refusal_raises(provider_server: tuple[IdentityProvider, str]) -> None:
    identity, base_url = provider_server
    identity.valid = _NeverValid()
    with (
        GraphQLClient(f"{base_url}/v1/graphql", auth=credentials(base_url)) as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.execute(VIEWER)
    assert (raised.value.status_code, raised.value.errors) == (200, [HASURA_EXPIRED])
    assert (identity.graphql_tokens, len(identity.token_forms)) == (["token-1", "token-2"], 2)


class _NeverValid(set):
    def __contains__(self, _item: object) -> bool:
        return False


def test_a_refusing_token_endpoint_raises_and_sends_no_query(provider_server: tuple[IdentityProvider, str]) -> None:
    identity, base_url = provider_server
    with (
        GraphQLClient(f"{base_url}/v1/graphql", auth=credentials(base_url, "wrong-secret")) as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.execute(VIEWER)
    assert str(raised.value) == "the token endpoint answered 401 (invalid_client: Client authentication failed)"
    assert "wrong-secret" not in repr(raised.value)
    assert identity.graphql_tokens == []


def test_hasura_admin_secret_is_sent_as_its_header(provider_server: tuple[IdentityProvider, str]) -> None:
    identity, base_url = provider_server
    with GraphQLClient(f"{base_url}/v1/graphql", auth=HasuraAdminSecretAuth("admin-secret")) as client:
        assert client.execute(VIEWER) == {"token": None}
    assert identity.graphql_headers[0]["x-hasura-admin-secret"] == "admin-secret"


# Retries: bounded, backed off, and never a mutation that may have run.

QUERY = "query Q { viewer { email } }"
MUTATION = 'mutation M { addTodo(input: {text: "x"}) { clientMutationId } }'


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's backoff sleeps instead of sleeping."""
    import client

    slept: list[float] = []
    monkeypatch.setattr(client.time, "sleep", slept.append)
    return slept


def scripted(*answers: Any) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """Return a transport that answers with `answers` in order (exceptions are raised) and the requests it saw."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        # A fresh copy: a response object is bound to the first client (sync or async) that reads it.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.MockTransport(handle), seen


OK = httpx.Response(200, json={"data": {"ok": True}})


@pytest.mark.parametrize(
    ("query", "first", "sent", "outcome"),
    [
        (QUERY, httpx.ConnectError("refused"), 2, {"ok": True}),
        (MUTATION, httpx.ConnectError("refused"), 2, {"ok": True}),
        (QUERY, httpx.ReadTimeout("slow"), 2, {"ok": True}),
        (MUTATION, httpx.ReadTimeout("slow"), 1, TransportError),
        (MUTATION, httpx.RemoteProtocolError("reset"), 1, TransportError),
        (QUERY, httpx.Response(503), 2, {"ok": True}),
        (MUTATION, httpx.Response(503), 1, HTTPError),
        (MUTATION, httpx.Response(429, headers={"Retry-After": "1"}), 1, HTTPError),
        (QUERY, httpx.Response(500), 1, HTTPError),
        (QUERY, httpx.Response(400, json={"errors": [{"message": "bad"}]}), 1, GraphQLResponseError),
    ],
    ids=[
        "query-connect", "mutation-connect", "query-read-timeout", "mutation-read-timeout",
        "mutation-reset", "query-503", "mutation-503", "mutation-429", "query-500", "query-400",
    ],
)
def test_retry_rules(query: str, first: Any, sent: int, outcome: Any, sleeps: list[float]) -> None:
    transport, seen = scripted(first, OK)
    with GraphQLClient("http://api.test/graphql", transport=transport) as client:
        if isinstance(outcome, type):
            with pytest.raises(outcome):
                client.execute(query)
        else:
            assert client.execute(query) == outcome
    assert len(seen) == sent


def test_retry_after_is_honoured_and_retries_are_bounded(sleeps: list[float]) -> None:
    busy = httpx.Response(429, headers={"Retry-After": "2"})
    transport, seen = scripted(busy, httpx.Response(503), httpx.Response(503), httpx.Response(503), OK)
    with (
        GraphQLClient("http://api.test/graphql", transport=transport, backoff=0.5) as client,
        pytest.raises(HTTPError) as raised,
    ):
        client.execute(QUERY)
    assert (raised.value.status_code, len(seen), sleeps[0]) == (503, 4, 2.0)
    for attempt, delay in enumerate(sleeps[1:], start=1):  # jittered within the upper half of the backoff
        assert 0.25 * 2**attempt <= delay <= 0.5 * 2**attempt


def test_a_retry_after_beyond_the_budget_is_not_waited_for(sleeps: list[float]) -> None:
    transport, seen = scripted(httpx.Response(503, headers={"Retry-After": "3600"}), OK)
    with GraphQLClient("http://api.test/graphql", transport=transport) as client, pytest.raises(HTTPError):
        client.execute(QUERY)
    assert (len(seen), sleeps) == (1, [])


def test_a_mutation_is_not_resent_after_a_real_read_timeout() -> None:
    identity = IdentityProvider()
    identity.delay = 0.5
    with serve_wsgi(identity) as base_url:
        auth = HasuraAdminSecretAuth("admin-secret")
        with GraphQLClient(f"{base_url}/v1/graphql", auth=auth, timeout=0.2, backoff=0.01) as client:
            with pytest.raises(TransportError, match=r"^ReadTimeout talking to http://127\.0\.0\.1:"):
                client.execute(MUTATION)
            mutations = len(identity.graphql_bodies)
            with pytest.raises(TransportError):
                client.execute(QUERY)
        time.sleep(0.6)  # let the slow answers finish before the server stops
    assert (mutations, len(identity.graphql_bodies)) == (1, 5)  # the query: 1 + 3 retries


def test_a_mutation_is_resent_when_only_the_token_request_failed(sleeps: list[float]) -> None:
    answers: list[Any] = [httpx.ReadTimeout("token endpoint slow"), None, None]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            answer = answers.pop(0)
            if answer is not None:
                raise answer
            return httpx.Response(200, json={"access_token": "t", "expires_in": 60})
        return httpx.Response(200, json={"data": {"ok": True}})

    auth = ClientCredentialsAuth("http://idp.test/oauth2/token", CLIENT_ID, CLIENT_SECRET)
    with GraphQLClient("http://api.test/graphql", auth=auth, transport=httpx.MockTransport(handle)) as client:
        assert client.execute(MUTATION) == {"ok": True}
    assert len(sleeps) == 1


def test_transport_errors_name_the_server_and_never_the_token(sleeps: list[float]) -> None:
    transport, _seen = scripted(*[httpx.ConnectError("refused")] * 4)
    auth = StaticTokenAuth("secret-token")
    with (
        GraphQLClient("http://api.test/graphql?x=1", auth=auth, transport=transport) as client,
        pytest.raises(TransportError) as raised,
    ):
        client.execute(QUERY)
    assert str(raised.value) == "ConnectError talking to http://api.test/graphql: refused"
    assert len(sleeps) == 3


def test_client_credentials_form_encode_the_id_and_secret_for_basic_auth() -> None:
    """RFC 6749 2.3.1: form-encode, then join with a colon, then base64."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            seen.append(request.headers["Authorization"])
            return httpx.Response(200, json={"access_token": "t", "expires_in": 60})
        return httpx.Response(200, json={"data": {"ok": True}})

    auth = ClientCredentialsAuth("http://idp.test/oauth2/token", "id:1", "p@ss word")
    with GraphQLClient("http://api.test/graphql", auth=auth, transport=httpx.MockTransport(handle)) as client:
        client.execute(QUERY)
    assert seen == ["Basic " + base64.b64encode(b"id%3A1:p%40ss+word").decode()]


@pytest.mark.parametrize("login_body", [{"token_type": "Bearer", "expires_in": 900}, "<html>"], ids=["cookies", "html"])
def test_a_login_answer_without_a_token_says_so(login_body: Any) -> None:
    message = "/login answered no access_token (is the server in cookie mode?)"

    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(login_body, str):
            return httpx.Response(200, text=login_body)
        return httpx.Response(200, json=login_body)

    auth = PasswordAuth("http://api.test", "ada@example.com", PASSWORD)
    with (
        GraphQLClient("http://api.test/graphql", auth=auth, transport=httpx.MockTransport(handle)) as client,
        pytest.raises(AuthenticationError, match=re.escape(message)),
    ):
        client.execute(QUERY)


@pytest.mark.parametrize(
    ("query", "first", "sent", "outcome"),
    [
        (MUTATION, httpx.ConnectError("refused"), 2, {"ok": True}),
        (MUTATION, httpx.ReadTimeout("slow"), 1, TransportError),
        (QUERY, httpx.Response(503), 2, {"ok": True}),
        (MUTATION, httpx.Response(503), 1, HTTPError),
    ],
    ids=["mutation-connect", "mutation-read-timeout", "query-503", "mutation-503"],
)
def test_the_async_client_follows_the_same_retry_rules(
    query: str, first: Any, sent: int, outcome: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    async def no_sleep(_seconds: float) -> None:
        return None

    monkeypatch.setattr(anyio, "sleep", no_sleep)
    transport, seen = scripted(first, OK)

    async def scenario() -> Any:
        async with AsyncGraphQLClient("http://api.test/graphql", transport=transport) as client:
            return await client.execute(query)

    if isinstance(outcome, type):
        with pytest.raises(outcome):
            asyncio.run(scenario())
    else:
        assert asyncio.run(scenario()) == outcome
    assert len(seen) == sent


def test_threads_and_tasks_on_one_provider_send_one_token_request(
    provider_server: tuple[IdentityProvider, str],
) -> None:
    """GIVEN a slow token endpoint WHEN 8 threads and 8 tasks start at once THEN one token request serves all."""
    identity, base_url = provider_server
    identity.token_delay = 0.3
    auth = credentials(base_url)
    url = f"{base_url}/v1/graphql"
    start = threading.Barrier(9)
    results: list[Any] = []

    def thread_caller() -> None:
        with GraphQLClient(url, auth=auth) as client:
            start.wait()
            results.append(client.execute(VIEWER))

    async def tasks() -> None:
        async with AsyncGraphQLClient(url, auth=auth) as client:
            await asyncio.to_thread(start.wait)
            results.extend(await asyncio.gather(*(client.execute(VIEWER) for _ in range(8))))

    threads = [threading.Thread(target=thread_caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    asyncio.run(tasks())
    for thread in threads:
        thread.join()
    assert results == [{"token": "token-1"}] * 16
    assert (len(identity.token_forms), identity.token_requests_at_once) == (1, 1)
