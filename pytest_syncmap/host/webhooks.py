"""Sync webhooks: a signed, form-encoded POST per Map and item event, in mutation order.

A Service with ``webhook_url`` and ``webhooks_from_rest_enabled`` gets one POST per
event (``SYNC_API.md`` section 4). The store calls :meth:`WebhookDispatcher.on_event`
under its lock, in mutation order; the dispatcher only builds the request and queues
it (bounded), and one worker thread delivers the queue in order, off the request
thread. Like Twilio, it delivers once and never retries; every delivery, failed or
not (receiver down, non-2xx), goes into the request journal.

Parameters. Confirmed by Twilio's webhook docs: ``AccountSid``, ``EventType``,
``Identity`` (``system`` for REST-originated events; ``EndpointId`` is absent for
them) and ``ServiceSid``. Inferred by analogy with the documented List events, since
the Map section of the page could not be read: ``MapSid``, ``MapUniqueName`` (omitted
when the Map has none), ``MapRevision`` on Map events; ``ItemKey``, ``ItemData`` (a
JSON string, omitted on removal as Documents omit theirs), ``ItemRevision`` on item
events; ``EventId`` (the event's sequence number) on every event, so that a receiver
can check the order. Expiry removals (the ``map_item_removed`` and ``map_removed`` that
expiry causes) are delivered too.

Signature. ``X-Twilio-Signature`` is base64(HMAC-SHA1(auth token, URL + each
parameter name and value, sorted by name)), which is what
``twilio.request_validator.RequestValidator`` checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from pytest_syncmap.domain.model import SyncEvent, revision_str
from pytest_syncmap.http.journal import Journal, JournalEntry

__all__ = ["WebhookDispatcher", "compute_signature", "event_params"]

#: Events waiting for delivery; beyond this, new events are dropped (and journalled).
QUEUE_SIZE = 10_000
#: Seconds a delivery may take before it counts as failed.
DELIVERY_TIMEOUT = 5.0


def compute_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature`` for a form POST of ``params`` to ``url``."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def event_params(event: SyncEvent, account_sid: str) -> dict[str, str]:
    """The form parameters of the webhook POST for ``event``."""
    params = {
        "AccountSid": account_sid,
        "ServiceSid": event.service.sid,
        "EventType": event.type,
        "Identity": "system",
        "EventId": str(event.id),
        "MapSid": event.map.sid,
    }
    if event.map.unique_name is not None:
        params["MapUniqueName"] = event.map.unique_name
    if event.type in ("map_created", "map_removed"):
        params["MapRevision"] = revision_str(event.map.revision)
    else:
        params["ItemKey"] = "" if event.item_key is None else str(event.item_key)
        if event.item_data_json is not None:
            params["ItemData"] = event.item_data_json
        if event.item_revision is not None:
            params["ItemRevision"] = revision_str(event.item_revision)
    return params


@dataclass(frozen=True)
class _Delivery:
    generation: int
    event: SyncEvent
    url: str
    params: dict[str, str]


class WebhookDispatcher:
    """Queues webhook deliveries from the store's events and sends them in order."""

    def __init__(self, account_sid: str, auth_token: str, journal: Journal) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.journal = journal
        self._queue: queue.Queue[_Delivery | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._generation = 0
        self._idle = threading.Condition()
        self._pending = 0

    # --------------------------------------------------------------- intake
    def on_event(self, event: SyncEvent) -> None:
        """Store listener: queue a delivery if the event's Service asks for webhooks."""
        service = event.service
        if not service.webhook_url or not service.webhooks_from_rest_enabled:
            return
        delivery = _Delivery(
            self._generation,
            event,
            service.webhook_url,
            event_params(event, self.account_sid),
        )
        self._ensure_worker()
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(delivery)
        except queue.Full:
            self._done()
            self._record(delivery, 0, "dropped: webhook queue full")

    def reset(self) -> None:
        """Forget the previous test's deliveries: queued ones are skipped, not sent, and
        one already on the wire is let finish first, so nothing reaches the next test."""
        self._generation += 1
        if self._thread is not None:
            self.wait_idle(DELIVERY_TIMEOUT + 1)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued delivery is done; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # --------------------------------------------------------------- worker
    def _ensure_worker(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pytest-syncmap:webhooks", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            try:
                if delivery.generation == self._generation:
                    self._deliver(delivery)
            finally:
                self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def _deliver(self, delivery: _Delivery) -> None:
        body = urlencode(delivery.params).encode()
        request = urllib.request.Request(
            delivery.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": compute_signature(
                    self.auth_token, delivery.url, delivery.params
                ),
                "User-Agent": "TwilioProxy/1.1 (pytest-syncmap)",
                "I-Twilio-Idempotency-Token": f"{delivery.event.service.sid}-{delivery.event.id}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT) as response:
                status, error = response.status, None
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"receiver answered {exc.code}"
        except (OSError, ValueError) as exc:
            status, error = 0, f"delivery failed: {exc}"
        self._record(delivery, status, error)

    def _record(self, delivery: _Delivery, status: int, error: str | None) -> None:
        if delivery.generation != self._generation:
            return  # a reset happened meanwhile: this belongs to a finished test
        event = delivery.event
        self.journal.record(
            JournalEntry(
                seq=self.journal.next_seq(),
                method="POST",
                path=delivery.url,
                operation=f"Webhook {event.type}",
                map=event.map.sid,
                key=None if event.item_key is None else str(event.item_key),
                form=delivery.params,
                status=status,
                fault=error,
            )
        )

    def close(self) -> None:
        """Stop the worker after what is queued (used when the server stops)."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout=DELIVERY_TIMEOUT + 1)
        self._thread = None
