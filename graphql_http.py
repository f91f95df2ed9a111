"""Serve a GraphQL schema over HTTP as the GraphQL-over-HTTP specification describes.

Request errors (bad parameters, a document that does not parse or validate, variables
that do not coerce) never reach execution. With `application/graphql-response+json`
they answer 400 without a `data` entry; with legacy `application/json` a well-formed
request answers 200 and only malformed HTTP requests answer 4xx.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Response, g, request
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.pyutils import is_awaitable

import faults
from errors import AppError, InternalError

log = logging.getLogger(__name__)

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class RequestError(Exception):
    """A GraphQL request error: the request is not executed.

    `well_formed` errors (the document or the variables are wrong, not the HTTP request)
    are answered 200 to clients that accept only the legacy `application/json`.
    """

    def __init__(
        self,
        errors: list[dict[str, Any]],
        status: int = 400,
        *,
        well_formed: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors
        self.status = status
        self.well_formed = well_formed
        self.headers = headers or {}


def _request_error(message: str, code: str, status: int = 400, **headers: str) -> RequestError:
    return RequestError([{"message": message, "extensions": {"code": code}}], status, headers=headers)


def depth_limit_rule(max_depth: int) -> type[ASTValidationRule]:
    """Return a validation rule that rejects operations nested deeper than `max_depth` fields."""

    class MaxDepthRule(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            fragments = {
                definition.name.value: definition
                for definition in self.context.document.definitions
                if hasattr(definition, "type_condition")
            }
            depth = _depth(node.selection_set, fragments, 0, frozenset())
            if depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"The operation is nested {depth} levels deep; the limit is {max_depth}.",
                        node,
                        extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
                    )
                )

    return MaxDepthRule


def _depth(selection_set: Any, fragments: dict[str, Any], depth: int, visiting: frozenset[str]) -> int:
    if selection_set is None:
        return depth
    deepest = depth
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, depth + 1, visiting))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, depth, visiting))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in visiting:  # cycles are reported by another rule
                deepest = max(deepest, _depth(fragments[name].selection_set, fragments, depth, visiting | {name}))
    return deepest


class DocumentCache:
    """Parsed and validated documents by query text, least recently used evicted first."""

    def __init__(self, schema: GraphQLSchema, rules: list[type[ASTValidationRule]], size: int) -> None:
        self._schema = schema
        self._rules = rules
        self._size = size
        self._entries: OrderedDict[str, DocumentNode] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> DocumentNode:
        """Return the document for `query`, or raise RequestError if it is not a valid one."""
        with self._lock:
            document = self._entries.get(query)
            if document is not None:
                self._entries.move_to_end(query)
                return document
        try:
            document = parse(query)
        except GraphQLError as error:
            raise RequestError([_with_code(error.formatted, "GRAPHQL_PARSE_FAILED")], well_formed=True) from None
        errors = validate(self._schema, document, self._rules)
        if errors:
            raise RequestError(
                [_with_code(error.formatted, "GRAPHQL_VALIDATION_FAILED") for error in errors], well_formed=True
            )
        with self._lock:
            self._entries[query] = document
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return document


def _with_code(formatted: dict[str, Any], code: str) -> dict[str, Any]:
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", code)
    return {**formatted, "extensions": extensions}


class GraphQLView:
    """A Flask view that executes GraphQL requests against one schema."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        context: Callable[[], Any],
        graphiql_html: str | None = None,
        max_depth: int = 20,
        cache_size: int = 256,
    ) -> None:
        self.schema = schema
        self.context = context
        self.graphiql_html = graphiql_html
        self.documents = DocumentCache(schema, [*specified_rules, depth_limit_rule(max_depth)], cache_size)

    def __call__(self) -> Response:
        if request.method == "GET" and self.graphiql_html and _prefers_html():
            return Response(self.graphiql_html, content_type="text/html; charset=utf-8")
        context = self.context()  # authenticates: raises before anything else is looked at
        media_type = JSON
        try:
            media_type = _response_media_type()
            query, variables, operation_name = _read_params()
            document = self.documents.get(query)
            operation = get_operation_ast(document, operation_name)
            if operation is None:
                message = (
                    "Name the operation to run with operationName."
                    if operation_name is None
                    else f"The document has no operation named {operation_name!r}."
                )
                raise RequestError([{"message": message, "extensions": {"code": "BAD_REQUEST"}}], well_formed=True)
            if operation.operation is not OperationType.QUERY and request.method == "GET":
                raise _request_error(
                    "Only queries can be sent with GET; send mutations with POST.",
                    "METHOD_NOT_ALLOWED",
                    405,
                    Allow="POST",
                )
            result = self._execute(document, context, variables, operation_name)
        except RequestError as error:
            status = 200 if error.well_formed and media_type == JSON else error.status
            return _json_response({"errors": error.errors}, status, media_type, error.headers)
        return _json_response(result, 200, media_type)

    def _execute(
        self, document: DocumentNode, context: Any, variables: dict[str, Any] | None, operation_name: str | None
    ) -> dict[str, Any]:
        result = execute(
            self.schema, document, context_value=context, variable_values=variables, operation_name=operation_name
        )
        if is_awaitable(result):
            result = self._run(result)
        assert isinstance(result, ExecutionResult)
        if result.data is None and result.errors and all(error.path is None for error in result.errors):
            # Nothing ran: the variables did not coerce (or the operation cannot run at all).
            raise RequestError(
                [_with_code(error.formatted, "BAD_USER_INPUT") for error in result.errors], well_formed=True
            )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [format_error(error) for error in result.errors]
        return response

    @staticmethod
    def _run(awaitable: Any) -> Any:
        """Finish `awaitable` on an event loop of its own (resolvers that batch use asyncio).

        A loop per request costs about 30 us; a loop kept per thread would leak one for
        every thread a threaded server starts and ends.
        """
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(awaitable)
        finally:
            # An error can end a request while sibling resolvers still wait: cancel them.
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.close()


def format_error(error: GraphQLError) -> dict[str, Any]:
    """Return `error` as a response error, masking anything that is not meant for clients."""
    original = faults.as_app_error(error.original_error) if error.original_error else None
    formatted = error.formatted
    if isinstance(original, AppError):
        app_error = original.to_graphql()
        return {**formatted, "message": app_error["message"], "extensions": app_error["extensions"]}
    if original is None or isinstance(original, GraphQLError):
        return _with_code(formatted, "GRAPHQL_ERROR")
    request_id = _request_id()
    log.error("unexpected error in a resolver (request %s)", request_id, exc_info=original)
    masked = InternalError().to_graphql()
    masked["extensions"]["requestId"] = request_id
    return {**formatted, **masked}


def _request_id() -> str:
    return getattr(g, "request_id", "-")


def _prefers_html() -> bool:
    """Say whether the client names text/html in Accept (a browser), above JSON."""
    accept = request.accept_mimetypes
    named = {value: quality for value, quality in accept}
    return named.get("text/html", 0) > 0 and named["text/html"] >= accept[JSON]


def _response_media_type() -> str:
    """Pick the response media type from Accept: graphql-response+json when asked for by name."""
    header = request.headers.get("Accept")
    if not header:
        return JSON
    accept = request.accept_mimetypes
    named = {value: quality for value, quality in accept}
    if named.get(GRAPHQL_RESPONSE_JSON, 0) > 0 and named[GRAPHQL_RESPONSE_JSON] >= accept[JSON]:
        return GRAPHQL_RESPONSE_JSON
    if accept[JSON] > 0:
        return JSON
    if accept[GRAPHQL_RESPONSE_JSON] > 0:
        return GRAPHQL_RESPONSE_JSON
    raise _request_error(f"Accept {JSON} or {GRAPHQL_RESPONSE_JSON}.", "NOT_ACCEPTABLE", 406)


def _read_params() -> tuple[str, dict[str, Any] | None, str | None]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.args)
        for name in ("variables", "extensions"):
            if params.get(name):
                try:
                    params[name] = json.loads(params[name])
                except ValueError:
                    raise _request_error(f"The {name} parameter is not valid JSON.", "BAD_REQUEST") from None
    else:
        mimetype = request.mimetype
        if mimetype != JSON:
            raise _request_error(f"Send the request body as {JSON}.", "UNSUPPORTED_MEDIA_TYPE", 415)
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise _request_error("Encode the request body as utf-8.", "UNSUPPORTED_MEDIA_TYPE", 415)
        try:
            params = json.loads(request.get_data(cache=False) or b"")
        except ValueError:
            raise _request_error("The request body is not valid JSON.", "MALFORMED_JSON") from None
        if not isinstance(params, dict):
            raise _request_error("The request body must be a JSON object.", "BAD_REQUEST")
    query = params.get("query")
    variables = params.get("variables")
    operation_name = params.get("operationName")
    extensions = params.get("extensions")
    if not isinstance(query, str) or not query.strip():
        raise _request_error("The query parameter must be a non-empty string.", "BAD_REQUEST")
    if variables is not None and not isinstance(variables, dict):
        raise _request_error("The variables parameter must be an object.", "BAD_REQUEST")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _request_error("The operationName parameter must be a string.", "BAD_REQUEST")
    if extensions is not None and not isinstance(extensions, dict):
        raise _request_error("The extensions parameter must be an object.", "BAD_REQUEST")
    return query, variables, operation_name


def _json_response(
    body: dict[str, Any], status: int, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str),
        status=status,
        headers=headers,
        content_type=f"{media_type}; charset=utf-8",
    )
