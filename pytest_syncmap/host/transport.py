"""The transport: how requests are read off sockets and answers written back.

:class:`TwilioRequestHandler` is Werkzeug's request handler made quiet, with Twilio JSON
instead of HTML error pages, and able to break a connection on purpose;
:func:`transport_fault` carries out the transport faults (``reset``, ``empty_response``,
``truncated``, ``malformed``) that the app asks for through ``environ``.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler

from pytest_syncmap.http.app import TRANSPORT_KEY
from pytest_syncmap.http.twilio_errors import generic_code, more_info

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["TwilioRequestHandler", "transport_fault"]

_log = logging.getLogger("pytest_syncmap.server")


class TwilioRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, quiet, and with Twilio JSON instead of HTML error pages."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Request logging costs time on every request; the journal is the record."""

    def log_error(self, format: str, *args: Any) -> None:
        _log.debug(format, *args)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug(format, *args)

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        """A dropped (or deliberately broken) connection serves no further request."""
        self.close_connection = True

    def finish(self) -> None:
        """Close the connection; abortively (TCP RST) when a ``reset`` fault asked for it."""
        super().finish()
        environ = getattr(self, "environ", None)
        if environ is not None and environ.get(TRANSPORT_KEY) == "reset":
            # Linger on with a zero timeout: close() sends RST instead of FIN. The file
            # objects are closed by now, so this close really releases the socket.
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            except OSError:
                pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a request the server could not even parse with a Twilio body."""
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            # An unparseable line leaves the handler in HTTP/0.9 mode, which would
            # drop the status line; answer as HTTP/1.0 instead.
            self.request_version = "HTTP/1.0"
        twilio_code = generic_code(code)
        body = json.dumps(
            {
                "code": twilio_code,
                "message": message or self.responses.get(code, ("Error",))[0],
                "more_info": more_info(twilio_code),
                "status": code,
            }
        ).encode()
        self.close_connection = True
        try:
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)
        except OSError:
            pass


def transport_fault(
    kind: str, environ: WSGIEnvironment, body: bytes, start_response: StartResponse
) -> Iterable[bytes]:
    """Break the connection the way ``kind`` says, or send a body that is not JSON."""
    if kind == "malformed":
        garbage = b'{"key": "pytest-syncmap malformed body", "data": {'
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(garbage)))],
        )
        return [garbage]
    if kind == "truncated":
        sock: socket.socket = environ["werkzeug.socket"]
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        sock.sendall(head + body[: len(body) // 2])
    # Werkzeug treats a ConnectionError as a dropped connection and writes nothing more;
    # the request handler then closes the socket (abortively for ``reset``).
    raise ConnectionAbortedError(f"pytest-syncmap transport fault: {kind}")
