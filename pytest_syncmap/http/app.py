"""The HTTP layer: a WSGI application that speaks the Sync REST API.

It routes, authenticates, parses and validates, calls the domain model, and renders
Twilio-shaped JSON or Twilio errors. It holds no Sync state of its own. Every answer,
including for input no client should send, is a Twilio JSON body: an exception that
escapes a handler becomes a Twilio 500 and is handed to ``on_error`` so the test that
caused it can fail with the original traceback.

Routing follows ``CLIENTS.md`` section 7: the path is matched after percent-decoding,
without merging slashes or redirecting, and everything after ``/Items/`` is the key
(so ``Items/a/b`` from twilio-python and ``Items/a%2Fb`` from the CLI both mean ``a/b``).
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote_to_bytes

from pytest_syncmap.domain.choices import DEFAULT_CHOICES, Choices
from pytest_syncmap.domain.errors import (
    ItemAlreadyExists,
    ItemNotFound,
    MapNotFound,
    RevisionMismatch,
    SyncError,
)
from pytest_syncmap.domain.model import Store, is_sid, new_sid

from .api import Api, Call, Result
from .control import CONTROL_PREFIX, ControlPlane
from .exchange import Exchange, Headers
from .faults import Fault, FaultPlan, delay_seconds
from .journal import Journal, JournalEntry
from .params import parse_if_match
from .resources import ROUTES
from .routing import Operation, Router
from .twilio_errors import TwilioError, error_body, from_domain

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["MAX_BODY_BYTES", "TRANSPORT_KEY", "Exchange", "SyncApp"]

#: WSGI environ key through which the app asks the server host for a transport fault.
TRANSPORT_KEY = "pytest_syncmap.transport"

#: Largest request body read. Item data is at most 16 KiB, so anything near this is
#: not a Sync request; it is refused before it is read into memory.
MAX_BODY_BYTES = 1024 * 1024
#: How much of an oversized body is read and thrown away so the client sees the 413
#: instead of a connection reset; beyond this the connection is simply closed.
_DRAIN_LIMIT = 64 * 1024 * 1024
_CHUNK = 64 * 1024

_STATUS_LINES = {
    200: "200 OK",
    201: "201 Created",
    204: "204 No Content",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    412: "412 Precondition Failed",
    413: "413 Request Entity Too Large",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}

#: The table of every route the API serves.
ROUTER = Router(ROUTES)


class SyncApp:
    """The WSGI application; one per emulator, sharing the emulator's :class:`Store`."""

    def __init__(
        self,
        store: Store,
        *,
        account_sid: str,
        auth_token: str,
        choices: Choices = DEFAULT_CHOICES,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.store = store
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.choices = choices
        self.on_error = on_error
        #: Faults of the current test (see :mod:`pytest_syncmap.faults`).
        self.faults = FaultPlan()
        #: Every request answered since the last reset.
        self.journal = Journal()
        #: The ``/_syncmap/`` control plane (its reset is the server's, when served).
        self.control = ControlPlane(
            store,
            self.faults,
            self.journal,
            account_sid=account_sid,
            choices=choices,
            reset=self.reset,
        )
        #: What resource handlers are given.
        self.api = Api(store, account_sid, choices)
        #: Called with every :class:`Exchange` after it is answered.
        self.observers: list[Callable[[Exchange], None]] = []
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._expected_auth = f"Basic {token}"

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request; never raises."""
        exchange = Exchange(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO", ""),
            query={},
            form={},
            headers={},
        )
        try:
            status, body, headers = self._answer(environ, exchange)
        except TwilioError as err:
            status, body, headers = err.status, err.body().decode(), dict(err.headers)
            exchange.code = err.code
            if status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        except Exception as exc:
            if self.on_error is not None:
                self.on_error(exc)
            status, exchange.code = 500, 20500
            body = error_body(500, 20500, "An internal server error has occurred").decode()
            headers = {}
        payload = body.encode()
        headers["Twilio-Request-Id"] = new_sid("RQ")
        headers["X-Content-Type-Options"] = "nosniff"
        if status != 204:
            headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(payload))
        exchange.status, exchange.body, exchange.response_headers = status, payload, headers
        try:
            self.record(exchange)
        except Exception as exc:
            if self.on_error is not None:
                self.on_error(exc)
        for observer in self.observers:
            try:
                observer(exchange)
            except Exception as exc:
                if self.on_error is not None:
                    self.on_error(exc)
        start_response(_STATUS_LINES.get(status, f"{status} Error"), list(headers.items()))
        if exchange.method == "HEAD":
            return [b""]
        return [payload]

    def reset(self) -> None:
        """Forget all Sync state, faults and journal entries."""
        self.store.reset()
        self.faults.clear()
        self.journal.clear()

    def record(self, exchange: Exchange) -> None:
        """Add an answered request to the journal."""
        after = exchange.response_headers.get("ETag")
        if exchange.operation == "DeleteSyncMapItem" and exchange.status == 204:
            after = None
        elif after is None and exchange.service and exchange.map and exchange.key:
            # An error answer: what the item holds now (a race may have moved it).
            # Best effort: a failure here was already reported by the request itself.
            try:
                after = self.store.peek_revision(exchange.service, exchange.map, exchange.key)
            except Exception:
                after = None
        if exchange.map_sid is None and exchange.map and 200 <= exchange.status < 300:
            self._resolve_map(exchange)
        before = exchange.revision_before
        if exchange.method in ("GET", "HEAD") and exchange.key is not None:
            before = after  # a read leaves the revision where it found it
        self.journal.record(
            JournalEntry(
                seq=self.journal.next_seq(),
                method=exchange.method,
                path=exchange.path,
                operation=exchange.operation,
                map=exchange.map,
                key=exchange.key,
                form=exchange.form,
                query=exchange.query,
                if_match=exchange.if_match,
                status=exchange.status,
                code=exchange.code,
                revision_before=before,
                revision_after=after,
                fault=exchange.fault,
                service=exchange.service,
                map_sid=exchange.map_sid,
                map_name=exchange.map_name,
            )
        )

    # --------------------------------------------------------------- routing
    def _answer(self, environ: WSGIEnvironment, exchange: Exchange) -> Result:
        body = _read_body(environ)
        path = _strict_path(environ, exchange.path)
        exchange.path = path
        if self.observers or self.faults:  # someone may read them: a predicate, an observer
            exchange.headers = _headers(environ)
        self._authenticate(environ.get("HTTP_AUTHORIZATION"))
        if path.startswith(CONTROL_PREFIX):
            exchange.operation = "Control " + path[len(CONTROL_PREFIX) :].strip("/")
            return self.control.handle(exchange.method, path, body, _base_url(environ))
        route, params = ROUTER.match(path)
        op = route.operation(exchange.method)
        exchange.operation = op.id
        exchange.service = params.get("service")
        exchange.map = params.get("map")
        exchange.key = params.get("key")
        exchange.query = _parse_pairs(
            environ.get("QUERY_STRING", "").encode("latin-1"), "query string"
        )
        if exchange.method == "POST":
            exchange.form = _parse_pairs(body, "request body")
        call = Call(
            exchange=exchange,
            params=params,
            base=_base_url(environ),
            raw_path=_raw_path(environ, path),
            if_match=parse_if_match(environ.get("HTTP_IF_MATCH")) if op.if_match else None,
        )
        exchange.if_match = call.if_match
        if op.id == "CreateSyncMapItem":
            exchange.key = exchange.form.get("Key")
        item_write = op.resource == "map_item" and not op.collection and op.id != "FetchSyncMapItem"
        if item_write:
            exchange.revision_before = self.store.peek_revision(
                params["service"], params["map"], params["key"]
            )
        if exchange.map is not None and (
            self.faults.wants_map() or (not op.collection and exchange.method != "POST")
        ):
            # Fetch and delete touch the Map anyway; other requests are resolved once
            # answered (see record), so a request refused before the store never
            # creates anything (the ``default`` Service is made on first lookup).
            self._resolve_map(exchange)
        try:
            fault = self.faults.pick(exchange)
            if fault is not None:
                exchange.fault = fault.kind
                shortcut = self._apply_fault(fault, call, op, environ)
                if shortcut is not None:
                    return shortcut
            return op.handler(self.api, call)
        except SyncError as exc:
            raise from_domain(exc, self.choices, path) from None

    # ---------------------------------------------------------------- faults
    def _resolve_map(self, exchange: Exchange) -> None:
        """Note the SID and unique name of the Map the request addresses, if it exists."""
        try:
            record = self.store.get_map(exchange.service or "default", exchange.map or "")
        except SyncError:
            return
        exchange.map_sid, exchange.map_name = record.sid, record.unique_name

    def _apply_fault(
        self, fault: Fault, call: Call, op: Operation, environ: WSGIEnvironment
    ) -> Result | None:
        """Carry out ``fault``: raise its error, or return an answer, or ``None`` to go on."""
        exchange, params = call.exchange, call.params
        path = exchange.path
        if fault.kind == "conflict":
            raise from_domain(
                RevisionMismatch(
                    params.get("key", ""), call.if_match or "", exchange.revision_before or ""
                ),
                self.choices,
                path,
            )
        if fault.kind == "race":
            service, map_ref, key = params["service"], params["map"], params["key"]
            try:
                current = self.store.get_item(service, map_ref, key)
                data = fault.options.get("data", current.data)
                self.store.update_item(service, map_ref, key, data=data)
            except SyncError:
                pass  # nothing to race with: the request goes on as it is
            return None
        if fault.kind == "not_found":
            if op.resource == "map_item" and not op.collection:
                raise from_domain(ItemNotFound(params["map"], params["key"]), self.choices, path)
            if "map" in params:
                map_ref = params["map"]
                raise from_domain(
                    MapNotFound(params["service"], map_ref, by_sid=is_sid(map_ref)),
                    self.choices,
                    path,
                )
            raise TwilioError.not_found(path)
        if fault.kind == "already_exists":
            raise from_domain(
                ItemAlreadyExists(params.get("map", ""), exchange.form.get("Key", "")),
                self.choices,
                path,
            )
        if fault.kind == "rate_limited":
            err = TwilioError(
                429,
                54009,
                "Rate limit exceeded. The rate of access to this resource exceeds the "
                "prescribed limits",
            )
            retry_after = fault.options.get("retry_after", 1)
            if retry_after is not None:
                err.headers["Retry-After"] = str(retry_after)
            raise err
        if fault.kind == "server_error":
            status = int(fault.options.get("status", 500))
            message = {
                503: "Service unavailable",
                502: "Bad gateway",
                504: "Gateway timeout",
            }.get(status, "An internal server error has occurred")
            raise TwilioError(status, 20000 + status, message)
        if fault.kind == "delay":
            time.sleep(delay_seconds(fault))
            return None
        # Transport faults: the server host acts on the connection after the answer.
        environ[TRANSPORT_KEY] = fault.kind
        if fault.options.get("processed", False):
            return None
        return 200, '{"pytest_syncmap": "this answer is lost in transport"}', {}

    # --------------------------------------------------------------- parsing

    def _authenticate(self, header: str | None) -> None:
        if header == self._expected_auth:
            return
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "basic":
                try:
                    user, _, password = (
                        base64.b64decode(value.strip(), validate=True).decode().partition(":")
                    )
                except ValueError:  # binascii.Error, non-ASCII text, non-UTF-8 bytes
                    user = password = ""
                if hmac.compare_digest(user.encode(), self.account_sid.encode()) and (
                    hmac.compare_digest(password.encode(), self.auth_token.encode())
                ):
                    return
        raise TwilioError(401, 20003, "Authenticate")


# ------------------------------------------------------------------ helpers
def _headers(environ: WSGIEnvironment) -> Headers:
    """The request headers, named as HTTP spells them (``If-Match``)."""
    headers = Headers(
        (k[5:].replace("_", "-").title(), v) for k, v in environ.items() if k.startswith("HTTP_")
    )
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers[name] = environ[key]
    return headers


def _strict_path(environ: WSGIEnvironment, path_info: str) -> str:
    """The percent-decoded path, refusing bytes that are not UTF-8 (404 / 20404).

    Werkzeug's server decodes ``PATH_INFO`` with ``errors="replace"``, which would turn
    ``Items/%ff`` into the key ``"\ufffd"``; the raw request URI is decoded strictly.
    """
    raw = _request_uri_path(environ)
    try:
        if raw is not None and raw.startswith("/"):
            return unquote_to_bytes(raw).decode("utf-8")
        return path_info.encode("latin-1").decode("utf-8")
    except UnicodeError:
        shown = path_info.encode("latin-1", "replace").decode("utf-8", "replace")
        raise TwilioError.not_found(shown) from None


def _parse_pairs(raw: bytes, where: str) -> dict[str, str]:
    """Form or query pairs; first value wins; anything but UTF-8 is a Twilio 400."""
    if not raw:
        return {}
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise TwilioError(
            400, 20001, f"Invalid parameter encoding: the {where} is not valid UTF-8"
        ) from None
    out: dict[str, str] = {}
    for name, value in pairs:
        out.setdefault(name, value)
    return out


def _read_body(environ: WSGIEnvironment) -> bytes:
    """The request body, refused with a 413 once it passes :data:`MAX_BODY_BYTES`."""
    stream = environ["wsgi.input"]
    length_header = environ.get("CONTENT_LENGTH") or ""
    if length_header:
        try:
            length = int(length_header)
        except ValueError:
            raise TwilioError(400, 20001, "Invalid Content-Length header") from None
        if length > MAX_BODY_BYTES:
            _drain(stream, length)
            raise _too_large()
        return stream.read(length) if length > 0 else b""
    if environ.get("wsgi.input_terminated"):
        data = stream.read(MAX_BODY_BYTES + 1)
        if len(data) > MAX_BODY_BYTES:
            _drain(stream, _DRAIN_LIMIT)
            raise _too_large()
        return bytes(data)
    return b""


def _drain(stream: Any, length: int) -> None:
    left = min(length, _DRAIN_LIMIT)
    while left > 0:
        chunk = stream.read(min(_CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)


def _too_large() -> TwilioError:
    return TwilioError(
        413, 54006, f"Request entity too large. The request body exceeds {MAX_BODY_BYTES} bytes"
    )


def _base_url(environ: WSGIEnvironment) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
    return f"{scheme}://{host}"


def _request_uri_path(environ: WSGIEnvironment) -> str | None:
    """The path part of the request URI exactly as sent, when the server keeps it."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    return str(raw).split("?", 1)[0] if raw else None


def _raw_path(environ: WSGIEnvironment, path: str) -> str:
    """The path exactly as the client sent it, for ``meta`` URLs (``SYNC_API.md`` 3.3)."""
    raw = _request_uri_path(environ)
    return quote(path) if raw is None else raw
