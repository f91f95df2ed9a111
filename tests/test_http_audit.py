"""The GraphQL-over-HTTP audit suite (npm graphql-http's auditServer) passes in full against /graphql."""

from __future__ import annotations

from typing import Any

import pytest
from support import ROOT, require_node, run_json_script

AUDIT_DIR = ROOT / "tests" / "http_audit"
pytestmark = pytest.mark.slow


@pytest.fixture
def node() -> str:
    return require_node(AUDIT_DIR, ("graphql-http",))


def run_audit(node: str, url: str, token: str) -> tuple[Any, dict[str, Any]]:
    """Run audit.mjs against `url` with `token` and return the process and its JSON summary line."""
    return run_json_script([node, str(AUDIT_DIR / "audit.mjs"), url, token])


def test_graphql_over_http_audit_passes_in_full(node: str, live_graphql_url: str, auth: Any) -> None:
    """Every audit of graphql-http's auditServer is ok when the requests carry an access token."""
    audit, summary = run_audit(node, live_graphql_url, auth.token())

    assert summary["failures"] == [], audit.stdout
    assert summary["ok"] == summary["total"] > 0
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_audit_reports_failures(node: str, live_graphql_url: str) -> None:
    """The audit script fails, naming the failed audits, when the server refuses its requests."""
    audit, summary = run_audit(node, live_graphql_url, "not-a-token")

    assert audit.returncode == 1
    assert summary["failures"] and summary["ok"] < summary["total"]
    assert {failure["httpStatus"] for failure in summary["failures"]} == {401}
