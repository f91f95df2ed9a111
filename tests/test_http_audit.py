"""The GraphQL-over-HTTP audit suite (npm graphql-http's auditServer) passes in full against /graphql."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from support import ROOT
from werkzeug.serving import make_server

AUDIT_DIR = ROOT / "tests" / "http_audit"
pytestmark = pytest.mark.slow


@pytest.fixture
def node() -> str:
    """Return the node executable, or skip (fail on CI) when the audit cannot run here."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node is not installed")
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        missing.append("tests/http_audit/node_modules is missing")
    if missing:
        reason = f"{' and '.join(missing)}: run `npm ci --prefix tests/http_audit`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert node is not None
    return node


@pytest.fixture
def server_url(app: Any) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread and return the /graphql URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="audited-app", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/graphql"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def run_audit(node: str, url: str, token: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run audit.mjs against `url` with `token` and return the process and its JSON summary line."""
    audit = subprocess.run(
        [node, str(AUDIT_DIR / "audit.mjs"), url, token],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    lines = audit.stdout.strip().splitlines()
    assert lines, f"the audit printed nothing; stderr:\n{audit.stderr}"
    return audit, json.loads(lines[-1])


def test_graphql_over_http_audit_passes_in_full(node: str, server_url: str, auth: Any) -> None:
    """Every audit of graphql-http's auditServer is ok when the requests carry an access token."""
    audit, summary = run_audit(node, server_url, auth.token())

    assert summary["failures"] == [], audit.stdout
    assert summary["ok"] == summary["total"] > 0
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_audit_reports_failures(node: str, server_url: str) -> None:
    """The audit script fails, naming the failed audits, when the server refuses its requests."""
    audit, summary = run_audit(node, server_url, "not-a-token")

    assert audit.returncode == 1
    assert summary["failures"] and summary["ok"] < summary["total"]
    assert {failure["httpStatus"] for failure in summary["failures"]} == {401}
