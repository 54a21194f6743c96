"""The server host: the Sync emulator on an in-thread Werkzeug server.

Built on pytest-httpserver's :class:`~pytest_httpserver.HTTPServer` (``url_for``,
``is_running``, the context-manager protocol, ``handler_errors`` and ``check()``
re-raising server-thread errors on the test thread, and its ``expect_request`` API:
a canned answer registered that way takes precedence over the emulator for the
requests it matches), with three changes that the product needs:

* **Binding**: ``make_server`` binds ``127.0.0.1:0`` itself and the port is read back,
  so there is no probe-then-bind race under xdist.
* **Stopping**: ``socketserver.serve_forever`` polls its shutdown flag every 0.5 s.
  Here the serve loop waits on the listening socket *and* a wake-up socket pair with no
  timeout; ``stop()`` writes one byte to wake it. A stop costs a thread join, not a
  poll interval, and no timer of the loop ever reads the (possibly frozen) clock.
* **Answers**: the raw WSGI :class:`~pytest_syncmap.http.app.SyncApp` is served directly
  (no body read up front), and even Werkzeug's own error pages (a malformed request
  line) are Twilio JSON.
"""

from __future__ import annotations

import errno
import io
import logging
import selectors
import socket
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pytest_httpserver import HTTPServer
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from pytest_syncmap.domain.choices import DEFAULT_CHOICES, Choices
from pytest_syncmap.domain.clock import Clock, SettableClock
from pytest_syncmap.domain.model import Store
from pytest_syncmap.http.app import TRANSPORT_KEY, Exchange, SyncApp
from pytest_syncmap.http.control import ControlPlane
from pytest_syncmap.http.exchange import Headers
from pytest_syncmap.http.faults import FaultPlan
from pytest_syncmap.http.journal import Journal
from pytest_syncmap.http.twilio_errors import error_body

from .transport import TwilioRequestHandler, transport_fault
from .webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["ACCOUNT_SID", "AUTH_TOKEN", "SyncServer"]

#: Account SID the emulator accepts by default (any ``AC`` + 32 hex would do).
ACCOUNT_SID = "AC" + "5c" * 16
#: Auth token the emulator accepts by default.
AUTH_TOKEN = "syncmap-auth-token"

_log = logging.getLogger("pytest_syncmap.server")


class SyncServer(HTTPServer):
    """A running Sync emulator: a :class:`Store`, its HTTP app, and a server thread.

    Use it as a context manager for a private emulator outside the fixtures::

        with SyncServer() as server:
            client.sync.base_url = server.url
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        clock: Clock | None = None,
        choices: Choices = DEFAULT_CHOICES,
        expiry_lag: float = 0,
    ) -> None:
        super().__init__(host, port, threaded=True)
        self._default_lag = timedelta(seconds=expiry_lag)
        self.account_sid = account_sid
        self.auth_token = auth_token
        #: The emulator's one clock (the control plane moves it; see ``domain.clock``).
        self.clock = clock if isinstance(clock, SettableClock) else SettableClock(clock)
        #: The Sync state; tests may read and arrange it directly.
        self.store = Store(self.clock, choices=choices, expiry_lag=self._default_lag)
        #: The WSGI application serving :attr:`store`.
        self.app = SyncApp(
            self.store,
            account_sid=account_sid,
            auth_token=auth_token,
            choices=choices,
            on_error=self._record_error,
        )
        self.app.control = ControlPlane(
            self.store,
            self.app.faults,
            self.app.journal,
            account_sid=account_sid,
            choices=choices,
            reset=self.reset,
        )
        #: Delivers Sync webhooks for Services that ask for them.
        self.webhooks = WebhookDispatcher(account_sid, auth_token, self.app.journal)
        self.store.listeners.append(self.webhooks.on_event)
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._canned_lock = threading.Lock()
        self._url: str | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<SyncServer {self.url if self.is_running() else self.host} {state}>"

    # ----------------------------------------------------------- addresses
    @property
    def url(self) -> str:
        """Base URL of the emulator, e.g. ``http://127.0.0.1:41234``."""
        if self._url is None:
            return self.url_for("/").rstrip("/")
        return self._url

    @property
    def auth(self) -> tuple[str, str]:
        """``(account_sid, auth_token)`` for HTTP Basic auth (``requests`` takes it as is)."""
        return (self.account_sid, self.auth_token)

    # ------------------------------------------------------------- errors
    def _record_error(self, exc: BaseException) -> None:
        _log.error("unhandled error in the Sync emulator", exc_info=exc)
        if isinstance(exc, Exception):
            self.handler_errors.append(exc)

    def take_errors(self) -> list[Exception]:
        """Remove and return the errors raised in the server thread so far."""
        errors, self.handler_errors = self.handler_errors, []
        return errors

    # ------------------------------------------------------------ lifecycle
    @property
    def expiry_lag(self) -> float:
        """Seconds an expired item or Map stays readable before it is collected.

        0 (the default) is exact expiry: gone from the moment ``now >= date_expires``.
        Twilio warns that expired objects "might not be deleted immediately"; a lag lets
        a test check code that must cope with that. :meth:`reset` restores the default.
        """
        return self.store.expiry_lag.total_seconds()

    @expiry_lag.setter
    def expiry_lag(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("expiry_lag cannot be negative")
        self.store.expiry_lag = timedelta(seconds=seconds)

    @property
    def journal(self) -> Journal:
        """Every request answered since the last reset (bounded; see :class:`Journal`)."""
        return self.app.journal

    @property
    def faults(self) -> FaultPlan:
        """The faults scheduled for the current test."""
        return self.app.faults

    def assert_no_unexpected_failures(self, allow: int | Iterable[int] = ()) -> None:
        """No request of this test got a 4xx/5xx answer that no fault asked for.

        ``allow`` lists answers the code under test expects: HTTP statuses (``404``)
        or Twilio error codes (``54201``), e.g. the 404 of a fetch-then-create flow.
        """
        __tracebackhide__ = True
        failed = self.journal.unexpected_failures(allow)
        if failed:
            raise AssertionError(
                f"{len(failed)} request(s) failed without an injected fault:\n"
                + Journal.table(failed, limit=20)
            )

    def reset(self) -> None:
        """Forget all Sync state, faults, journal, canned answers and server-side errors.

        The clock goes back to how the server was made (a control-plane move does not
        outlive the test) and the expiry lag to its default. Webhook deliveries of the
        previous test are abandoned, not waited for.
        """
        self.store.expiry_lag = self._default_lag
        self.store.clock = self.clock
        self.clock.reset()
        self.webhooks.reset()
        self.app.reset()
        self.clear()

    # -------------------------------------------------------------- serving
    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Canned answers first, then the Sync app, then any transport fault."""
        if self.ordered_handlers or self.oneshot_handlers or self.handlers:
            canned = self._canned(environ)
            if canned is not None:
                return canned(environ, start_response)
        if not self.app.faults:
            return self.app(environ, start_response)
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        kind = environ.get(TRANSPORT_KEY)
        if kind is None:
            start_response(captured[0], captured[1])
            return [body]
        return transport_fault(kind, environ, body, start_response)

    def _canned(self, environ: WSGIEnvironment) -> Response | None:
        """A response registered with ``expect_request`` & co. that matches, if any.

        The handler is chosen (and a one-shot one consumed) under a lock; it runs with
        no lock held, since it is the test's code. Whatever it raises fails the test
        with its traceback, and the client gets a Twilio 500, never an HTML page.
        """
        request = Request(environ)
        with self._canned_lock:
            handler = None
            if self.ordered_handlers and self.ordered_handlers[0].matcher.match(request):
                handler = self.ordered_handlers.pop(0)
            if handler is None:
                handler = self.oneshot_handlers.match(request)
                if handler is not None:
                    self.oneshot_handlers.remove(handler)
            consumed = handler is not None
            if handler is None:
                handler = self.handlers.match(request)
        if handler is None:
            _restore_body(environ, request)
            return None
        if consumed:
            self._update_waiting_result()
        code: int | None = None
        try:
            response = handler.respond(request)
        except Exception as exc:
            self._record_error(exc)
            status, code = 500, 20500
            response = Response(
                error_body(status, code, "An internal server error has occurred"),
                status=status,
                content_type="application/json",
            )
        else:
            if response is None:
                response = Response("")
            if isinstance(response, str):
                response = Response(response)
        response.headers["X-Content-Type-Options"] = "nosniff"
        self.log.append((request, response))
        self.app.record(
            Exchange(
                method=request.method,
                path=request.path,
                query=dict(request.args),
                form={},
                headers=Headers(request.headers.items()),
                status=response.status_code,
                code=code,
                fault="canned",
            )
        )
        return response

    def start(self) -> None:
        """Bind (the OS picks the port when it is 0) and serve in a daemon thread."""
        if self.is_running():
            from pytest_httpserver.httpserver import HTTPServerError

            raise HTTPServerError("Server is already running")
        try:
            server = make_server(
                self.host,
                self.port,
                self._wsgi,
                threaded=True,
                request_handler=TwilioRequestHandler,
            )
        except SystemExit:
            # Werkzeug prints a message and exits the process when it cannot bind;
            # a library must raise instead.
            raise OSError(
                errno.EADDRINUSE, f"pytest-syncmap cannot listen on {self.host}:{self.port}"
            ) from None
        self.server = server
        self.port = server.port
        self._url = self.url_for("/").rstrip("/")
        self._wake = socket.socketpair()
        self.server_thread = threading.Thread(
            target=self.thread_target, name=f"pytest-syncmap:{self.port}", daemon=True
        )
        self.server_thread.start()

    def thread_target(self) -> None:
        """Serve until :meth:`stop` writes to the wake-up socket; no polling, no timers."""
        server, wake = self.server, self._wake
        assert server is not None
        assert wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(server.socket, selectors.EVENT_READ, "accept")
            selector.register(wake[0], selectors.EVENT_READ, "wake")
            while True:
                events = selector.select()
                if any(key.data == "wake" for key, _ in events):
                    return
                server._handle_request_noblock()  # type: ignore[attr-defined]

    def stop(self) -> None:
        """Stop serving and close the socket; returns once the thread has ended."""
        if not self.is_running():
            from pytest_httpserver.httpserver import HTTPServerError

            raise HTTPServerError("Server is not running")
        assert self.server is not None
        assert self.server_thread is not None
        assert self._wake is not None
        self._wake[1].send(b"x")
        self.server_thread.join()
        self.server.server_close()
        self.webhooks.close()
        for sock in self._wake:
            sock.close()
        self.server = None
        self.server_thread = None
        self._wake = None
        self._url = None


def _restore_body(environ: WSGIEnvironment, request: Request) -> None:
    """Give the Sync app back a body that a canned matcher read (``data=`` matchers)."""
    data = getattr(request, "_cached_data", None)
    if data is not None:
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
