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
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from flask import Response, g, request
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
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
from bodies import json_body, parse_json
from errors import AppError, InternalError
from execution import AppExecutionContext, one_timeout
from limits import Limits, NoIntrospection, check_document, limit_error
from limits import cost as operation_cost
from persisted import PersistedDocuments, sha256_of

log = logging.getLogger(__name__)

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode  # one for every answer


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


class DocumentCache:
    """Parsed and validated documents by query text, and the request errors of refused ones.

    Refusals are cached too, least recently used evicted first: resending a document that
    costs time to refuse (thousands of fields) costs a dictionary lookup.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        rules: list[type[ASTValidationRule]],
        size: int,
        limits: Limits,
        *,
        hide_suggestions: bool = False,
    ) -> None:
        self._schema = schema
        self._rules = rules
        self._hide_suggestions = hide_suggestions
        self._size = size
        self._limits = limits
        self._entries: OrderedDict[str, DocumentNode | list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> DocumentNode:
        """Return the document for `query`, or raise RequestError if it is not a valid one."""
        if len(query) > self._limits.max_document_size:  # before hashing it for the cache
            raise RequestError(
                [_error(f"The document is {len(query)} characters long; the limit is "
                        f"{self._limits.max_document_size}.", "QUERY_TOO_LARGE")],
                well_formed=True,
            )
        with self._lock:
            entry = self._entries.get(query)
            if entry is not None:
                self._entries.move_to_end(query)
        if entry is None:
            entry = self._load(query)
            with self._lock:
                self._entries[query] = entry
                if len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        if isinstance(entry, list):
            # A new exception each time: raising a cached one would grow its traceback with every resend.
            raise RequestError(entry, well_formed=True)
        return entry

    def _load(self, query: str) -> DocumentNode | list[dict[str, Any]]:
        """Return the document, or the errors of the request refusing it."""
        try:
            document = parse(query, max_lexical_tokens=self._limits.max_tokens)
        except GraphQLError as error:
            code = "TOO_MANY_TOKENS" if error.message.endswith("tokens. Parsing aborted.") else "GRAPHQL_PARSE_FAILED"
            return [_with_code(error.formatted, code)]
        # The limits first: they are linear, some of graphql-core's rules are not.
        errors = check_document(document, self._limits) or validate(
            self._schema, document, self._rules, hide_suggestions=self._hide_suggestions
        )
        if errors:
            return [_with_code(error.formatted, "GRAPHQL_VALIDATION_FAILED") for error in errors]
        return document


def _with_code(formatted: dict[str, Any], code: str) -> dict[str, Any]:
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", code)
    return {**formatted, "extensions": extensions}


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


class GraphQLView:
    """A Flask view that executes GraphQL requests against one schema, within limits."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        context: Callable[[], Any],
        graphiql_html: str | None = None,
        limits: Limits | None = None,
        cache_size: int = 256,
        timeout: float = 10.0,
        introspection: bool = True,
        report_cost: bool = False,
        persisted: PersistedDocuments | None = None,
        trusted_documents_only: bool = False,
        may_introspect: Callable[[], bool] | None = None,
    ) -> None:
        self.schema = schema
        self.context = context
        self.graphiql_html = graphiql_html
        self.limits = limits or Limits()
        self.introspection = introspection
        self.report_cost = report_cost
        self.persisted = persisted
        self.trusted_documents_only = trusted_documents_only
        rules = [*specified_rules] if introspection else [*specified_rules, NoIntrospection]
        # Without introspection, "Did you mean ...?" would spell the schema out one guess at a time.
        self.documents = DocumentCache(schema, rules, cache_size, self.limits, hide_suggestions=not introspection)
        # With introspection off, a trusted caller (Hasura adding us as a Remote Schema) may still introspect.
        self.may_introspect = None if introspection else may_introspect
        self.introspective_documents = (
            DocumentCache(schema, [*specified_rules], cache_size, self.limits, hide_suggestions=False)
            if self.may_introspect
            else self.documents
        )
        self._fixed_costs: weakref.WeakKeyDictionary[OperationDefinitionNode, int] = weakref.WeakKeyDictionary()
        self.execution_context_class = type("AppExecutionContext", (AppExecutionContext,), {"timeout": timeout})

    def __call__(self) -> Response:
        if request.method == "GET" and self.graphiql_html and _prefers_html():
            return Response(self.graphiql_html, content_type="text/html; charset=utf-8")
        context = self.context()  # authenticates: raises before anything else is looked at
        media_type = JSON
        try:
            media_type = _response_media_type()
            params = _read_params()
            document, trusted = self._document(params)
            operation_name = params.operation_name
            operation = get_operation_ast(document, operation_name)
            if operation is None:
                message = (
                    "Name the operation to run with operationName."
                    if operation_name is None
                    else f"The document has no operation named {operation_name!r}."
                )
                raise RequestError([_error(message, "BAD_REQUEST")], well_formed=True)
            if operation.operation is not OperationType.QUERY and request.method == "GET":
                raise _request_error(
                    "Only queries can be sent with GET; send mutations with POST.",
                    "METHOD_NOT_ALLOWED",
                    405,
                    Allow="POST",
                )
            cost = self._cost(document, operation, params.variables, trusted)
            result = self._execute(document, context, params.variables, operation_name)
        except RequestError as error:
            status = 200 if error.well_formed and media_type == JSON else error.status
            return _json_response({"errors": error.errors}, status, media_type, error.headers)
        if self.report_cost:
            result["extensions"] = {"cost": {"requested": cost, "limit": self.limits.max_cost}}
        return _json_response(result, 200, media_type)

    def _document(self, params: Params) -> tuple[DocumentNode, bool]:
        """Return the document to run and whether it is a trusted (persisted) one."""
        if params.doc_id is None and params.sha256 is None:
            if self.trusted_documents_only:
                raise RequestError(
                    [_error("This server runs trusted documents only: send the document's id as doc_id, "
                            "not its text.", "PERSISTED_QUERY_REQUIRED")],
                    well_formed=True,
                )
            if params.query is None:
                raise _request_error("The query parameter must be a non-empty string.", "BAD_REQUEST")
            if self.may_introspect and self.may_introspect():
                return self.introspective_documents.get(params.query), False
            return self.documents.get(params.query), False
        if params.sha256 is not None and params.query is not None and sha256_of(params.query) != params.sha256:
            raise _request_error("The sha256Hash is not the SHA-256 of the query text.", "BAD_REQUEST")
        found = self.persisted.find(params.doc_id, params.sha256) if self.persisted else None
        if found is None:
            if params.query is not None and not self.trusted_documents_only:
                # Apollo's automatic persisted queries resend the text after PERSISTED_QUERY_NOT_FOUND.
                return self.documents.get(params.query), False
            raise RequestError([_error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")], well_formed=True)
        if params.query is not None and params.query != found.text:
            raise _request_error("The query text differs from the persisted document's; send one of them.",
                                 "BAD_REQUEST")
        return found.document, True

    def _cost(
        self, document: DocumentNode, operation: OperationDefinitionNode, variables: dict[str, Any] | None,
        trusted: bool,
    ) -> int:
        """Return the operation's cost; refuse it above the limit unless it is a trusted document."""
        if trusted and not self.report_cost:
            return 0
        # Without variables the cost is the document's alone: measured once while the document is cached.
        fixed = not operation.variable_definitions
        cost = self._fixed_costs.get(operation) if fixed else None
        if cost is None:
            cost = operation_cost(self.schema, document, operation, variables, self.limits.page_size)
            if fixed:
                self._fixed_costs[operation] = cost
        if cost > self.limits.max_cost and not trusted:
            message = f"The operation may read {cost} items; the limit is {self.limits.max_cost}."
            error = limit_error("QUERY_TOO_COMPLEX", message, operation)
            raise RequestError([error.formatted], well_formed=True)
        return cost

    def _execute(
        self, document: DocumentNode, context: Any, variables: dict[str, Any] | None, operation_name: str | None
    ) -> dict[str, Any]:
        result = execute(
            self.schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            execution_context_class=self.execution_context_class,
            hide_suggestions=not self.introspection,
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
            response["errors"] = [format_error(error) for error in one_timeout(result.errors)]
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


class Params(NamedTuple):
    """The GraphQL-over-HTTP request parameters, with the persisted-document id if one was sent."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    doc_id: str | None
    sha256: str | None


def _read_params() -> Params:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.args)
        for name in ("variables", "extensions"):
            if params.get(name):
                try:
                    params[name] = parse_json(params[name], f"The {name} parameter")
                except AppError as error:
                    raise _request_error(error.message, "BAD_REQUEST") from None
    else:
        try:
            params = json_body()
        except AppError as error:
            code = "BAD_REQUEST" if error.code == "VALIDATION_FAILED" else error.code
            raise _request_error(error.message, code, error.status) from None
    query = params.get("query")
    variables = params.get("variables")
    operation_name = params.get("operationName")
    extensions = params.get("extensions")
    doc_id = params.get("doc_id", params.get("id"))
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise _request_error("The query parameter must be a non-empty string.", "BAD_REQUEST")
    if variables is not None and not isinstance(variables, dict):
        raise _request_error("The variables parameter must be an object.", "BAD_REQUEST")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _request_error("The operationName parameter must be a string.", "BAD_REQUEST")
    if extensions is not None and not isinstance(extensions, dict):
        raise _request_error("The extensions parameter must be an object.", "BAD_REQUEST")
    if doc_id is not None and (not isinstance(doc_id, str) or not doc_id):
        raise _request_error("doc_id (or id) must be a non-empty string.", "BAD_REQUEST")
    sha256 = None
    persisted_query = (extensions or {}).get("persistedQuery")
    if persisted_query is not None:
        sha256 = persisted_query.get("sha256Hash") if isinstance(persisted_query, dict) else None
        if not isinstance(sha256, str) or not sha256:
            raise _request_error("extensions.persistedQuery.sha256Hash must be a non-empty string.", "BAD_REQUEST")
    return Params(query, variables, operation_name, doc_id, sha256)


def _json_response(
    body: dict[str, Any], status: int, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        _encode_json(body),
        status=status,
        headers=headers,
        content_type=f"{media_type}; charset=utf-8",
    )
