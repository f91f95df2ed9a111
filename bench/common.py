"""What the benchmarks share: a DynamoDB-compatible store in its own process, and timing DynamoDB sends."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STORE = """
import sys
sys.path.insert(0, sys.argv[1])
from local_dynamodb import LocalDynamoDB
store = LocalDynamoDB(port=0, record_operations=False)
print(store.start(), flush=True)
sys.stdin.read()  # serve until the parent closes stdin
store.stop()
"""

SECRET = "bench-only-secret-" + "b" * 40
# Every token carries the app's `iss` and `aud` (JWT_ISSUER, JWT_AUDIENCE); a floor checks them as ours does.
ISSUER = AUDIENCE = "relay-api"
PASSWORD = "correct horse battery"


@contextmanager
def store_process() -> Iterator[str]:
    """Serve the embedded store in a child process (so it takes no CPU from the measured one); yield its URL."""
    child = subprocess.Popen(
        [sys.executable, "-c", STORE, str(ROOT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        yield child.stdout.readline().strip()
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)


class SendTimer:
    """Time every DynamoDB HTTP send (botocore's URLLib3Session), so own time = total - sends."""

    def __init__(self) -> None:
        import botocore.httpsession

        self.seconds = 0.0
        self.count = 0
        session = botocore.httpsession.URLLib3Session
        send = session.send

        def timed_send(this: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return send(this, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.count += 1

        session.send = timed_send  # type: ignore[method-assign]


def measure(timer: SendTimer, function: Any, repeat: int, warmup: int = 20) -> dict[str, float]:
    """Run `function` `repeat` times; return p50/p99 latency, own p50 (outside sends), rate and sends per call."""
    for _ in range(warmup):
        function()
    latencies, own = [], []
    timer.count = 0
    started = time.perf_counter()
    for _ in range(repeat):
        sent = timer.seconds
        before = time.perf_counter()
        function()
        elapsed = time.perf_counter() - before
        latencies.append(elapsed * 1000)
        own.append((elapsed - (timer.seconds - sent)) * 1000)
    total = time.perf_counter() - started
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)],
        "own_p50_ms": statistics.median(own),
        "per_second": repeat / total,
        "sends": timer.count / repeat,
    }


def app_settings(url: str, prefix: str, **overrides: Any) -> dict[str, Any]:
    """Settings of a benchmarked app: production, as on Lambda, against the store at `url`."""
    return {
        "APP_ENV": "production",
        "DYNAMODB_HOST": url,
        "TABLE_PREFIX": prefix,
        "JWT_SECRET_KEY": SECRET,
        "CORS_ORIGINS": "",
        "GRAPHIQL": "false",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }
