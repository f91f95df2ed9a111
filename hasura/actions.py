"""Hasura Actions: POST /hasura/actions (dispatched on `action.name`) and /hasura/actions/<name>.

An action is one decorated function with a typed input (a dataclass) and a typed output:

    @action("greet", role="user")
    def greet(args: GreetInput, session: Session) -> Greeting: ...

Its input is checked before it runs (a 400 naming the field); `role` refuses callers whose
session role is another (403). Errors are 4xx {"message", "extensions": {"code"}}.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Response, jsonify

from errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from hasura import blueprint
from hasura.inputs import parse, to_json


@dataclass(frozen=True)
class Session:
    """The caller as Hasura resolved it: its session variables, keys lowercase."""

    variables: dict[str, str]

    @property
    def role(self) -> str | None:
        return self.variables.get("x-hasura-role")

    @property
    def user_id(self) -> str | None:
        return self.variables.get("x-hasura-user-id")

    def require_user_id(self) -> str:
        """Return x-hasura-user-id, or raise a 401 if the caller is nobody in particular."""
        if not self.user_id:
            raise Unauthenticated("This action needs a logged-in user (x-hasura-user-id).")
        return self.user_id


@dataclass(frozen=True)
class ActionName:
    name: str


@dataclass(frozen=True)
class ActionCall:
    """Hasura's action payload."""

    action: ActionName
    input: dict[str, Any] = field(default_factory=dict)
    session_variables: dict[str, str] = field(default_factory=dict)
    request_query: str | None = None


@dataclass(frozen=True)
class Action:
    name: str
    function: Callable[..., Any]
    input_type: type | None
    roles: tuple[str, ...]

    def run(self, arguments: dict[str, Any], session: Session) -> Any:
        if self.roles and session.role not in self.roles:
            raise Forbidden(f"The {self.name} action is only for the role {' or '.join(self.roles)}.")
        if self.input_type is None:
            return to_json(self.function(session))
        return to_json(self.function(parse(self.input_type, arguments, "input"), session))


ACTIONS: dict[str, Action] = {}


Handler = Callable[..., Any]


def action(name: str, *, role: str | tuple[str, ...] | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of the Hasura action `name`."""

    def register(function: Handler) -> Handler:
        hints = typing.get_type_hints(function)
        names = function.__code__.co_varnames[: function.__code__.co_argcount]
        parameters = [hints.get(parameter) for parameter in names]
        inputs = [hint for hint in parameters if dataclasses.is_dataclass(hint) and hint is not Session]
        if parameters[-1:] != [Session] or len(inputs) != len(parameters) - 1 or len(inputs) > 1:
            raise TypeError(f"action {name}: take (args: SomeDataclass, session: Session) or (session: Session)")
        if name in ACTIONS:
            raise ValueError(f"action {name} is registered twice")
        roles = (role,) if isinstance(role, str) else tuple(role or ())
        ACTIONS[name] = Action(name, function, inputs[0] if inputs else None, roles)
        return function

    return register


@blueprint.post("/actions")
@blueprint.post("/actions/<name>")
def run_action(name: str | None = None) -> Response:
    """Run the action named in the URL or, without one, in the payload's `action.name`."""
    from bodies import json_body

    call = parse(ActionCall, json_body(), ignore_unknown=True)  # Hasura's envelope may grow; the input may not
    if name is not None and call.action.name != name:
        raise ValidationFailed(f"The URL names {name} but the payload {call.action.name}.", field="action.name")
    found = ACTIONS.get(call.action.name)
    if found is None:
        raise NotFound(f"No action is named {call.action.name}.", code="ACTION_NOT_FOUND")
    session = Session({key.lower(): value for key, value in call.session_variables.items()})
    return jsonify(found.run(call.input, session))
