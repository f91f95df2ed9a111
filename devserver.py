"""The local dev server's request handler: JSON errors and a socket timeout.

werkzeug's dev server answers some requests before Flask sees them: a request line
over 64 KB (414), a header line over 64 KB or more than 100 headers (431), a request
line that is not HTTP (400), an unsupported HTTP version (505). Those answers are
JSON here, like every other error. A connection that sends nothing for `timeout`
seconds, while its request line, headers or body are due, is dropped (a body that
stalls is answered 408 `REQUEST_TIMEOUT`), so a slow client cannot hold a thread.

On Lambda, API Gateway parses HTTP and applies its own limits: this module is for
`python run.py` only.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from werkzeug.serving import WSGIRequestHandler

# Fixed messages: the stdlib's own ones quote the offending request line back.
_ERRORS = {
    400: ("BAD_REQUEST", "The request is not valid HTTP."),
    408: ("REQUEST_TIMEOUT", "The request did not arrive in time."),
    414: ("URI_TOO_LONG", "The request line is too long."),
    431: ("HEADERS_TOO_LARGE", "A header line is too long, or there are too many headers."),
    501: ("NOT_IMPLEMENTED", "The server does not support this request."),
    505: ("HTTP_VERSION_NOT_SUPPORTED", "Send HTTP/1.0 or HTTP/1.1."),
}


class JSONErrorsRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, answering its own errors as JSON and timing out stalled sockets."""

    timeout = 15  # seconds a connection may stay silent; socketserver applies it with settimeout

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a request the server refused before the app saw it, as JSON."""
        default = ("BAD_REQUEST" if code < 500 else "INTERNAL_SERVER_ERROR", HTTPStatus(code).phrase)
        error_code, error_message = _ERRORS.get(code, default)
        self.log_error("code %d, %s", code, error_code)
        if self.request_version == "HTTP/0.9":  # the request line did not parse: answer in HTTP/1.0, with headers
            self.request_version = "HTTP/1.0"
        self.send_response(code, HTTPStatus(code).phrase)
        self.send_header("Connection", "close")
        body = json.dumps({"code": error_code, "message": error_message}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
