"""serverless.yml, checked offline: its tables match the models, `serverless package` makes a
template that cfn-lint accepts and a zip whose handler serves API Gateway events by itself."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import PASSWORD, ROOT
from test_lambda_handler import V1, V2, VIEWER_QUERY, api_event, body_of, signup_login_and_query

import models
from local_dynamodb import LocalDynamoDB

pytestmark = pytest.mark.slow

SERVERLESS_YML = ROOT / "serverless.yml"
SERVERLESS = ROOT / "deploy" / "node_modules" / "serverless" / "bin" / "serverless.js"
SERVICE, STAGE, REGION = "relay-api", "ci", "us-east-1"
RUNTIME_VERSION = (3, 11)  # provider.runtime: python3.11
SOURCE_PREFIX = "${self:provider.environment.TABLE_PREFIX}"
TEMPLATE_PREFIX = f"{SERVICE}-{STAGE}-"

# Every operation the app sends, as IAM actions; TransactWriteItems is authorized per item.
DYNAMODB_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
}
# cfn-lint warnings about what Serverless itself generates, not about serverless.yml.
KNOWN_WARNINGS = {("W3005", "HttpApiRouteDefault")}
# Each setting naming the SSM parameter of a secret the cold start reads (lambda_handler.SECRET_PARAMETERS):
# the param that sets it, and the parameter's name under /<service>/<stage>/ by default.
SECRET_PARAMS = {
    "JWT_SECRET_PARAMETER": ("jwtSecretParameter", "jwt-secret"),
    "JWT_PRIVATE_KEY_PARAMETER": ("jwtPrivateKeyParameter", "jwt-private-key"),
    "HASURA_ACTION_SECRET_PARAMETER": ("hasuraActionSecretParameter", "hasura-action-secret"),
    "UPSTREAM_CLIENT_SECRET_PARAMETER": ("upstreamClientSecretParameter", "upstream-client-secret"),
    "UPSTREAM_ADMIN_SECRET_PARAMETER": ("upstreamAdminSecretParameter", "upstream-admin-secret"),
}
# Trusted documents and /execute-graphql: each setting's param and its default, which keeps the feature off.
FEATURE_PARAMS = {
    "PERSISTED_QUERIES_FILE": ("persistedQueriesFile", ""),
    "TRUSTED_DOCUMENTS_ONLY": ("trustedDocumentsOnly", "false"),
    "UPSTREAM_GRAPHQL_URL": ("upstreamGraphqlUrl", ""),
    "UPSTREAM_TOKEN_URL": ("upstreamTokenUrl", ""),
    "UPSTREAM_CLIENT_ID": ("upstreamClientId", ""),
    "UPSTREAM_SCOPE": ("upstreamScope", ""),
    "UPSTREAM_FORWARD_USER": ("upstreamForwardUser", "false"),
    "UPSTREAM_ROLE": ("upstreamRole", "user"),
    "UPSTREAM_TIMEOUT": ("upstreamTimeout", "10"),
}
# The function's environment in a template packaged without params.
TEMPLATE_ENVIRONMENT = {
    "APP_ENV": "production",
    "TABLE_PREFIX": TEMPLATE_PREFIX,
    "JWT_SECRET_PARAMETER": f"/{SERVICE}/{STAGE}/jwt-secret",
    "JWT_ALGORITHM": "HS256",
    "JWT_PRIVATE_KEY_PARAMETER": f"/{SERVICE}/{STAGE}/jwt-private-key",
    "JWT_PREVIOUS_PUBLIC_KEYS": "",
    "HASURA_CLAIMS": "false",
    "HASURA_ACTION_SECRET_PARAMETER": f"/{SERVICE}/{STAGE}/hasura-action-secret",
    "CORS_ORIGINS": "",
    "PERSISTED_QUERIES_FILE": "",
    "TRUSTED_DOCUMENTS_ONLY": "false",
    "UPSTREAM_GRAPHQL_URL": "",
    "UPSTREAM_TOKEN_URL": "",
    "UPSTREAM_CLIENT_ID": "",
    "UPSTREAM_SCOPE": "",
    "UPSTREAM_CLIENT_SECRET_PARAMETER": f"/{SERVICE}/{STAGE}/upstream-client-secret",
    "UPSTREAM_ADMIN_SECRET_PARAMETER": f"/{SERVICE}/{STAGE}/upstream-admin-secret",
    "UPSTREAM_FORWARD_USER": "false",
    "UPSTREAM_ROLE": "user",
    "UPSTREAM_TIMEOUT": "10",
    "GRAPHIQL": "false",
    "LOG_LEVEL": "INFO",
}


def _require(condition: bool, reason: str) -> None:
    """Fail when `condition` is false; on CI always, since CI must run every deployment check."""
    if not condition:
        pytest.fail(f"{reason} (CI runs scripts/test, which installs it)" if os.environ.get("CI") else reason)


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        pytest.fail("PyYAML is missing: pip install -r requirements-deploy.txt")
    return yaml


# What the models declare, and what a template declares, in the same shape.


def _keys(key_schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted(((key["KeyType"], key["AttributeName"]) for key in key_schema), key=lambda key: key[0])  # HASH first


def _projection(projection: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    return projection["ProjectionType"], tuple(sorted(projection.get("NonKeyAttributes", ())))


def declared_tables() -> dict[str, dict[str, Any]]:
    """Return each model's table, by name without the prefix, as models.MODELS declares it."""
    from pynamodb.attributes import TTLAttribute

    tables = {}
    for model in models.MODELS:
        schema = model._get_schema()
        indexes = {"global": schema["global_secondary_indexes"], "local": schema["local_secondary_indexes"]}
        attributes = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
        for index in [*indexes["global"], *indexes["local"]]:
            attributes.update({d["AttributeName"]: d["AttributeType"] for d in index["attribute_definitions"]})
        ttl = [
            attribute.attr_name for attribute in model.get_attributes().values() if isinstance(attribute, TTLAttribute)
        ]
        tables[models.TABLE_NAMES[model]] = {
            "keys": _keys(schema["key_schema"]),
            "attributes": attributes,
            **{
                f"{kind} indexes": {
                    index["index_name"]: (_keys(index["key_schema"]), _projection(index["projection"]))
                    for index in entries
                }
                for kind, entries in indexes.items()
            },
            "ttl": ttl[0] if ttl else None,
        }
    return tables


def template_tables(resources: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    """Return the AWS::DynamoDB::Table resources, by name without `prefix`, in declared_tables()'s shape."""
    tables = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        properties = resource["Properties"]
        name = properties["TableName"]
        assert name.startswith(prefix), f"{logical_id}: TableName {name!r} does not start with {prefix!r}"
        ttl = properties.get("TimeToLiveSpecification", {})
        tables[name.removeprefix(prefix)] = {
            "keys": _keys(properties["KeySchema"]),
            "attributes": {d["AttributeName"]: d["AttributeType"] for d in properties["AttributeDefinitions"]},
            **{
                f"{kind} indexes": {
                    index["IndexName"]: (_keys(index["KeySchema"]), _projection(index["Projection"]))
                    for index in properties.get(key, [])
                }
                for kind, key in (("global", "GlobalSecondaryIndexes"), ("local", "LocalSecondaryIndexes"))
            },
            "ttl": ttl["AttributeName"] if ttl.get("Enabled") else None,
        }
    return tables


def table_ids(resources: dict[str, Any], prefix: str) -> dict[str, str]:
    """Return the logical id of each table resource, by table name without `prefix`."""
    return {
        resource["Properties"]["TableName"].removeprefix(prefix): logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }


def _granted_resource(resource: Any) -> tuple[str, str]:
    """Return (table logical id, "" or "/index/*") for a table ARN written as GetAtt or Join."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        target, attribute = resource["Fn::GetAtt"]
        assert attribute == "Arn", resource
        return target, ""
    if isinstance(resource, dict) and "Fn::Join" in resource:
        separator, (first, *rest) = resource["Fn::Join"]
        table, suffix = _granted_resource(first)
        assert not suffix, resource
        return table, separator + "/".join(rest) if separator == "/" else "".join(rest)
    raise AssertionError(f"a DynamoDB grant on {resource!r}: name a table with Fn::GetAtt [Table, Arn]")


def dynamodb_grants(statements: list[dict[str, Any]]) -> tuple[set[str], set[tuple[str, str]]]:
    """Return the DynamoDB actions granted and the (table, suffix) resources they are granted on."""
    actions: set[str] = set()
    resources: set[tuple[str, str]] = set()
    for statement in statements:
        statement_actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert statement["Effect"] == "Allow"
        for action in statement_actions:
            assert "*" not in action, f"{action}: name each action"
        granted = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in granted, f"{statement_actions} on every resource"
        if any(action.startswith("dynamodb:") for action in statement_actions):
            actions.update(statement_actions)
            resources.update(_granted_resource(resource) for resource in granted)
    return actions, resources


def expected_grants(ids: dict[str, str]) -> set[tuple[str, str]]:
    """Every table, and the indexes of every table that has any."""
    grants = set()
    for name, table in declared_tables().items():
        grants.add((ids[name], ""))
        if table["global indexes"] or table["local indexes"]:
            grants.add((ids[name], "/index/*"))
    return grants


def assert_table_settings(resources: dict[str, Any]) -> None:
    """On-demand billing, point-in-time recovery, encryption and a deletion policy on every table."""
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        properties = resource["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical_id
        assert properties["SSESpecification"] == {"SSEEnabled": True}, logical_id
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"], logical_id


# serverless.yml itself: fast, no tooling needed.


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    return _yaml().safe_load(SERVERLESS_YML.read_text())


def test_serverless_yml_declares_exactly_the_tables_the_models_declare(source: dict[str, Any]) -> None:
    """Names, key schemas, indexes (with projections), attribute definitions and TTL match models.MODELS."""
    assert source["provider"]["environment"]["TABLE_PREFIX"] == "${self:service}-${sls:stage}-"
    resources = source["resources"]["Resources"]
    assert template_tables(resources, SOURCE_PREFIX) == declared_tables()
    for resource in resources.values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            assert resource["DeletionPolicy"] == "${param:tableDeletionPolicy}"
    assert source["params"]["default"]["tableDeletionPolicy"] == "Delete"
    assert source["params"]["prod"]["tableDeletionPolicy"] == "Retain"


def test_serverless_yml_grants_the_app_actions_on_its_tables_and_indexes_only(source: dict[str, Any]) -> None:
    """The role names each DynamoDB action and each table (and its indexes), never `*`."""
    resources = source["resources"]["Resources"]
    actions, granted = dynamodb_grants(source["provider"]["iam"]["role"]["statements"])
    assert actions == DYNAMODB_ACTIONS
    assert granted == expected_grants(table_ids(resources, SOURCE_PREFIX))


def test_serverless_yml_production_settings(source: dict[str, Any]) -> None:
    """Production mode, GraphiQL off, CORS origins and the secret's parameter name from params, never a secret."""
    provider = source["provider"]
    environment = provider["environment"]
    assert environment["APP_ENV"] == "production"
    assert environment["GRAPHIQL"] == "false"
    assert environment["CORS_ORIGINS"] == "${param:corsOrigins}"
    assert environment["JWT_SECRET_PARAMETER"] == "${param:jwtSecretParameter}"
    assert "JWT_SECRET_KEY" not in environment
    assert provider["runtime"] == "python${param:pythonVersion}"
    assert source["params"]["default"]["pythonVersion"] == "{}.{}".format(*RUNTIME_VERSION)
    assert (source["params"]["default"]["snapStart"], source["functions"]["api"]["snapStart"]) == (
        False,
        "${param:snapStart}",
    )
    assert provider["logRetentionInDays"] == "${param:logRetentionInDays}"
    python = source["custom"]["pythonRequirements"]
    assert python["dockerizePip"] is False
    assert "--only-binary=:all:" in python["pipCmdExtraArgs"]
    assert source["functions"]["api"]["events"] == [{"httpApi": "*"}]


def test_serverless_yml_names_each_secret_by_its_parameter_and_lets_the_role_read_exactly_those(
    source: dict[str, Any],
) -> None:
    """Every secret the cold start reads has its SSM parameter in the environment, from a param defaulting to
    /<service>/<stage>/<name>, and in the role's one ssm:GetParameters statement; no secret is in the environment."""
    from lambda_handler import SECRET_PARAMETERS

    environment = source["provider"]["environment"]
    defaults = source["params"]["default"]
    assert sorted(SECRET_PARAMETERS.values()) == sorted(SECRET_PARAMS)
    assert [setting for setting in SECRET_PARAMETERS if setting in environment] == []
    assert {setting: (environment[setting], defaults[param]) for setting, (param, _) in SECRET_PARAMS.items()} == {
        setting: (f"${{param:{param}}}", f"/${{self:service}}/${{sls:stage}}/{name}")
        for setting, (param, name) in SECRET_PARAMS.items()
    }
    statements = source["provider"]["iam"]["role"]["statements"]
    [ssm] = [statement for statement in statements if statement["Action"] == "ssm:GetParameters"]
    assert [resource["Fn::Join"][1][-1] for resource in ssm["Resource"]] == [
        f":parameter${{param:{param}}}" for param, _ in SECRET_PARAMS.values()
    ]


def test_serverless_yml_passes_the_trusted_documents_and_proxy_params_whose_defaults_leave_them_off(
    source: dict[str, Any],
) -> None:
    """Each setting comes from its param, and the params' defaults mean what the app's production defaults mean."""
    from config import load_settings

    environment = source["provider"]["environment"]
    defaults = source["params"]["default"]
    assert {setting: (environment[setting], defaults[param]) for setting, (param, _) in FEATURE_PARAMS.items()} == {
        setting: (f"${{param:{param}}}", default) for setting, (param, default) in FEATURE_PARAMS.items()
    }
    deployed = load_settings(
        environ={"APP_ENV": "production", **{setting: default for setting, (_, default) in FEATURE_PARAMS.items()}}
    )
    unset = load_settings(environ={"APP_ENV": "production"})
    assert {name: deployed[name] or None for name in FEATURE_PARAMS} == {
        name: unset[name] or None for name in FEATURE_PARAMS  # "" and None: unset either way
    }


# `serverless package`: once per session (shared by xdist workers), then several checks.


def _working_python(version: tuple[int, int]) -> str | None:
    """Return a Python of `version` that runs (a pyenv shim on the PATH may not), or None."""
    name = "python{}.{}".format(*version)
    candidates = [
        shutil.which(name),
        *sorted(Path("~/.pyenv/versions").expanduser().glob(f"{version[0]}.{version[1]}.*/bin/{name}")),
    ]
    for candidate in filter(None, candidates):
        check = subprocess.run(
            [str(candidate), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        if check.returncode == 0 and check.stdout.strip() == str(version):
            return str(candidate)
    return None


def _python_for_runtime() -> str | None:
    if sys.version_info[:2] == RUNTIME_VERSION:
        return sys.executable
    return shutil.which("python{}.{}".format(*RUNTIME_VERSION))


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _offline_environment(**extra: str) -> dict[str, str]:
    """The environment minus anything that could reach a real AWS account, plus dummy credentials."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "SLS_", "SERVERLESS_"))}
    return {
        **env,
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "offline-dummy-secret",
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
        **extra,
    }


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run `serverless package` once for the session and return its output directory."""
    python = _python_for_runtime()
    _require(
        python is not None, "the packaging needs Python {}.{}, the Lambda runtime's version".format(*RUNTIME_VERSION)
    )
    assert python is not None
    return _serverless_package(tmp_path_factory, "serverless-package", python)


# One `serverless package` at a time on this machine: workers and sessions share the requirements cache, and
# every run, even one that fails at once, first deletes the project's .serverless/ that another may be filling.
PACKAGE_LOCK = Path(tempfile.gettempdir()) / "relay-api-serverless-package.lock"


def _serverless_package(tmp_path_factory: pytest.TempPathFactory, name: str, python: str, *params: str) -> Path:
    """Run `serverless package` with `params` once for the session, into a directory `name`."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # one directory for every worker of this session
    output = shared / name
    with _exclusive(PACKAGE_LOCK):
        if (output / "done").exists():
            return output
        shutil.rmtree(output, ignore_errors=True)
        result = _run_serverless_package(output, python, *params)
        if result.returncode != 0:
            pytest.fail(
                f"serverless package failed ({result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
            )
        (output / "done").write_text(result.stdout)
    return output


def _run_serverless_package(output: Path, python: str | None, *params: str) -> subprocess.CompletedProcess[str]:
    """Run `serverless package --param=...` into `output`, offline, and return how it went (hold PACKAGE_LOCK)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        reason = "npm is not installed: the deployment checks need Node.js 18+ and npm"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    if not SERVERLESS.is_file():
        _require(False, f"{SERVERLESS.relative_to(ROOT)} is missing: run `npm ci --prefix deploy`")
        subprocess.run([npm, "ci", "--prefix", str(ROOT / "deploy"), "--no-audit", "--no-fund"], check=True)
    command = [node, str(SERVERLESS), "package", "--stage", STAGE, "--region", REGION, "--package", str(output)]
    command += [f"--param={param}" for param in params]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=_offline_environment(**({"SLS_PYTHON_BIN": python} if python else {})),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def template(package: Path) -> dict[str, Any]:
    return json.loads((package / "cloudformation-template-update-stack.json").read_text())


def test_package_holds_the_app_and_its_requirements_and_nothing_else(package: Path) -> None:
    """The zip has our modules and the wheels for the runtime, precompiled; no tests, tooling or local data."""
    artifact = package / f"{SERVICE}.zip"
    with zipfile.ZipFile(artifact) as archive:
        names = set(archive.namelist())
        pyc_flags = {name: int.from_bytes(archive.read(name)[4:8], "little") for name in names if name.endswith(".pyc")}
        unpacked_size = sum(info.file_size for info in archive.infolist())
    for required in (
        "lambda_handler.py",
        "run.py",
        "app.py",
        "logs.py",
        "models.py",
        "schema.py",
        "graphene_pynamo/__init__.py",
        "hasura/__init__.py",
        "hasura/events.py",
        "apig_wsgi/__init__.py",
        "httpx/__init__.py",  # /execute-graphql's client, with what it needs to verify TLS
        "certifi/cacert.pem",
        "flask/__init__.py",
        "pynamodb/__init__.py",
        "_argon2_cffi_bindings/_ffi.abi3.so",
        "botocore/data/dynamodb/2012-08-10/service-2.json.gz",
        "botocore/data/ssm/2014-11-06/service-2.json.gz",
        "botocore/data/endpoints.json",
    ):
        assert required in names, required
    for unwanted in (
        "tests/",
        "bench/",
        "deploy/",
        "scripts/",
        ".ci/",
        ".data/",
        ".env",
        "node_modules/",
        ".serverless/",
        "local_dynamodb.py",
        "local_data.py",
        "serverless.yml",
        "pyproject.toml",
        "moto/",
        "_pytest/",
        "boto3/",
        "botocore/data/s3/",
        "graphene/tests/",
        "hasura/metadata/",
        "cryptography/",  # HS256 deployments must not pay PyJWT's import of it at every cold start
    ):
        assert not any(name.startswith(unwanted) for name in names), unwanted
    # Lambda's /var/task is read-only: each module needs bytecode that stays valid there.
    missing = [
        name for name in names if name.endswith(".py") and _pyc_of(name) not in names and not name.startswith("bin/")
    ]
    assert missing == []
    assert set(pyc_flags.values()) == {0b01}  # hash-based, unchecked (PEP 552)
    assert artifact.stat().st_size < 50 * 2**20  # Lambda's limit for a direct upload
    assert unpacked_size < 250 * 2**20  # and for the unzipped function


def _pyc_of(name: str) -> str:
    directory, _, file = name.rpartition("/")
    prefix = f"{directory}/" if directory else ""
    return f"{prefix}__pycache__/{file[:-3]}.cpython-{RUNTIME_VERSION[0]}{RUNTIME_VERSION[1]}.pyc"


def test_template_passes_cfn_lint(template: dict[str, Any], package: Path) -> None:
    """cfn-lint finds no error, and no warning about anything serverless.yml wrote."""
    try:
        import cfnlint  # noqa: F401
    except ImportError:
        pytest.fail("cfn-lint is missing: pip install -r requirements-deploy.txt")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            "--format",
            "json",
            "--non-zero-exit-code",
            "none",
            str(package / "cloudformation-template-update-stack.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)
    errors = [finding for finding in findings if finding["Level"] == "Error"]
    assert errors == []
    unknown = [
        finding for finding in findings if (finding["Rule"]["Id"], finding["Location"]["Path"][1]) not in KNOWN_WARNINGS
    ]
    assert unknown == []


def test_template_tables_and_role_match_the_models(template: dict[str, Any]) -> None:
    """The generated template has the models' tables under the stage's prefix, and a role limited to them."""
    resources = template["Resources"]
    assert template_tables(resources, TEMPLATE_PREFIX) == declared_tables()
    assert_table_settings(resources)
    role = resources["IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    actions, granted = dynamodb_grants(role)
    assert actions == DYNAMODB_ACTIONS
    assert granted == expected_grants(table_ids(resources, TEMPLATE_PREFIX))
    ssm = [statement for statement in role if statement["Action"] == ["ssm:GetParameters"]]
    assert len(ssm) == 1
    assert [resource["Fn::Join"][1][-1] for resource in ssm[0]["Resource"]] == [
        f":parameter/{SERVICE}/{STAGE}/{name}" for _, name in SECRET_PARAMS.values()
    ]


def test_template_function_settings(template: dict[str, Any]) -> None:
    """The function runs lambda_handler.handler on python3.11 in production mode, with logs kept 30 days."""
    resources = template["Resources"]
    function = resources["ApiLambdaFunction"]["Properties"]
    assert function["Handler"] == "lambda_handler.handler"
    assert function["Runtime"] == "python{}.{}".format(*RUNTIME_VERSION)
    assert function["Environment"]["Variables"] == TEMPLATE_ENVIRONMENT
    assert resources["ApiLogGroup"]["Properties"]["RetentionInDays"] == 30
    assert resources["HttpApiRouteDefault"]["Properties"]["RouteKey"] == "$default"
    assert "SnapStart" not in function
    assert not [name for name, resource in resources.items() if resource["Type"] == "AWS::Lambda::Alias"]


# The options the default leaves off, packaged together (see options_package).
SNAPSHOT_PYTHON = (3, 12)  # SnapStart's first Python runtime
PERSISTED_FIXTURE = "tests/deploy/persisted_queries.json"  # a path from the project root, as relay-compiler's
FEATURES = {  # trusted documents and /execute-graphql
    "persistedQueriesFile": PERSISTED_FIXTURE,
    "trustedDocumentsOnly": "true",
    "upstreamGraphqlUrl": "https://hasura.example.com/v1/graphql",
    "upstreamForwardUser": "true",  # needs the admin secret: the identity read from upstreamAdminSecretParameter
    "upstreamRole": "editor",
    "upstreamTimeout": "5",
}


@pytest.fixture(scope="module")
def options_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run `serverless package` once for the session with the options the default leaves off: SnapStart on
    Python 3.12, trusted documents and the proxy (one packaging for all: each takes about 20 s)."""
    python = _working_python(SNAPSHOT_PYTHON)
    _require(python is not None, "the SnapStart packaging needs Python {}.{}".format(*SNAPSHOT_PYTHON))
    assert python is not None
    params = ["snapStart=true", "pythonVersion={}.{}".format(*SNAPSHOT_PYTHON)]
    params += [f"{name}={value}" for name, value in FEATURES.items()]
    return _serverless_package(tmp_path_factory, "serverless-package-options", python, *params)


def test_snapstart_parameter_publishes_a_snapstart_version_behind_the_api(options_package: Path) -> None:
    """GIVEN snapStart=true and Python 3.12 WHEN packaged THEN the function snapshots published versions,
    the API calls the `snapstart` alias of the current version, and the zip holds 3.12 wheels and bytecode."""
    output = options_package
    resources = json.loads((output / "cloudformation-template-update-stack.json").read_text())["Resources"]
    function = resources["ApiLambdaFunction"]["Properties"]
    assert (function["Runtime"], function["SnapStart"]) == ("python3.12", {"ApplyOn": "PublishedVersions"})
    [version] = [name for name, resource in resources.items() if resource["Type"] == "AWS::Lambda::Version"]
    alias = resources["ApiSnapStartLambdaAlias"]
    assert (alias["Type"], alias["Properties"]["Name"]) == ("AWS::Lambda::Alias", "snapstart")
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}
    integration = resources["HttpApiIntegrationApi"]["Properties"]
    assert integration["IntegrationUri"] == {
        "Fn::Join": [":", [{"Fn::GetAtt": ["ApiLambdaFunction", "Arn"]}, "snapstart"]]
    }
    with zipfile.ZipFile(output / f"{SERVICE}.zip") as archive:
        names = archive.namelist()
    assert any(name.endswith(".cpython-312.pyc") for name in names)
    assert [name for name in names if ".cpython-311" in name] == []  # neither bytecode nor binary modules


RESOLVE_ENDPOINTS = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import botocore, botocore.session
from botocore.config import Config
session = botocore.session.get_session()
resolved = {"version": botocore.__version__, "endpoints": []}
for service, region, fips in json.loads(sys.argv[2]):
    try:
        client = session.create_client(
            service, region, config=Config(use_fips_endpoint=fips), aws_access_key_id="x", aws_secret_access_key="x"
        )
        meta = client.meta
        resolved["endpoints"].append([meta.endpoint_url, meta.region_name, meta.service_model.signing_name])
    except Exception as error:
        resolved["endpoints"].append(type(error).__name__)
print(json.dumps(resolved))
"""


def test_trimmed_botocore_data_resolves_the_same_endpoints(package: Path, tmp_path: Path) -> None:
    """The package's trimmed endpoints.json and models give the same endpoints as botocore's full data."""
    cases = [
        [service, region, fips]
        for service in ("dynamodb", "ssm")
        for region in ("us-east-1", "eu-central-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1")
        for fips in (False, True)
    ]
    with zipfile.ZipFile(package / f"{SERVICE}.zip") as archive:
        archive.extractall(tmp_path / "task")
    env = {"PATH": "/usr/bin:/bin", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def resolve(flags: list[str], directory: Path) -> Any:
        command = [sys.executable, *flags, "-c", RESOLVE_ENDPOINTS, str(directory), json.dumps(cases)]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    packaged = resolve(["-I", "-S"], tmp_path / "task")
    (tmp_path / "empty").mkdir()
    full = resolve(["-I"], tmp_path / "empty")  # this Python's botocore, with every service's data
    assert packaged == full
    assert packaged["endpoints"][0] == ["https://dynamodb.us-east-1.amazonaws.com", "us-east-1", "dynamodb"]


# The packaged handler, in a fresh isolated Python with only the unzipped package on its path.

DRIVER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
import lambda_handler
import flask
imported = {"import_ms": (time.perf_counter() - started) * 1000, "path": sys.path, "flask": flask.__file__}
print("@@" + json.dumps(imported), flush=True)

class Context:
    def __init__(self, number):
        self.aws_request_id = f"invocation-{number}"
        self.function_name = "relay-api-ci-api"

for number, line in enumerate(sys.stdin):
    print("@@" + json.dumps(lambda_handler.handler(json.loads(line), Context(number))), flush=True)
"""


class PackagedFunction:
    """The handler of the unzipped package, served one event at a time over a pipe."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.log_lines: list[str] = []

    def read(self) -> Any:
        assert self.process.stdout is not None
        while line := self.process.stdout.readline():
            if line.startswith("@@"):
                return json.loads(line[2:])
            self.log_lines.append(line.rstrip("\n"))
        raise AssertionError("the packaged handler exited:\n" + "\n".join(self.log_lines))

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        return self.read()


def _create_tables_like_cloudformation(url: str, resources: dict[str, Any]) -> None:
    """Create the template's tables as CloudFormation would (the handler never creates any)."""
    import botocore.session

    client = botocore.session.get_session().create_client(
        "dynamodb", region_name=REGION, endpoint_url=url, aws_access_key_id="x", aws_secret_access_key="x"
    )
    for resource in resources.values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        properties = resource["Properties"]
        name = properties["TableName"]
        with contextlib.suppress(client.exceptions.ResourceInUseException):  # made by another test's run
            client.create_table(
                **{
                    key: properties[key]
                    for key in (
                        "TableName",
                        "AttributeDefinitions",
                        "KeySchema",
                        "BillingMode",
                        "GlobalSecondaryIndexes",
                        "LocalSecondaryIndexes",
                    )
                    if key in properties
                }
            )
        if "TimeToLiveSpecification" in properties:
            client.update_time_to_live(TableName=name, TimeToLiveSpecification=properties["TimeToLiveSpecification"])


@contextlib.contextmanager
def serve_package(
    package: Path, directory: Path, dynamodb: LocalDynamoDB, secrets: dict[str, str], python: str | None = None
) -> Iterator[tuple[PackagedFunction, dict[str, Any]]]:
    """Serve the handler of `package`, unzipped into `directory` as Lambda does into /var/task, from a fresh
    isolated Python; the template's tables created, and `secrets` in SSM under the parameters their settings
    (e.g. JWT_SECRET_PARAMETER) name. Yields the function and what its import reported; then checks that it
    exits cleanly, with nothing on stderr and only JSON lines logged. `python`: the package's runtime version."""
    import botocore.session

    python = python or _python_for_runtime()
    assert python is not None
    with zipfile.ZipFile(package / f"{SERVICE}.zip") as archive:
        archive.extractall(directory)
    resources = json.loads((package / "cloudformation-template-update-stack.json").read_text())["Resources"]
    variables = resources["ApiLambdaFunction"]["Properties"]["Environment"]["Variables"]
    _create_tables_like_cloudformation(dynamodb.url, resources)
    ssm = botocore.session.get_session().create_client(
        "ssm", region_name=REGION, endpoint_url=dynamodb.url, aws_access_key_id="x", aws_secret_access_key="x"
    )
    for setting, value in secrets.items():
        ssm.put_parameter(Name=variables[setting], Value=value, Type="SecureString", Overwrite=True)

    environment = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": str(directory),
        "AWS_LAMBDA_FUNCTION_NAME": f"{SERVICE}-{STAGE}-api",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "ASIAOFFLINEDUMMYKEY0",
        "AWS_SECRET_ACCESS_KEY": "offline-dummy-secret",
        "AWS_SESSION_TOKEN": "offline-dummy-token",
        # Not on Lambda: where the offline stand-ins for DynamoDB and SSM listen.
        "DYNAMODB_HOST": dynamodb.url,
        "AWS_ENDPOINT_URL_SSM": dynamodb.url,
        **variables,
    }
    dynamodb.operations.clear()
    with (
        tempfile.TemporaryFile("w+") as stderr,
        subprocess.Popen(
            [python, "-I", "-S", "-c", DRIVER, str(directory)],
            cwd=directory,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        ) as process,
    ):
        watchdog = threading.Timer(120, process.kill)
        watchdog.start()
        try:
            function_process = PackagedFunction(process)
            yield function_process, function_process.read()
            assert process.stdin is not None
            process.stdin.close()
            assert process.wait(timeout=30) == 0
        finally:
            watchdog.cancel()
            process.kill()
        stderr.seek(0)
        assert stderr.read() == ""
    for line in function_process.log_lines:  # whatever was logged is JSON, one object a line
        assert isinstance(json.loads(line), dict), line


def test_packaged_handler_serves_http_api_and_rest_api_events(
    package: Path, dynamodb: LocalDynamoDB, tmp_path: Path
) -> None:
    """GIVEN the unzipped package alone, tables and the secret WHEN Lambda imports and invokes it
    THEN no DynamoDB request is sent before the first event, and v2 and v1 events sign up, log in and query."""
    task = tmp_path / "task"
    with serve_package(package, task, dynamodb, {"JWT_SECRET_PARAMETER": "packaged-" + "s" * 48}) as (
        function,
        started,
    ):
        assert dynamodb.operations == ["GetParameters"]  # the secrets; no DynamoDB request at import
        assert started["flask"].startswith(str(task))
        assert not [entry for entry in started["path"] if "site-packages" in entry]

        signup_login_and_query(function.invoke, V2, "ada-v2@example.com")
        signup_login_and_query(function.invoke, V1, "ada-v1@example.com")

    used = set(dynamodb.operations) - {"GetParameters", "TransactWriteItems"}
    assert {"CreateTable", "DescribeTable", "UpdateTimeToLive"}.isdisjoint(used)
    assert {f"dynamodb:{operation}" for operation in used} <= DYNAMODB_ACTIONS


# Trusted documents and /execute-graphql turned on by params: the documents are packaged, or packaging stops.


def test_feature_params_reach_the_environment_and_the_trusted_documents_the_zip(options_package: Path) -> None:
    """GIVEN the params that turn trusted documents and the proxy on WHEN packaged THEN the function's environment
    has them (its secrets still only by parameter name) and the zip holds the documents' file as it is."""
    template = json.loads((options_package / "cloudformation-template-update-stack.json").read_text())
    function = template["Resources"]["ApiLambdaFunction"]["Properties"]
    assert function["Environment"]["Variables"] == {
        **TEMPLATE_ENVIRONMENT,
        **{setting: FEATURES[param] for setting, (param, _) in FEATURE_PARAMS.items() if param in FEATURES},
    }
    with zipfile.ZipFile(options_package / f"{SERVICE}.zip") as archive:
        assert archive.read(PERSISTED_FIXTURE) == (ROOT / PERSISTED_FIXTURE).read_bytes()
        assert [name for name in archive.namelist() if name.startswith("tests/")] == [PERSISTED_FIXTURE]


def test_packaged_handler_serves_trusted_documents_only_and_the_proxy(
    options_package: Path, dynamodb: LocalDynamoDB, tmp_path: Path
) -> None:
    """GIVEN that package (Python 3.12), and the JWT and upstream admin secrets in SSM WHEN Lambda invokes it
    THEN a trusted document runs by its id, query text is refused, /execute-graphql is served, no secret is logged."""
    secrets = {"JWT_SECRET_PARAMETER": "packaged-" + "s" * 48, "UPSTREAM_ADMIN_SECRET_PARAMETER": "admin-" + "a" * 40}
    python = _working_python(SNAPSHOT_PYTHON)
    with serve_package(options_package, tmp_path / "task", dynamodb, secrets, python) as (function, _):
        assert dynamodb.operations == ["GetParameters"]  # both secrets in one call
        signup = function.invoke(
            api_event(V2, "POST", "/signup", json_body={"email": "ada@example.com", "password": PASSWORD})
        )
        assert signup["statusCode"] == 201, (signup, function.log_lines)
        bearer = {"Authorization": f"Bearer {body_of(signup)['access_token']}"}

        answers = [
            function.invoke(api_event(V2, "POST", path, json_body=body, headers=headers))
            for path, body, headers in [
                ("/graphql", {"doc_id": "viewer-1"}, bearer),
                ("/graphql", {"query": VIEWER_QUERY}, bearer),
                ("/execute-graphql", {"query": VIEWER_QUERY}, {}),  # 404 when the proxy is off
            ]
        ]
    assert [(answer["statusCode"], body_of(answer)) for answer in answers] == [
        (200, {"data": {"viewer": {"email": "ada@example.com"}}}),
        (200, {"errors": [{  # 200: the sample event accepts only the legacy application/json
            "message": "This server runs trusted documents only: send the document's id as doc_id, not its text.",
            "extensions": {"code": "PERSISTED_QUERY_REQUIRED"},
        }]}),
        (401, {"errors": [{"message": "Missing Authorization Header.", "extensions": {"code": "UNAUTHENTICATED"}}]}),
    ]
    assert [line for line in function.log_lines if any(secret in line for secret in secrets.values())] == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "persisted_queries.json",
            f"PERSISTED_QUERIES_FILE persisted_queries.json: no such file in {ROOT}; create it before packaging "
            "(e.g. relay-compiler with persistConfig): the function refuses to start without it",
        ),
        (
            "tests/deploy",
            f"PERSISTED_QUERIES_FILE tests/deploy: no such file in {ROOT}; create it before packaging "
            "(e.g. relay-compiler with persistConfig): the function refuses to start without it",
        ),
        (
            str(ROOT / PERSISTED_FIXTURE),
            f"PERSISTED_QUERIES_FILE {ROOT / PERSISTED_FIXTURE}: name a file of the project by its path from the "
            "project root, e.g. persisted_queries.json: the function reads it from its own directory",
        ),
        (
            "../persisted_queries.json",
            "PERSISTED_QUERIES_FILE ../persisted_queries.json: name a file of the project by its path from the "
            "project root, e.g. persisted_queries.json: the function reads it from its own directory",
        ),
    ],
    ids=["missing", "a directory", "absolute", "outside the project"],
)
def test_packaging_stops_when_the_trusted_documents_cannot_be_packaged(
    tmp_path: Path, value: str, message: str
) -> None:
    """A function without its documents would refuse every cold start: packaging refuses first, before pip runs."""
    output = tmp_path / "package"
    with _exclusive(PACKAGE_LOCK):
        result = _run_serverless_package(output, None, f"persistedQueriesFile={value}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout + result.stderr, result.stdout + result.stderr
    assert not output.exists()


@pytest.mark.parametrize(
    ("required", "outcome"),
    [
        (["persisted_queries.json"], (0, "")),
        (
            ["persisted_queries.json", "missing.json", "vendor/tests/persisted.json"],
            (2, "optimize_package: missing.json, vendor/tests/persisted.json not in function.zip, yet the function "
                "reads it at start: check package.patterns in serverless.yml\n"),
        ),
    ],
    ids=["present", "missing or dropped as a bundled test"],
)
def test_optimize_package_refuses_a_zip_without_a_required_file(
    tmp_path: Path, required: list[str], outcome: tuple[int, str]
) -> None:
    """The last check: a file the function reads at start must still be in the rewritten zip."""
    artifact = tmp_path / "function.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        for name in ("app.py", "persisted_queries.json", "vendor/tests/persisted.json"):
            archive.writestr(name, "{}" if name.endswith(".json") else "")
    command = [sys.executable, str(ROOT / "deploy" / "optimize_package.py"), str(artifact)]
    command += ["--python-version", "{}.{}".format(*sys.version_info[:2])]
    command += [argument for name in required for argument in ("--require", name)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == outcome
