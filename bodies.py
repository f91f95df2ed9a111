"""Read JSON request bodies: the one reader every JSON endpoint uses.

Hostile bodies get a 4xx with a code and never reach a handler: a charset other than
utf-8 (415), bytes that are not utf-8 or strings with lone surrogates (400
`BAD_ENCODING`), JSON that is not JSON (400 `MALFORMED_JSON`, also for NaN and
Infinity, which Python's json accepts but JSON does not), and nesting deeper than
`MAX_DEPTH` (400 `JSON_TOO_DEEP`: Python's parser raises RecursionError near 1,000
levels, and deep variables would recurse again in graphql-core's coercion).
"""

from __future__ import annotations

import json
from typing import Any

from flask import request
from werkzeug.exceptions import ClientDisconnected

from errors import BadEncoding, JSONTooDeep, MalformedJSON, RequestTimeout, UnsupportedMediaType, ValidationFailed

MEDIA_TYPE = "application/json"
MAX_DEPTH = 64


def json_body() -> dict[str, Any]:
    """Return the request's JSON object body, or raise a client error that says what is wrong."""
    if request.mimetype != MEDIA_TYPE:
        raise UnsupportedMediaType()
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("Encode the request body as utf-8.")
    body = parse_json(read_body())
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    return body


def optional_json_body() -> dict[str, Any] | None:
    """Return the request's JSON object body, or None if it sends no JSON body (refused like json_body's)."""
    if request.mimetype != MEDIA_TYPE or not read_body():
        return None
    return json_body()


def read_body() -> bytes:
    """Return the raw body (cached for later readers); a body that stalls past the server's timeout is a 408."""
    try:
        return request.get_data(cache=True)
    except TimeoutError:
        raise RequestTimeout() from None
    except ClientDisconnected as error:
        if isinstance(error.__context__, TimeoutError):  # werkzeug's stream turns the socket timeout into this
            raise RequestTimeout() from None
        raise


def parse_json(raw: bytes | str, what: str = "The request body") -> Any:
    """Parse utf-8 JSON text strictly, or raise BadEncoding, MalformedJSON or JSONTooDeep saying `what` is wrong."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadEncoding(f"{what} is not valid utf-8.") from None
    else:
        text = raw
    try:
        value = _decode_json(text)
    except RecursionError:
        raise JSONTooDeep(f"{what} is nested too deeply; the limit is {MAX_DEPTH} levels.") from None
    except ValueError:
        raise MalformedJSON(f"{what} is not valid JSON.") from None
    # In utf-8 bytes only a \u escape can spell a lone surrogate, and nesting needs as many brackets:
    # most bodies skip the walk.
    suspect = "\\u" in text or not (isinstance(raw, bytes) or text.isascii())
    if suspect or text.count("[") + text.count("{") > MAX_DEPTH:
        _check(value, what)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decode_json = json.JSONDecoder(parse_constant=_refuse_constant).decode  # json.loads with options builds one per call


def _check(value: Any, what: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH and strings utf-8 cannot encode, in one iterative walk."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_string(item, what)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise JSONTooDeep(f"{what} is nested too deeply; the limit is {MAX_DEPTH} levels.")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_string(key, what)
                pending.append((child, depth + 1))
        else:
            pending.extend((child, depth + 1) for child in item)


def _check_string(text: str, what: str) -> None:
    # json.loads turns "\ud800" escapes into lone surrogates, which no response or DynamoDB item can encode.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BadEncoding(f"{what} holds a lone surrogate escape (\\ud800-\\udfff).") from None
