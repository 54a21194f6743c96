"""A webhook receiver for tests: records the Sync webhooks the emulator delivers.

It runs on a pytest-httpserver server (one per session) and keeps what arrives in
order, with the signature header and the URL it was posted to, so a test can wait for
events without sleeping, check their order and types, and validate signatures the way
its own handler would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from pytest_syncmap.host.webhooks import compute_signature

__all__ = ["ReceivedWebhook", "WebhookReceiver"]

#: Path the receiver listens on.
WEBHOOK_PATH = "/sync-webhooks"


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


class WebhookReceiver:
    """Collects webhooks posted to :attr:`url`; answers with :attr:`status`."""

    def __init__(self, server: HTTPServer) -> None:
        self.httpserver = server
        #: HTTP status the receiver answers with (set e.g. 500 to test failures).
        self.status = 200
        self._received: list[ReceivedWebhook] = []
        self._condition = threading.Condition()
        server.expect_request(WEBHOOK_PATH, method="POST").respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        """Where to point a Service's ``webhook_url``."""
        return self.httpserver.url_for(WEBHOOK_PATH)

    def _handle(self, request: Request) -> Response:
        webhook = ReceivedWebhook(
            url=request.url,
            params=dict(request.form.items()),
            signature=request.headers.get("X-Twilio-Signature"),
            headers=dict(request.headers.items()),
        )
        with self._condition:
            self._received.append(webhook)
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
