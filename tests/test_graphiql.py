"""GraphiQL at /graphql: pinned assets with Subresource Integrity, and signing in from the page."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from support import PASSWORD, ROOT, Live, run_json_script

import graphiql

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class Assets(HTMLParser):
    """Collect the attributes of every <script src> and <link rel=stylesheet>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if (tag == "script" and found.get("src")) or (tag == "link" and found.get("rel") == "stylesheet"):
            self.tags.append({"tag": tag, **found})


def test_every_asset_is_pinned_by_version_and_integrity(client: Any) -> None:
    response = client.get("/graphql", headers=BROWSER)
    assert (response.status_code, response.mimetype) == (200, "text/html")
    parser = Assets()
    parser.feed(response.get_data(as_text=True))
    assert [(tag.get("src") or tag.get("href"), tag["integrity"], tag["crossorigin"]) for tag in parser.tags] == [
        (f"https://unpkg.com/{package}@{version}/{path}", integrity, "anonymous")
        for package, version, path, integrity in graphiql.ASSETS
    ]
    assert all(str(tag["integrity"]).startswith("sha384-") and len(str(tag["integrity"])) == 71 for tag in parser.tags)


def test_the_page_has_a_sign_in_form_and_no_placeholder_header(client: Any) -> None:
    page = client.get("/graphql", headers=BROWSER).get_data(as_text=True)
    assert '<form id="signin"' in page and 'type="password"' in page
    assert "<access_token from POST /login>" not in page and "defaultHeaders" not in page


@pytest.fixture
def settings(settings: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    return {**settings, "ACCESS_TOKEN_EXPIRES": 2, **getattr(request, "param", {})}


COOKIES = ["access_token_cookie", "csrf_access_token", "csrf_refresh_token", "refresh_token_cookie"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("settings", "cookies"),
    [({}, []), ({"AUTH_COOKIES": True}, COOKIES)],
    ids=["headers", "cookies"],
    indirect=["settings"],
)
def test_signing_in_on_the_page_runs_queries_and_refreshes(live: Live, tmp_path: Path, cookies: list[str]) -> None:
    """The page's own script, in Node with GraphiQL stubbed: schema before sign-in, login, refresh, sign-out."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    import httpx

    page = tmp_path / "graphiql.html"
    page.write_text(httpx.get(live.graphql_url, headers=BROWSER).text)
    _process, steps = run_json_script(
        [node, str(ROOT / "tests" / "graphiql" / "drive.mjs"), live.base_url, str(page), "ada@example.com",
         PASSWORD, "2.2"],
        timeout=60,
    )
    assert steps == {
        "placeholderHeader": False,
        "schemaBeforeSignIn": "Query",
        "queryBeforeSignIn": "UNAUTHENTICATED",
        "wrongPassword": "The email or password is incorrect.",
        "throttled": "Too many attempts; try again in N seconds.",
        "signedIn": "Signed in as ada@example.com.",
        "cookiesSignedIn": cookies,
        "passwordCleared": True,
        "renders": 2,
        "query": {"data": {"viewer": {"email": "ada@example.com"}}},
        "afterExpiry": {"data": {"viewer": {"email": "ada@example.com"}}},
        "signedOut": "Signed out.",
        "afterSignOut": "UNAUTHENTICATED",
        "cookies": [],
    }
    paths = live.recorder.paths()
    refreshes, refused = [path for path, _status in paths].count("/refresh"), paths.count(("/graphql", 401))
    # Refused before sign-in and after sign-out; with headers also once expired, then the page refreshes.
    # With cookies the server renews an expiring access cookie from the refresh cookie: no 401, no /refresh.
    assert (refreshes, refused) == ((0, 2) if cookies else (1, 3))
    assert [path for path, _status in paths].count("/graphql-schema") == 1
