"""Attack the login as a password guesser would, and measure what a burst of logins costs.

    python bench/login_attack.py                    # the working tree
    python bench/login_attack.py --source DIR       # another checkout (e.g. the code before a change)
    python bench/login_attack.py --guesses 600 --burst 16

Each phase starts `run.py` from the source tree afresh (embedded store, free ports, a
temporary DATA_DIR, production argon2 parameters: 64 MiB per hash) and talks to it over
HTTP on 127.0.0.1:
- brute force: one account, `--guesses` wrong passwords in a row, then the right one;
  prints the statuses the client got and the answer to the right password.
- burst: `--burst` accounts log in at the same moment; prints the server's resident memory
  just before and its peak during the burst (VmHWM, reset first through clear_refs).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server(source: Path) -> Iterator[tuple[str, int]]:
    """Run `run.py` of `source` and yield its base URL and process id."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir, open(Path(data_dir) / "server.log", "wb") as log:
        env = {
            **os.environ,
            "APP_ENV": "development",
            "PORT": str(port),
            "DYNAMODB_PORT": str(free_port()),
            "DATA_DIR": data_dir,
            "RELOAD": "false",
            "LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [sys.executable, "run.py"], cwd=source, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{base}/graphql-schema?format=sdl", timeout=1).read()
                    break
                except OSError:
                    if process.poll() is not None:
                        output = (Path(data_dir) / "server.log").read_text()[-2000:]
                        raise SystemExit(f"run.py exited: {output}") from None
                    time.sleep(0.1)
            yield base, process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def post(base: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def memory_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def brute_force(source: Path, guesses: int) -> dict[str, Any]:
    with server(source) as (base, _pid):
        email = "victim@example.com"
        status, body, _ = post(base, "/signup", {"email": email, "password": PASSWORD})
        assert status == 201, body
        answers: collections.Counter[str] = collections.Counter()
        started = time.perf_counter()
        for number in range(guesses):
            status, body, _ = post(base, "/login", {"email": email, "password": f"wrong guess {number}"})
            answers[f"{status} {body.get('code', '')}".strip()] += 1
        elapsed = time.perf_counter() - started
        status, body, headers = post(base, "/login", {"email": email, "password": PASSWORD})
        right = {"status": status, "code": body.get("code"), "retry_after": headers.get("Retry-After")}
        if status == 200:
            right["body"] = "tokens"
    return {"wrong_guesses": dict(answers), "seconds": round(elapsed, 1), "right_password": right}


def burst(source: Path, logins: int) -> dict[str, Any]:
    with server(source) as (base, pid):
        emails = [f"user{number}@example.com" for number in range(logins)]
        for email in emails:
            status, body, _ = post(base, "/signup", {"email": email, "password": PASSWORD})
            assert status == 201, body
        before = memory_kb(pid, "VmRSS")
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # reset VmHWM, the peak resident size, to the current size
        statuses: collections.Counter[int] = collections.Counter()
        start = threading.Barrier(logins)

        def login(email: str) -> None:
            start.wait()
            statuses[post(base, "/login", {"email": email, "password": PASSWORD})[0]] += 1

        threads = [threading.Thread(target=login, args=(email,)) for email in emails]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        peak = memory_kb(pid, "VmHWM")
    return {
        "logins": logins,
        "statuses": dict(statuses),
        "seconds": round(elapsed, 2),
        "rss_before_mb": round(before / 1024),
        "peak_rss_mb": round(peak / 1024),
        "peak_growth_mb": round((peak - before) / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout whose run.py to attack")
    parser.add_argument("--guesses", type=int, default=600)
    parser.add_argument("--burst", type=int, default=16)
    arguments = parser.parse_args()
    source = arguments.source.resolve()
    print(json.dumps({"source": str(source), "brute_force": brute_force(source, arguments.guesses)}), flush=True)
    print(json.dumps({"source": str(source), "burst": burst(source, arguments.burst)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
