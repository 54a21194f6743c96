"""The server host: the Sync emulator on an in-thread, keep-alive HTTP server.

Built on pytest-httpserver's :class:`~pytest_httpserver.HTTPServer` (``url_for``,
the context-manager protocol, ``handler_errors`` and ``check()`` re-raising
server-thread errors on the test thread, and its ``expect_request`` API: a canned
answer registered that way takes precedence over the emulator for the requests it
matches), served by the project's own transport instead of Werkzeug's development
server (see :mod:`pytest_syncmap.host.transport` and the README's Performance section):

* **Binding**: the transport binds ``127.0.0.1:0`` itself and the port is read back,
  so there is no probe-then-bind race under xdist.
* **Keep-alive**: persistent HTTP/1.1 connections, bounded in number and idle time,
  strict body framing, ``TCP_NODELAY``; transport faults break the connection.
* **Stopping**: the accept loop waits on the listening socket *and* a wake-up socket
  pair with no timeout; ``stop()`` writes one byte to wake it, then closes every
  connection. A stop costs a thread join, not a poll interval, and no timer of the
  loop ever reads the (possibly frozen) clock.
* **Answers**: the raw WSGI :class:`~pytest_syncmap.http.app.SyncApp` is served directly
  (no body read up front), and every refusal of the transport is Twilio JSON.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from pytest_syncmap.domain.choices import DEFAULT_CHOICES, Choices
from pytest_syncmap.domain.clock import Clock, SettableClock
from pytest_syncmap.domain.model import MAX_TTL, Store
from pytest_syncmap.http.app import Exchange, SyncApp
from pytest_syncmap.http.boundary import GENERATION_HEADER, LateRequest
from pytest_syncmap.http.control import ControlPlane
from pytest_syncmap.http.exchange import Headers
from pytest_syncmap.http.faults import FaultPlan
from pytest_syncmap.http.journal import Journal
from pytest_syncmap.http.twilio_errors import error_body

from .transport import TransportLimits, TransportServer
from .webhooks import WebhookDispatcher
from .wiring import CHILD_ENV, NO_PROXY_NAMES, no_proxy_value

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from twilio.rest import Client

__all__ = ["ACCOUNT_SID", "AUTH_TOKEN", "SyncServer"]

#: Account SID the emulator accepts by default (any ``AC`` + 32 hex would do).
ACCOUNT_SID = "AC" + "5c" * 16
#: Auth token the emulator accepts by default.
AUTH_TOKEN = "syncmap-auth-token"

_log = logging.getLogger("pytest_syncmap.server")

#: The directory a child process gets first on ``PYTHONPATH`` (its ``sitecustomize``).
CHILD_BOOTSTRAP = str(Path(__file__).resolve().parent / "child")


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
        self._default_lag = _lag(expiry_lag)
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
        self.webhooks = WebhookDispatcher(account_sid, auth_token, self.app.journal, choices)
        self.store.listeners.append(self.webhooks.on_event)
        #: Connection bounds and timeouts; change before :meth:`start` to take effect.
        self.limits = TransportLimits()
        self._transport: TransportServer | None = None
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

    # -------------------------------------------------------- test boundary
    #: Seconds :meth:`begin_test` waits for requests of the previous test that are
    #: still being answered (not sleeping in an injected delay) before resetting.
    boundary_wait: float = 2.0

    def begin_test(self, name: str) -> int:
        """Start test ``name``: a new generation, then :meth:`reset`; returns the generation.

        From now on a request of an earlier test (see ``README``, "Test isolation") is
        refused with a Twilio 403 / 20403 without reading or changing anything, and kept
        in :attr:`late_requests`. Requests of the previous test still being answered are
        waited for (at most :attr:`boundary_wait` s) before the state is reset.
        """
        generation, stuck = self.app.gate.advance(name, wait=self.boundary_wait)
        if stuck:
            warnings.warn(
                f"pytest-syncmap: {stuck} request(s) of the previous test were still being "
                f"answered {self.boundary_wait} s after it ended (a when= predicate or a "
                f"canned handler that does not return?); {name} started without them",
                RuntimeWarning,
                stacklevel=2,
            )
        self.reset()
        return generation

    def end_test(self) -> int:
        """End the current test: its requests are refused from now on."""
        generation, _ = self.app.gate.advance(None)
        return generation

    @property
    def generation(self) -> int:
        """The current test generation (see :meth:`begin_test`)."""
        return self.app.gate.generation

    @property
    def current_test(self) -> str | None:
        """The test the emulator serves now (``None`` between tests and outside pytest)."""
        return self.app.gate.label

    @property
    def late_requests(self) -> list[LateRequest]:
        """The last requests refused because their test had ended (oldest first, bounded)."""
        return list(self.app.gate.late)

    # ------------------------------------------------------------ clients
    def client(self) -> Client:
        """An official ``twilio.rest.Client`` wired to this emulator, with its credentials.

        It works whatever ``TWILIO_REGION``, ``TWILIO_EDGE`` or proxy variables say: its
        Sync domain points here, region and edge are cleared, and its HTTP session ignores
        the environment's proxies. Use it for Sync only (other products would reach
        Twilio with the emulator's credentials).
        """
        from twilio.http.http_client import TwilioHttpClient

        http = TwilioHttpClient()
        if http.session is not None:
            http.session.trust_env = False
        return self._wire(http)

    def async_client(self) -> Client:
        """The same as :meth:`client` on aiohttp, for the ``*_async`` methods.

        It opens a short-lived aiohttp session per request, so it works from any event
        loop and needs no closing (aiohttp ignores proxy variables by default).
        """
        from twilio.http.async_http_client import AsyncTwilioHttpClient

        return self._wire(AsyncTwilioHttpClient(pool_connections=False))

    def _wire(self, http_client: Any) -> Client:
        from twilio.rest import Client

        client = Client(self.account_sid, self.auth_token, http_client=http_client)
        client.region = client.edge = None
        client.sync.base_url = self.url
        return client

    def child_env(
        self, base: Mapping[str, str] | None = None, *, bind: bool = True
    ) -> dict[str, str]:
        """Environment for a Python subprocess whose unchanged ``Client()`` reaches here.

        ``base`` (default: this process's environment) plus the emulator's credentials in
        ``TWILIO_ACCOUNT_SID``/``TWILIO_AUTH_TOKEN``, the emulator's host in
        ``NO_PROXY``/``no_proxy``, and a bootstrap first on ``PYTHONPATH`` (a
        ``sitecustomize`` that runs any other one) that redirects the child's twilio
        clients here when it imports twilio. Called while a test runs (and ``bind``),
        the child belongs to that test: its requests after the test ended are refused.
        """
        env = dict(os.environ if base is None else base)
        env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"] = self.auth
        bypass = no_proxy_value(env, self.host)
        for name in NO_PROXY_NAMES:
            env[name] = bypass
        path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = CHILD_BOOTSTRAP + (os.pathsep + path if path else "")
        gate = self.app.gate
        headers = {GENERATION_HEADER: str(gate.generation)} if bind and gate.label else {}
        env[CHILD_ENV] = json.dumps(
            {
                "url": self.url,
                "account_sid": self.account_sid,
                "auth_token": self.auth_token,
                "headers": headers,
            }
        )
        return env

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
        self.store.expiry_lag = _lag(seconds)

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
        """The test boundary, canned answers, then the Sync app (the transport does faults).

        Canned answers are the test's too: only a request of the running test gets one
        (the app refuses the others).
        """
        gate = self.app.gate
        gate.claim(environ)
        try:
            if (self.ordered_handlers or self.oneshot_handlers or self.handlers) and gate.enter(
                environ
            ):
                canned = self._canned(environ)
                if canned is not None:
                    return canned(environ, start_response)
            return self.app(environ, start_response)
        finally:
            gate.release(environ)

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
        if not self.app.gate.current(environ):
            return response  # its test ended while the handler ran: not the next one's
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

    @property
    def transport(self) -> TransportServer | None:
        """The running transport (connection counts, limits), or None when stopped."""
        return self._transport

    def is_running(self) -> bool:
        """Whether the server is serving."""
        return self._transport is not None

    def start(self) -> None:
        """Bind (the OS picks the port when it is 0) and serve in a daemon thread."""
        if self.is_running():
            from pytest_httpserver.httpserver import HTTPServerError

            raise HTTPServerError("Server is already running")
        try:
            transport = TransportServer(
                self.host, self.port, self._wsgi, limits=self.limits, on_error=self._record_error
            )
        except OSError as exc:
            raise OSError(
                exc.errno or errno.EADDRINUSE,
                f"pytest-syncmap cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
            ) from exc
        self._transport = transport
        self.port = transport.port
        self._url = self.url_for("/").rstrip("/")
        self.server_thread = threading.Thread(
            target=self.thread_target, name=f"pytest-syncmap:{self.port}", daemon=True
        )
        self.server_thread.start()

    def thread_target(self) -> None:
        """Serve until :meth:`stop` writes to the wake-up socket; no polling, no timers."""
        assert self._transport is not None
        self._transport.serve()

    def stop(self) -> None:
        """Stop serving, close every connection; returns once the threads have ended."""
        if not self.is_running():
            from pytest_httpserver.httpserver import HTTPServerError

            raise HTTPServerError("Server is not running")
        assert self._transport is not None
        assert self.server_thread is not None
        self._transport.shutdown()
        self.server_thread.join()
        self._transport.close()
        self.webhooks.close()
        self._transport = None
        self.server_thread = None
        self._url = None


def _restore_body(environ: WSGIEnvironment, request: Request) -> None:
    """Give the Sync app back a body that a canned matcher read (``data=`` matchers)."""
    data = getattr(request, "_cached_data", None)
    if data is not None:
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))


def _lag(seconds: float) -> timedelta:
    """An expiry lag: a number of seconds from 0 to a year (the longest TTL)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"expiry_lag must be a number of seconds, not {seconds!r}")
    if not 0 <= seconds <= MAX_TTL:  # NaN fails this too
        if seconds < 0:
            raise ValueError("expiry_lag cannot be negative")
        raise ValueError(f"expiry_lag must be at most {MAX_TTL} seconds (a year), not {seconds}")
    return timedelta(seconds=seconds)
