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
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote_to_bytes

from pytest_syncmap.domain.choices import DEFAULT_CHOICES, Choices
from pytest_syncmap.domain.errors import (
    SyncError,
)
from pytest_syncmap.domain.model import Store, new_sid

from .addressing import address, note_created, peek_revision, resolve
from .api import Api, Call, Result
from .boundary import Gate, OutlivedTest
from .control import CONTROL_PREFIX, ControlPlane
from .exchange import Exchange, Headers
from .faults import FaultPlan
from .injection import TRANSPORT_KEY, FaultInjector
from .journal import Journal, JournalEntry
from .params import parse_if_match
from .resources import ROUTES
from .routing import Router
from .twilio_errors import TwilioError, error_body, from_domain

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["MAX_BODY_BYTES", "TRANSPORT_KEY", "Exchange", "SyncApp"]

#: Largest request body read. Item data is at most 16 KiB, so anything near this is
#: not a Sync request; it is refused (413) without being read, and the server host
#: closes the connection after the answer.
MAX_BODY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024

_STATUS_LINES = {
    200: "200 OK",
    201: "201 Created",
    204: "204 No Content",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    412: "412 Precondition Failed",
    413: "413 Request Entity Too Large",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}

#: What a SID looks like (``AC`` account, ``SK`` API key...): safe to echo in a 401.
_SID_SHAPE = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")

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
        self.faults = FaultPlan(choices)
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
        #: The test boundary: which test generation may touch state now.
        self.gate = Gate()
        #: Carries out the faults that fire.
        self.injector = FaultInjector(store, choices, self.gate)
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._expected_auth = f"Basic {token}"

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request; never raises. A request whose test has ended is refused."""
        self.gate.claim(environ)
        try:
            return self._respond(environ, start_response)
        finally:
            self.gate.release(environ)

    def _respond(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        exchange = Exchange(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO", ""),
            query={},
            form={},
            headers={},
        )
        try:
            status, body, headers = self._answer(environ, exchange)
        except OutlivedTest as outlived:
            return self._late(outlived, exchange.method, start_response)
        except TwilioError as err:
            gate = self.gate
            if not gate.holds(environ) and not gate.current(environ):
                # refused (bad body, credentials...) before it could be let in: late all
                # the same, and not for the current test's journal
                refused = gate.refuse(exchange.method, exchange.path, environ)
                return self._late(refused, exchange.method, start_response)
            status, body, headers = err.status, err.body().decode(), dict(err.headers)
            exchange.code = err.code
            if isinstance(err, _Unauthenticated):
                headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
                exchange.note = err.detail
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

    @staticmethod
    def _late(late: OutlivedTest, method: str, start_response: StartResponse) -> Iterable[bytes]:
        """The answer to a request whose test has ended: not journaled, not observed."""
        payload = late.body()
        start_response(
            _STATUS_LINES[late.status],
            [
                ("Twilio-Request-Id", new_sid("RQ")),
                ("X-Content-Type-Options", "nosniff"),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
            ],
        )
        return [b""] if method == "HEAD" else [payload]

    def reset(self) -> None:
        """Forget all Sync state, faults and journal entries."""
        self.store.reset()
        self.faults.clear()
        self.journal.clear()

    def record(self, exchange: Exchange) -> None:
        """Add an answered request to the journal."""
        ok = 200 <= exchange.status < 300
        after = exchange.response_headers.get("ETag")
        before = exchange.revision_before
        read = exchange.method in ("GET", "HEAD")
        if after is None and not ok and (before is not None or read):
            # An error answer to a conditional write or a read: what the item (or
            # Document) holds now; a race may have moved it. Best effort: a failure
            # here was already reported by the request itself.
            try:
                after = peek_revision(self.store, exchange)
            except Exception:
                after = None
        if exchange.object_sid is None and exchange.object is not None:
            # Failed answers too (an injected fault, a 404 of an item): the journal and
            # the report name the object the request addressed whenever it exists.
            resolve(self.store, exchange)
        if read:
            before = after  # a read leaves the revision where it found it
        self.journal.record(
            JournalEntry.from_exchange(
                self.journal.next_seq(), exchange, revision_before=before, revision_after=after
            )
        )

    # --------------------------------------------------------------- routing
    def _answer(self, environ: WSGIEnvironment, exchange: Exchange) -> Result:
        path = _strict_path(environ, exchange.path)
        exchange.path = path
        if self.observers or self.faults:  # someone may read them: a predicate, an observer
            exchange.headers = _headers(environ)
        # Credentials first: a request that will be refused never has its body read.
        self._authenticate(environ.get("HTTP_AUTHORIZATION"))
        body = _read_body(environ)
        if not self.gate.enter(environ):  # its test has ended: touch nothing
            raise self.gate.refuse(exchange.method, path, environ)
        if path.startswith(CONTROL_PREFIX):
            exchange.operation = "Control " + path[len(CONTROL_PREFIX) :].strip("/")
            return self.control.handle(exchange.method, path, body, _base_url(environ))
        route, params = ROUTER.match(path)
        op = route.operation(exchange.method)
        exchange.operation = op.id
        exchange.query = _parse_pairs(
            environ.get("QUERY_STRING", "").encode("latin-1"), "query string"
        )
        if exchange.method == "POST":
            exchange.form = _parse_pairs(body, "request body")
        address(exchange, op, params)
        call = Call(
            exchange=exchange,
            params=params,
            base=_base_url(environ),
            raw_path=_raw_path(environ, path),
            if_match=parse_if_match(environ.get("HTTP_IF_MATCH")) if op.if_match else None,
        )
        exchange.if_match = call.if_match
        if op.if_match:  # a conditional write: what it finds, for the journal and faults
            exchange.revision_before = peek_revision(self.store, exchange)
        if exchange.object is not None and (
            self.faults.wants_object()
            or (exchange.method == "DELETE" and not op.collection and op.resource == exchange.kind)
        ):
            # A delete of the object takes it away, and a fault may match the object by
            # another name than the path's; other requests are resolved once answered
            # (see record), which costs a fetch no second lookup.
            resolve(self.store, exchange)
        try:
            fault = self.faults.pick(exchange)
            if fault is not None:
                exchange.fault = fault.kind
                shortcut = self.injector.apply(fault, call, op, environ)
                if shortcut is not None:
                    return shortcut
            if not self.gate.current(environ):
                raise self.gate.refuse(exchange.method, path, environ)
            result = op.handler(self.api, call)
        except SyncError as exc:
            raise from_domain(exc, self.choices, path) from None
        if op.collection and exchange.method == "POST":
            note_created(exchange, op, result[1])
        return result

    # --------------------------------------------------------------- parsing

    def _authenticate(self, header: str | None) -> None:
        if header == self._expected_auth:
            return
        expected = f"the emulator expects account SID {self.account_sid}"
        if header is None:
            raise _Unauthenticated(f"the request carried no credentials; {expected}")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise _Unauthenticated(f"the Authorization header is not HTTP Basic; {expected}")
        try:
            user, colon, password = (
                base64.b64decode(value.strip(), validate=True).decode().partition(":")
            )
        except ValueError:  # binascii.Error, non-ASCII text, non-UTF-8 bytes
            raise _Unauthenticated(f"the Basic credentials cannot be decoded; {expected}") from None
        if not hmac.compare_digest(user.encode(), self.account_sid.encode()):
            if _SID_SHAPE.fullmatch(user):
                sent = f"was sent with account SID {user}"
            elif user:  # perhaps a token in the wrong place: never echo it
                sent = f"was sent with a username that is not an account SID ({len(user)} chars)"
            else:
                sent = "was sent with an empty account SID"
            raise _Unauthenticated(f"the request {sent}; {expected}")
        if not colon or not hmac.compare_digest(password.encode(), self.auth_token.encode()):
            raise _Unauthenticated(
                f"the account SID {user} is right but the auth token is not the emulator's"
            )


class _Unauthenticated(TwilioError):
    """Twilio's 401 / 20003, saying which account SID was sent and which is expected."""

    def __init__(self, detail: str) -> None:
        super().__init__(401, 20003, f"Authenticate: {detail}")
        self.detail = detail


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

    The request URI as sent is decoded when the server keeps it (``RAW_URI`` or
    ``REQUEST_URI``, PEP 3333 style: each byte one latin-1 character), so raw UTF-8
    bytes and their percent-encoded form address the same key, and invalid UTF-8 is
    refused the same way in both forms (Werkzeug's ``PATH_INFO``, decoded with
    ``errors="replace"``, would have turned ``Items/%ff`` into the key ``"\ufffd"``).
    """
    raw = _request_uri_path(environ)
    try:
        if raw is not None and raw.startswith("/"):
            if "%" not in raw and raw.isascii():
                return raw  # nothing to decode: the common case
            try:
                raw_bytes = raw.encode("latin-1")
            except UnicodeEncodeError:  # a server that decoded the URI as UTF-8 already
                raw_bytes = raw.encode("utf-8")
            return unquote_to_bytes(raw_bytes).decode("utf-8")
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
    """The whole request body, exactly as declared, or a Twilio error.

    * larger than :data:`MAX_BODY_BYTES` by its ``Content-Length``: 413, nothing read;
    * chunked and growing past the limit: 413 as soon as it does;
    * ending before its ``Content-Length`` (the client half-closed or vanished), or with
      broken chunked framing, or stalling past the server's read timeout: 400, and the
      request is not processed.
    """
    stream = environ["wsgi.input"]
    length_header = environ.get("CONTENT_LENGTH") or ""
    if length_header:
        try:
            length = int(length_header)
        except ValueError:
            raise TwilioError(400, 20001, "Invalid Content-Length header") from None
        if length < 0:
            raise TwilioError(400, 20001, "Invalid Content-Length header")
        if length > MAX_BODY_BYTES:
            raise _too_large()
        data = _read_upto(stream, length)
        if len(data) < length:
            raise _incomplete(f"the request body ended after {len(data)} of {length} bytes")
        return data
    if environ.get("wsgi.input_terminated"):
        data = _read_upto(stream, MAX_BODY_BYTES + 1)
        if len(data) > MAX_BODY_BYTES:
            raise _too_large()
        return data
    return b""


def _read_upto(stream: Any, limit: int) -> bytes:
    """Up to ``limit`` bytes, reading until the stream ends; framing errors are a 400."""
    chunks: list[bytes] = []
    left = limit
    try:
        while left > 0:
            chunk = stream.read(min(_CHUNK, left))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except (OSError, ValueError) as exc:  # a dropped client, a timeout, bad chunking
        raise _incomplete(f"the request body could not be read ({exc})") from None
    return b"".join(chunks)


def _incomplete(detail: str) -> TwilioError:
    return TwilioError(400, 20001, f"Malformed or incomplete request body: {detail}")


def _too_large() -> TwilioError:
    return TwilioError(
        413, 54006, f"Request entity too large. The request body exceeds {MAX_BODY_BYTES} bytes"
    )


def _base_url(environ: WSGIEnvironment) -> str:
    """``scheme://host[:port]`` the client addressed, for the URLs in answers."""
    absolute = _absolute_target(environ)
    if absolute is not None:
        return absolute[0]  # RFC 9112 3.2.2: the target's authority, not Host
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
    return f"{scheme}://{host}"


def _absolute_target(environ: WSGIEnvironment) -> tuple[str, str] | None:
    """``(scheme://authority, /path?query)`` of an absolute-form request target.

    A client talking to a proxy sends ``GET http://host:port/v1/... HTTP/1.1``; a
    server may pass that target on as it came (RFC 9112 3.2.2).
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw or raw[0] == "/":
        return None
    scheme, sep, rest = str(raw).partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    authority, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{authority}", slash + path if slash else "/"


def _request_uri_path(environ: WSGIEnvironment) -> str | None:
    """The path part of the request URI exactly as sent, when the server keeps it."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        return None
    if raw[0] != "/":
        absolute = _absolute_target(environ)
        if absolute is not None:
            raw = absolute[1]
    return str(raw).partition("?")[0]


def _raw_path(environ: WSGIEnvironment, path: str) -> str:
    """The path exactly as the client sent it, for ``meta`` URLs (``SYNC_API.md`` 3.3).

    Raw non-ASCII bytes (which a client should have percent-encoded) are
    percent-encoded here, so the URL in the answer is valid either way.
    """
    raw = _request_uri_path(environ)
    if raw is None:
        return quote(path)
    if raw.isascii():
        return raw
    try:
        return quote(raw.encode("latin-1"), safe="/%:@!$&'()*+,;=-._~")
    except UnicodeEncodeError:
        return quote(raw, safe="/%:@!$&'()*+,;=-._~")
