"""Rewrite a Lambda zip for a faster cold start: precompiled bytecode, no unused botocore models.

Usage: python3.11 deploy/optimize_package.py ZIP --python-version 3.11 --botocore-services dynamodb,ssm:GetParameter
       [--require persisted_queries.json]

- Lambda's /var/task is read-only, so Python cannot cache what it compiles there: without
  valid .pyc files in the zip every cold start compiles every module again (about 0.7 s
  of CPU for this app). pip's .pyc files are checked against the source's mtime, which
  zipping does not keep; these are "unchecked-hash" .pyc files, valid whatever the mtime.
- botocore ships the models of every AWS service (about 20 MB zipped); the app's clients
  use only the ones listed. Some packages ship their test suites (graphene does). A
  smaller zip is faster to upload and for Lambda to fetch.
- Every botocore client parses endpoints.json (1.2 MB: every service in every partition)
  and its service's model, documentation included, into OrderedDicts. Kept: the listed
  services' entries, and their models without documentation (used for docstrings only).
  Measured with bench/coldstart.py: the first query went from about 125 ms to 40 ms
  (PynamoDB's DynamoDB client) and reading the secret from about 55 ms to 25 ms (the SSM
  client). Endpoints resolve as before: tests/test_deploy.py compares them with the full data.
- A service listed as `ssm:GetParameter` keeps only those operations (`+` between several)
  and the shapes they use: building the SSM client then parses 16 shapes instead of
  1,358 (about 18 ms to 9.5 ms of the cold start).
- `--require NAME` (repeatable): a file the function reads at start (the trusted documents
  of PERSISTED_QUERIES_FILE); a rewritten zip without it is an error, not a function that
  cannot start.

Run by deploy/optimize-package.js after serverless-python-requirements added the requirements.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import json
import os
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

BOTOCORE_DATA = "botocore/data/"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the same bytes for the same input: a stable CodeSha256


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zip", type=Path)
    parser.add_argument("--python-version", required=True, help="the Lambda runtime's version, e.g. 3.11")
    parser.add_argument(
        "--botocore-services",
        default="",
        help="comma-separated botocore models to keep, each optionally with the operations to keep: ssm:GetParameter",
    )
    parser.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="NAME",
        help="a file the zip must hold after the rewrite (a path from the project root); repeatable",
    )
    args = parser.parse_args(argv)

    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != args.python_version:
        print(
            f"optimize_package: this is Python {running} but the runtime is python{args.python_version}; "
            f"bytecode must be made by the same version: set SLS_PYTHON_BIN to a python{args.python_version}",
            file=sys.stderr,
        )
        return 2
    keep = parse_services(args.botocore_services)
    removed, compiled = optimize(args.zip, keep)
    with zipfile.ZipFile(args.zip) as archive:
        missing = sorted(set(args.require) - set(archive.namelist()))
    if missing:
        print(
            f"optimize_package: {', '.join(missing)} not in {args.zip.name}, yet the function reads it at start: "
            "check package.patterns in serverless.yml",
            file=sys.stderr,
        )
        return 2
    size = args.zip.stat().st_size / 1e6
    print(
        f"optimize_package: {compiled} modules precompiled; {removed} unused files "
        f"(botocore models, bundled tests) left out; {size:.1f} MB"
    )
    return 0


def parse_services(spec: str) -> dict[str, set[str] | None]:
    """Map each listed service to the operations to keep, or None for all of them."""
    services: dict[str, set[str] | None] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        name, _, operations = entry.partition(":")
        services[name] = set(operations.split("+")) if operations else None
    return services


def optimize(path: Path, botocore_services: dict[str, set[str] | None]) -> tuple[int, int]:
    """Rewrite the zip at `path`; return how many files were left out and how many modules were compiled."""
    removed = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        attributes: dict[str, int] = {}
        with zipfile.ZipFile(path) as source:
            for info in source.infolist():
                name = info.filename
                if _unused_botocore_file(name, botocore_services) or _bundled_test(name):
                    removed += 1
                    continue
                if name.endswith(".pyc"):
                    continue  # replaced below
                attributes[name] = info.external_attr
                source.extract(info, root)
        if botocore_services:
            _trim_botocore_data(root / BOTOCORE_DATA, botocore_services)
        compileall.compile_dir(
            root,
            quiet=2,
            force=True,
            workers=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        compiled = _write_zip(path, root, attributes)
    return removed, compiled


def _unused_botocore_file(name: str, services: dict[str, set[str] | None]) -> bool:
    if not services or not name.startswith(BOTOCORE_DATA):
        return False
    service = name[len(BOTOCORE_DATA) :].split("/", 1)
    return len(service) == 2 and service[0] not in services  # top-level files (endpoints, ...) stay


def _trim_botocore_data(data: Path, services: dict[str, set[str] | None]) -> None:
    """Keep only `services` in endpoints.json; strip documentation and unlisted operations from their models."""
    endpoints = json.loads((data / "endpoints.json").read_text())
    for partition in endpoints["partitions"]:
        partition["services"] = {name: entry for name, entry in partition["services"].items() if name in services}
    (data / "endpoints.json").write_text(json.dumps(endpoints, separators=(",", ":")))
    for model in data.glob("*/*/service-2.json*"):
        opened = gzip.open if model.suffix == ".gz" else open
        with opened(model, "rt", encoding="utf-8") as source:
            document = _without_documentation(json.load(source))
        operations = services.get(model.parts[-3])
        if operations is not None:
            document = _only_operations(document, operations)
            for extra in ("paginators-1.json", "waiters-2.json"):  # they name the dropped operations
                (model.parent / extra).unlink(missing_ok=True)
        with opened(model, "wt", encoding="utf-8") as target:
            json.dump(document, target, separators=(",", ":"))


def _only_operations(model: dict, operations: set[str]) -> dict:
    """Return `model` with only `operations` and the shapes they reach."""
    missing = operations - set(model["operations"])
    if missing:
        raise SystemExit(f"optimize_package: {model['metadata']['serviceId']} has no operation {sorted(missing)}")
    kept = {name: model["operations"][name] for name in sorted(operations)}
    pending = [
        reference["shape"]
        for operation in kept.values()
        for reference in [operation.get("input"), operation.get("output"), *operation.get("errors", [])]
        if reference
    ]
    shapes: set[str] = set()
    while pending:
        name = pending.pop()
        if name in shapes:
            continue
        shapes.add(name)
        shape = model["shapes"][name]
        pending += [shape[key]["shape"] for key in ("member", "key", "value") if key in shape]
        pending += [member["shape"] for member in shape.get("members", {}).values()]
    return {**model, "operations": kept, "shapes": {name: model["shapes"][name] for name in sorted(shapes)}}


def _without_documentation(value: object) -> object:
    if isinstance(value, dict):
        return {key: _without_documentation(item) for key, item in value.items() if key != "documentation"}
    if isinstance(value, list):
        return [_without_documentation(item) for item in value]
    return value


def _bundled_test(name: str) -> bool:
    """Say whether `name` is in a package's own test suite, e.g. graphene/relay/tests/test_node.py."""
    return "tests" in name.split("/")[1:-1]


def _write_zip(path: Path, root: Path, attributes: dict[str, int]) -> int:
    """Write every file under `root` to `path`, sorted, with fixed dates; return the .pyc count."""
    compiled = 0
    partial = path.with_name(path.name + ".partial")
    files = sorted(
        str(Path(directory, file).relative_to(root)).replace(os.sep, "/")
        for directory, _dirs, names in os.walk(root)
        for file in names
    )
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as target:
        for name in files:
            info = zipfile.ZipInfo(name, FIXED_DATE)
            info.external_attr = attributes.get(name, 0o100644 << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, (root / name).read_bytes())
            compiled += name.endswith(".pyc")
    os.replace(partial, path)
    return compiled


if __name__ == "__main__":
    sys.exit(main())
