"""Typed inputs: JSON checked against dataclasses, the first bad field named in a 400."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from errors import ValidationFailed
from hasura.inputs import parse, to_json


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Shape:
    name: str = field(metadata={"max_length": 5})
    corners: list[Point] = field(metadata={"max_length": 3})
    closed: bool
    sides: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    displayName: str = field(default="", metadata={"name": "display-name"})


def test_a_valid_object_becomes_the_dataclass_and_back() -> None:
    data = {"name": "tri", "corners": [{"x": 0, "y": 0}, {"x": 1.5, "y": 2}], "closed": True,
            "tags": {"a": "b"}, "display-name": "Triangle"}
    shape = parse(Shape, data)
    assert shape == Shape("tri", [Point(0.0, 0.0), Point(1.5, 2.0)], True, None, {"a": "b"}, "Triangle")
    assert to_json(shape) == {**data, "corners": [{"x": 0.0, "y": 0.0}, {"x": 1.5, "y": 2.0}], "sides": None}


GOOD = {"name": "tri", "corners": [], "closed": False}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "input must be an object."),
        ({**GOOD, "name": None}, "input.name is required."),
        ({"corners": [], "closed": False}, "input.name is required."),
        ({**GOOD, "name": 3}, "input.name must be a string."),
        ({**GOOD, "name": "hexagon"}, "input.name must be at most 5 characters long."),
        ({**GOOD, "corners": {}}, "input.corners must be a list."),
        ({**GOOD, "corners": [{"x": 1, "y": 1}] * 4}, "input.corners must be at most 3 items long."),
        ({**GOOD, "corners": [{"x": 1}]}, "input.corners[0].y is required."),
        ({**GOOD, "corners": [{"x": "1", "y": 1}]}, "input.corners[0].x must be a number."),
        ({**GOOD, "corners": [{"x": True, "y": 1}]}, "input.corners[0].x must be a number."),
        ({**GOOD, "closed": 1}, "input.closed must be a boolean."),
        ({**GOOD, "sides": True}, "input.sides must be an integer."),
        ({**GOOD, "sides": 2.5}, "input.sides must be an integer."),
        ({**GOOD, "tags": {"a": 1}}, "input.tags.a must be a string."),
        ({**GOOD, "displayName": "x"}, "input.displayName is not a field of this input."),
    ],
)
def test_bad_input_names_the_first_bad_field(data: Any, message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse(Shape, data, "input")
    assert (raised.value.message, raised.value.details["field"]) == (message, message.split(" ")[0])


def test_unknown_fields_can_be_ignored_at_every_depth() -> None:
    data = {**GOOD, "corners": [{"x": 1, "y": 2, "z": 3}], "colour": "red"}
    assert parse(Shape, data, ignore_unknown=True) == Shape("tri", [Point(1.0, 2.0)], False)
