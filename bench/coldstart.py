"""Measure the Lambda cold start: import the handler module, then serve the first authenticated query.

    python bench/coldstart.py                 # package with serverless (deploy/node_modules), then measure
    python bench/coldstart.py --zip PATH      # measure an existing package (serverless package --package DIR)
    python bench/coldstart.py --source        # the working tree and this Python's site-packages instead
    python bench/coldstart.py --importtime    # also: which packages the import spends its time in

Each run is a fresh `python -I -S` with only the unzipped package on its path, started as
Lambda starts one: AWS_LAMBDA_FUNCTION_NAME set, the JWT secret in SSM Parameter Store.
An embedded DynamoDB (moto, on 127.0.0.1) stands in for DynamoDB and SSM; the tables and
a user are made beforehand. The run also counts the DynamoDB requests sent before the
first event (the target is none) and during it. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_dynamodb import LocalDynamoDB  # noqa: E402

PREFIX = "bench-"
SECRET_PARAMETER = "/relay-api/bench/jwt-secret"
SECRET = "bench-only-secret-" + "x" * 40
EMAIL, PASSWORD = "bench@example.com", "correct horse battery"
QUERY = "{ viewer { email } }"

CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()

def peak_rss_kb():
    # VmHWM starts afresh at exec; ru_maxrss would include the parent's size from before it.
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

sys.path.insert(0, sys.argv[1])
import lambda_handler
imported = time.perf_counter()
print("@@" + json.dumps({"import_ms": (imported - started) * 1000}), flush=True)
event = json.loads(sys.stdin.readline())

class Context:
    aws_request_id = "bench-invocation"
    function_name = "relay-api-bench-api"

before = time.perf_counter()
response = lambda_handler.handler(event, Context())
after = time.perf_counter()
print("@@" + json.dumps({
    "first_event_ms": (after - before) * 1000,
    "cpu_ms": time.process_time() * 1000,
    "peak_rss_mb": peak_rss_kb() / 1024,
    "status": response["statusCode"],
    "body": response["body"],
}), flush=True)
"""


# The floor: the least any Python stack does for this answer, in a fresh process of the same
# Python with the same packages: import PyJWT and botocore, verify the token, create a
# DynamoDB client, one GetItem, json.dumps. (Ours also reads the secret from SSM.)
FLOOR_CHILD = r"""
import sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import json, os, jwt, botocore.session
claims = jwt.decode(sys.argv[2], sys.argv[3], algorithms=["HS256"], audience="relay-api", issuer="relay-api")
client = botocore.session.get_session().create_client(
    "dynamodb", region_name=os.environ["AWS_REGION"], endpoint_url=os.environ["DYNAMODB_HOST"])
item = client.get_item(TableName=sys.argv[4], Key={"id": {"S": claims["sub"]}})["Item"]
body = json.dumps({"data": {"viewer": {"email": item["email"]["S"]}}})
print("@@" + json.dumps({"floor_ms": (time.perf_counter() - started) * 1000, "cpu_ms": time.process_time() * 1000,
                         "body": body}), flush=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--zip", type=Path, help="a package made by `serverless package`")
    where.add_argument("--source", action="store_true", help="the working tree with this Python's site-packages")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--importtime", action="store_true", help="also break the import down by package")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        if args.source:
            task, flags, label = ROOT, ["-I"], "source tree + site-packages"
        else:
            artifact = args.zip or build_package(Path(tmp) / "package")
            task, flags, label = Path(tmp) / "task", ["-I", "-S"], f"package {artifact.name}"
            with zipfile.ZipFile(artifact) as archive:
                archive.extractall(task)
        store = LocalDynamoDB(port=0)
        store.start()
        try:
            token = prepare(store)
            event = query_event(token)
            environ = child_environment(store, task)
            runs, floors = [], []
            for _ in range(args.runs):  # interleaved: a noisy neighbour slows both alike
                runs.append(run_once(store, task, flags, environ, event))
                floors.append(floor_once(task, flags, environ, token))
            report(label, runs)
            ours = statistics.median(run["import_and_first_ms"] for run in runs)
            ours_cpu = statistics.median(run["cpu_ms"] for run in runs)
            floor = statistics.median(run["floor_ms"] for run in floors)
            floor_cpu = statistics.median(run["cpu_ms"] for run in floors)
            print(
                f"floor (PyJWT + botocore client + GetItem + json.dumps), medians: {floor:.1f} ms "
                f"({floor_cpu:.1f} ms CPU); ours / floor = {ours / floor:.2f} ({ours_cpu / floor_cpu:.2f} in CPU)"
            )
            if args.importtime:
                print_importtime(task, flags, environ)
        finally:
            store.stop()
    return 0


def build_package(output: Path) -> Path:
    """Run `serverless package` (offline, dummy credentials) and return the zip."""
    node = shutil.which("node")
    serverless = ROOT / "deploy" / "node_modules" / "serverless" / "bin" / "serverless.js"
    if node is None or not serverless.is_file():
        sys.exit("bench/coldstart.py: needs node and `npm ci --prefix deploy`, or --zip PATH, or --source")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "SLS_"))}
    env.update(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="offline-dummy-secret",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        SLS_PYTHON_BIN=sys.executable,
    )
    print("packaging with serverless ...", flush=True)
    command = [node, str(serverless), "package", "--stage", "bench", "--package", str(output)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return output / "relay-api.zip"


def prepare(store: LocalDynamoDB) -> str:
    """Create the tables, a user and the secret; return an access token for that user."""
    import botocore.session

    import config
    import models
    import tables
    from app import create_app

    settings = {
        "APP_ENV": "test",
        "DYNAMODB_HOST": store.url,
        "TABLE_PREFIX": PREFIX,
        "JWT_SECRET_KEY": SECRET,
        "LOG_LEVEL": "WARNING",
    }
    models.configure(config.load_settings(settings, dotenv=False))
    tables.create_tables()
    app = create_app(settings)
    response = app.test_client().post("/signup", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    ssm = botocore.session.get_session().create_client(
        "ssm", region_name="us-east-1", endpoint_url=store.url, aws_access_key_id="x", aws_secret_access_key="x"
    )
    ssm.put_parameter(Name=SECRET_PARAMETER, Value=SECRET, Type="SecureString", Overwrite=True)
    return response.get_json()["access_token"]


def query_event(token: str) -> dict[str, Any]:
    """Return an HTTP API (v2) event asking for the viewer, from the tests' sample event."""
    event = json.loads((ROOT / "tests" / "events" / "http_api_v2.json").read_text())
    body = json.dumps({"query": QUERY}).encode()
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/graphql"
    event["headers"].update({"authorization": f"Bearer {token}", "content-length": str(len(body))})
    event["body"] = base64.b64encode(body).decode()
    return event


def child_environment(store: LocalDynamoDB, task: Path) -> dict[str, str]:
    """The environment Lambda gives the function (as serverless.yml sets it), pointed at the store."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_LAMBDA_FUNCTION_NAME": "relay-api-bench-api",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIAOFFLINEDUMMYKEY0",
        "AWS_SECRET_ACCESS_KEY": "offline-dummy-secret",
        "AWS_SESSION_TOKEN": "offline-dummy-token",
        "APP_ENV": "production",
        "TABLE_PREFIX": PREFIX,
        "JWT_SECRET_PARAMETER": SECRET_PARAMETER,
        "GRAPHIQL": "false",
        "LOG_LEVEL": "INFO",
        "DYNAMODB_HOST": store.url,
        "AWS_ENDPOINT_URL_SSM": store.url,
    }


def run_once(
    store: LocalDynamoDB, task: Path, flags: list[str], environ: dict[str, str], event: dict[str, Any]
) -> dict[str, Any]:
    """Start a fresh process, import the handler, serve one event; return the measurements."""
    store.operations.clear()
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, *flags, "-c", CHILD, str(task)],
        cwd=task,
        env=environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        imported = _message(child.stdout)
        ready = time.perf_counter()
        before_first_event = list(store.operations)
        child.stdin.write(json.dumps(event) + "\n")
        child.stdin.flush()
        served = _message(child.stdout)
        child.stdin.close()
    body = json.loads(served.pop("body"))
    if served.pop("status") != 200 or body != {"data": {"viewer": {"email": EMAIL}}}:
        sys.exit(f"bench/coldstart.py: the first query failed: {body}")
    return {
        **imported,
        **served,
        "start_to_ready_ms": (ready - started) * 1000,
        "import_and_first_ms": imported["import_ms"] + served["first_event_ms"],
        "dynamodb_before": [op for op in before_first_event if op != "GetParameters"],
        "ssm_before": before_first_event.count("GetParameters"),
        "dynamodb_first_event": store.operations[len(before_first_event) :],
    }


def floor_once(task: Path, flags: list[str], environ: dict[str, str], token: str) -> dict[str, Any]:
    """Start a fresh process that does only what the floor does; return its time from start to answer."""
    result = subprocess.run(
        [sys.executable, *flags, "-c", FLOOR_CHILD, str(task), token, SECRET, PREFIX + "users"],
        cwd=task,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    message = _message(iter(result.stdout.splitlines(keepends=True)))
    if EMAIL not in message["body"]:
        sys.exit(f"bench/coldstart.py: the floor's query failed: {result.stderr[-300:]}")
    return message


def _message(stdout: Any) -> dict[str, Any]:
    for line in stdout if not hasattr(stdout, "readline") else iter(stdout.readline, ""):
        if line.startswith("@@"):
            return json.loads(line[2:])
    sys.exit("bench/coldstart.py: the child process exited early")


def report(label: str, runs: list[dict[str, Any]]) -> None:
    print(f"\ncold start, {len(runs)} runs, {label}, Python {sys.version.split()[0]} on {os.cpu_count()} cores")
    print(f"{'':34}{'median':>9}{'min':>9}{'max':>9}")
    for key, title in (
        ("import_ms", "import lambda_handler (ms)"),
        ("first_event_ms", "first authenticated query (ms)"),
        ("import_and_first_ms", "import + first query (ms)"),
        ("start_to_ready_ms", "process start to imported (ms)"),
        ("cpu_ms", "CPU, whole process (ms)"),
        ("peak_rss_mb", "peak RSS (MB)"),
    ):
        values = [run[key] for run in runs]
        print(f"{title:34}{statistics.median(values):9.1f}{min(values):9.1f}{max(values):9.1f}")
    before = {tuple(run["dynamodb_before"]) for run in runs}
    during = {tuple(run["dynamodb_first_event"]) for run in runs}
    print(f"DynamoDB requests before the first event: {', '.join(map(str, before)) or 'none'}", end="")
    print(f" (and {runs[0]['ssm_before']} SSM GetParameters for the secrets)")
    print(f"DynamoDB requests serving the first event: {', '.join(' '.join(ops) for ops in during)}")


def print_importtime(task: Path, flags: list[str], environ: dict[str, str]) -> None:
    """Run the import once under -X importtime and print the packages that take longest."""
    code = f"import sys; sys.path.insert(0, {str(task)!r}); import lambda_handler"
    result = subprocess.run(
        [sys.executable, *flags, "-X", "importtime", "-c", code],
        cwd=task,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    by_package: dict[str, int] = {}
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            package = match.group(2).split(".")[0]
            by_package[package] = by_package.get(package, 0) + int(match.group(1))
    total = sum(by_package.values())
    print(f"\nimport time by top-level package (self time, -X importtime; total {total / 1000:.0f} ms):")
    for package, micros in sorted(by_package.items(), key=lambda item: -item[1])[:15]:
        print(f"  {package:28}{micros / 1000:7.1f} ms  {100 * micros / total:4.0f}%")


if __name__ == "__main__":
    sys.exit(main())
