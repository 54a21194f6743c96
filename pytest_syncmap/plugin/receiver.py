"""A webhook receiver for tests: records the Sync webhooks the emulator delivers.

It runs on a pytest-httpserver server (one per session) and keeps what arrives in
order, with the signature header and the URL it was posted to, so a test can wait for
events without sleeping, check their order and types, and validate signatures the way
its own handler would.

Each test gets its own URL (:meth:`WebhookReceiver.begin_test`): a delivery that an
earlier test queued and that arrives late is answered 410 and never recorded, so it
cannot show up among the next test's events. The server stops at once (a wake-up
socket, not pytest-httpserver's 0.5 s shutdown poll), so it adds nothing to the end
of a session.
"""

from __future__ import annotations

import re
import selectors
import socket
import threading
from dataclasses import dataclass, field

from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import HTTPServerError
from werkzeug.wrappers import Request, Response

from pytest_syncmap.host.webhooks import compute_signature

__all__ = ["ReceivedWebhook", "WebhookReceiver"]

#: Path the receiver listens under (each test gets ``WEBHOOK_PATH/<n>``).
WEBHOOK_PATH = "/sync-webhooks"
_ANY_WEBHOOK_PATH = re.compile(rf"^{WEBHOOK_PATH}(/.*)?$")


@dataclass(frozen=True)
class ReceivedWebhook:
    """One webhook POST as it arrived."""

    url: str
    params: dict[str, str]
    signature: str | None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        """The ``EventType`` parameter."""
        return self.params.get("EventType", "")

    def is_valid(self, auth_token: str) -> bool:
        """Whether ``X-Twilio-Signature`` matches, computed with ``auth_token``."""
        expected = compute_signature(auth_token, self.url, self.params)
        return self.signature is not None and self.signature == expected


class _ReceiverServer(HTTPServer):
    """pytest-httpserver's server with a serve loop that a stop wakes at once.

    ``socketserver`` polls its shutdown flag every 0.5 s; this loop waits on the
    listening socket and a wake-up socket pair, so :meth:`stop` costs a thread join.
    """

    _wake: tuple[socket.socket, socket.socket] | None = None

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._wake = socket.socketpair()
        super().start()

    def thread_target(self) -> None:
        """Serve until :meth:`stop` writes to the wake-up socket."""
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
        """Stop serving; returns once the thread has ended (no poll interval)."""
        if not self.is_running() or self._wake is None:
            raise HTTPServerError("Server is not running")
        assert self.server is not None
        assert self.server_thread is not None
        self._wake[1].send(b"x")
        self.server_thread.join()
        self.server.server_close()
        for sock in self._wake:
            sock.close()
        self._wake = None
        self.server = None
        self.server_thread = None


class WebhookReceiver:
    """Collects webhooks posted to :attr:`url`; answers with :attr:`status`."""

    def __init__(self, server: HTTPServer) -> None:
        self.httpserver = server
        #: HTTP status the receiver answers with (set e.g. 500 to test failures).
        self.status = 200
        self._received: list[ReceivedWebhook] = []
        self._condition = threading.Condition()
        self._path = f"{WEBHOOK_PATH}/1"
        self._tests = 1
        server.expect_request(_ANY_WEBHOOK_PATH, method="POST").respond_with_handler(self._handle)

    @classmethod
    def start(cls, host: str = "127.0.0.1") -> WebhookReceiver:
        """A receiver on its own running server (port chosen by the OS); :meth:`stop` it."""
        server = _ReceiverServer(host, 0, threaded=True)
        server.start()
        return cls(server)

    def stop(self) -> None:
        """Stop the receiver's server."""
        self.httpserver.stop()

    @property
    def url(self) -> str:
        """Where to point a Service's ``webhook_url`` (this test's own address)."""
        return self.httpserver.url_for(self._path)

    def begin_test(self) -> None:
        """Forget what was received and take a new :attr:`url` for the next test.

        Deliveries still addressed to an earlier URL are answered 410 and not recorded.
        """
        with self._condition:
            self._tests += 1
            self._path = f"{WEBHOOK_PATH}/{self._tests}"
            self._received.clear()
        self.status = 200

    def _handle(self, request: Request) -> Response:
        with self._condition:
            if request.path != self._path:
                return Response("", status=410)  # for a test that has ended
            self._received.append(
                ReceivedWebhook(
                    url=request.url,
                    params=dict(request.form.items()),
                    signature=request.headers.get("X-Twilio-Signature"),
                    headers=dict(request.headers.items()),
                )
            )
            self._condition.notify_all()
        return Response("", status=self.status)

    # ------------------------------------------------------------------ reads
    @property
    def received(self) -> list[ReceivedWebhook]:
        """Every webhook received since the last :meth:`clear`, in arrival order."""
        with self._condition:
            return list(self._received)

    @property
    def events(self) -> list[dict[str, str]]:
        """The parameters of every webhook received, in arrival order."""
        return [w.params for w in self.received]

    @property
    def types(self) -> list[str]:
        """The ``EventType`` of every webhook received, in arrival order."""
        return [w.type for w in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        """Block until at least ``count`` webhooks arrived (no polling); return them all.

        Fails the test, listing what did arrive, if they have not come within
        ``timeout`` seconds of real time.
        """
        __tracebackhide__ = True
        with self._condition:
            arrived = self._condition.wait_for(lambda: len(self._received) >= count, timeout)
            got = [w.type for w in self._received]
        if not arrived:
            raise AssertionError(
                f"expected {count} webhook(s) within {timeout} s, got {len(got)}: {got}"
            )
        return self.events

    # ------------------------------------------------------------- assertions
    def assert_types(self, *expected: str) -> None:
        """The received event types are exactly ``expected``, in that order."""
        __tracebackhide__ = True
        got = self.types
        if got != list(expected):
            raise AssertionError(f"expected webhooks {list(expected)}, received {got}")

    def assert_signed(self, auth_token: str) -> None:
        """Every received webhook carries a valid ``X-Twilio-Signature``."""
        __tracebackhide__ = True
        bad = [w for w in self.received if not w.is_valid(auth_token)]
        if bad:
            raise AssertionError(
                f"{len(bad)} of {len(self.received)} webhook(s) have an invalid "
                f"X-Twilio-Signature, first: {bad[0].type} {bad[0].params}"
            )

    def clear(self) -> None:
        """Forget what was received and answer 200 again."""
        with self._condition:
            self._received.clear()
        self.status = 200
