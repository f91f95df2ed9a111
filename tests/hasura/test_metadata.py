"""The example Hasura metadata matches the handlers: names, arguments, output fields, secret header, timeout."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema
from support import ROOT

import hasura.handlers  # noqa: F401  (registers the built-in actions and the example trigger)
from hasura.actions import ACTIONS
from hasura.events import TRIGGERS

METADATA = ROOT / "hasura" / "metadata"
SECRET_HEADER = {"name": "X-Hasura-Action-Secret", "value_from_env": "RELAY_API_ACTION_SECRET"}


def load(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def schema() -> Any:
    """The actions' SDL, with Hasura's repeated `type Mutation` blocks merged as Hasura merges them."""
    text = (METADATA / "actions.graphql").read_text()
    return build_schema(text.replace("type Mutation {", "extend type Mutation {").replace(
        "extend type Mutation {", "type Mutation {", 1
    ))


def test_every_action_has_a_handler_with_the_sdls_arguments_and_output(schema: Any) -> None:
    actions = load(METADATA / "actions.yaml")["actions"]
    names = [action["name"] for action in actions]
    sdl_fields = {**schema.mutation_type.fields, **schema.query_type.fields}
    assert sorted(names) == sorted(sdl_fields)
    for name in names:
        handler, field = ACTIONS[name], sdl_fields[name]
        arguments = {argument: str(value.type) for argument, value in field.args.items()}
        inputs = {f.name: f for f in dataclasses.fields(handler.input_type)} if handler.input_type else {}
        assert sorted(arguments) == sorted(inputs), name
        for argument, type_ in arguments.items():  # required in the SDL exactly when the dataclass has no default
            has_default = inputs[argument].default is not dataclasses.MISSING
            assert type_.endswith("!") == (not has_default), (name, argument)
        output = typing.get_type_hints(handler.function)["return"]
        assert str(field.type) == output.__name__, name
        assert sorted(schema.type_map[output.__name__].fields) == sorted(f.name for f in dataclasses.fields(output))


def test_every_action_sends_the_secret_to_our_url_with_a_30_second_timeout() -> None:
    for action in load(METADATA / "actions.yaml")["actions"]:
        definition = action["definition"]
        assert definition["handler"] == "{{RELAY_API_BASE_URL}}/hasura/actions/" + action["name"]
        assert (definition["headers"], definition["timeout"], definition["forward_client_headers"]) == (
            [SECRET_HEADER], 30, False
        )


def test_the_event_trigger_and_the_remote_schema_send_the_secret() -> None:
    table = load(METADATA / "databases" / "default" / "tables" / "public_users.yaml")
    [trigger] = table["event_triggers"]
    assert trigger["name"] in TRIGGERS
    assert (trigger["webhook_from_env"], trigger["headers"]) == ("RELAY_API_EVENTS_URL", [SECRET_HEADER])
    [remote] = load(METADATA / "remote_schemas.yaml")
    definition = remote["definition"]
    assert (definition["url_from_env"], definition["headers"]) == ("RELAY_API_GRAPHQL_URL", [SECRET_HEADER])
    assert definition["customization"] == {"root_fields_namespace": "relay", "type_names": {"prefix": "Relay_"}}
