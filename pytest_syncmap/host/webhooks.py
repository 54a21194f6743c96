"""Sync webhooks: a signed, form-encoded POST per event of every kind, in mutation order.

A Service with ``webhook_url`` and ``webhooks_from_rest_enabled`` gets one POST per
event (``SYNC_API.md`` section 4, ``SYNC_OTHER.md`` section 4). The store calls
:meth:`WebhookDispatcher.on_event` under its lock, in mutation order; the dispatcher
only builds the request and queues it (bounded), and one worker thread delivers the
queue in order, off the request thread. Like Twilio, it delivers once and never
retries; every delivery, failed or not (receiver down, non-2xx, a URL it cannot reach,
a receiver that does not speak HTTP, a timeout), goes into the request journal.

Nothing here can die or block a test. Each delivery's errors, of any kind, are caught
and journalled, so the worker lives on. Deliveries go straight to the receiver with
``http.client``: proxy variables (``HTTP_PROXY``...) never divert them. A reset
(between two tests) and :meth:`WebhookDispatcher.close` (server stop) never wait for
the receiver: the queue of the finished test is abandoned with its worker (queued
deliveries are skipped; one already on the wire gets :data:`GRACE` seconds to finish,
then its connection is cut; neither is journalled), and the next test's deliveries
start on a fresh worker at once. A receiver may therefore still get the request that
was on the wire; the plugin's own receiver refuses those (a URL per test).

Events. ``map_created``, ``map_removed``, ``map_item_added``/``_updated``/``_removed``;
``document_created``/``_updated``/``_removed``; ``list_created``, ``list_removed``,
``list_item_added``/``_updated``/``_removed``; expiry's removals included. A List TTL
change and permission writes send nothing (no such event exists). Streams send nothing
unless ``choices.stream_webhooks`` (SYNC_OTHER Q13): then ``stream_message_published``
and ``stream_removed``, modelled on the client SDK's notifications.

Parameters. Confirmed by Twilio's webhook docs: ``AccountSid``, ``EventType``,
``Identity`` (``system`` for REST-originated events; ``EndpointId`` is absent for
them) and ``ServiceSid``; ``DocumentSid``, ``DocumentUniqueName``,
``DocumentRevision``, ``DocumentData`` on Document events (no data on removal);
``ListSid``, ``ListUniqueName``, ``ListRevision`` on List events; ``ListSid``,
``ListUniqueName``, ``ItemIndex``, ``ItemData``, ``EventId`` on List item events.
Inferred (SYNC_OTHER Q14): ``ItemRevision`` on item events, and neither ``ItemData``
nor ``ItemRevision`` on removals. By analogy with the documented List events, since
the Map section of the page could not be read: ``MapSid``, ``MapUniqueName``,
``MapRevision`` on Map events, ``ItemKey``, ``ItemData`` and ``ItemRevision`` on Map
item events. ``StreamSid``, ``StreamUniqueName``, ``MessageSid``, ``MessageData`` on
Stream events, by choice. A unique name is omitted when the object has none; ``...Data``
is the JSON text; revisions are the strings the REST API shows (SYNC_OTHER Q15);
``EventId`` (the event's sequence number, per emulator) is on every event, so that a
receiver can check the order.

Signature. ``X-Twilio-Signature`` is base64(HMAC-SHA1(auth token, URL + each
parameter name and value, sorted by name)), which is what
``twilio.request_validator.RequestValidator`` checks.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import logging
import queue
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from pytest_syncmap.domain.choices import DEFAULT_CHOICES, Choices
from pytest_syncmap.domain.model import SyncEvent, revision_str
from pytest_syncmap.http.journal import Journal, JournalEntry

__all__ = ["STREAM_EVENTS", "WebhookDispatcher", "compute_signature", "event_params", "is_sent"]

_log = logging.getLogger("pytest_syncmap.webhooks")

#: Events waiting for delivery; beyond this, new events are dropped (and journalled).
QUEUE_SIZE = 10_000
#: Seconds a delivery may take (connect, send, answer) before it counts as failed.
DELIVERY_TIMEOUT = 5.0
#: Seconds a reset or stop lets a delivery already on the wire finish (a receiver that
#: answers at once is not cut off mid-request) before it cuts the connection.
GRACE = 0.1
#: Seconds :meth:`WebhookDispatcher.close` then lets the abandoned worker end; it is
#: a daemon thread, so one still blocked after that never holds anything up.
CLOSE_WAIT = 0.2
#: Most bytes of a receiver's answer read (and thrown away).
_MAX_ANSWER = 64 * 1024


def compute_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature`` for a form POST of ``params`` to ``url``."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


#: Stream events sent when ``choices.stream_webhooks`` is on (never ``stream_created``:
#: the client SDK's notifications, which they are modelled on, have none).
STREAM_EVENTS = frozenset({"stream_message_published", "stream_removed"})


def is_sent(event: SyncEvent, choices: Choices = DEFAULT_CHOICES) -> bool:
    """Whether ``event`` is delivered as a webhook at all (Stream events only by choice)."""
    if event.kind == "stream":
        return choices.stream_webhooks and event.type in STREAM_EVENTS
    return True


def event_params(event: SyncEvent, account_sid: str) -> dict[str, str]:
    """The form parameters of the webhook POST for ``event``.

    The object's parameters are named after its kind (``MapSid``, ``ListSid``,
    ``DocumentSid``, ``StreamSid``; ``...UniqueName`` when it has one); object events
    carry its revision (``MapRevision``...; a Stream has none) and a Document's its
    data (``DocumentData``, not on removal); item events the item (``ItemKey`` of a
    Map item, ``ItemIndex`` of a List item, ``ItemData`` and ``ItemRevision``, not on
    removal); a published message ``MessageSid`` and ``MessageData``.
    """
    record = event.object
    name = event.kind.capitalize()
    params = {
        "AccountSid": account_sid,
        "ServiceSid": event.service.sid,
        "EventType": event.type,
        "Identity": "system",
        "EventId": str(event.id),
        f"{name}Sid": record.sid,
    }
    if record.unique_name is not None:
        params[f"{name}UniqueName"] = record.unique_name
    if event.message is not None:
        params["MessageSid"] = event.message.sid
        params["MessageData"] = event.message.data_json
    elif "_item_" in event.type:
        item = event.item_key
        if isinstance(item, int):
            params["ItemIndex"] = str(item)
        else:
            params["ItemKey"] = "" if item is None else item
        if event.item_data_json is not None:
            params["ItemData"] = event.item_data_json
        if event.item_revision is not None:
            params["ItemRevision"] = revision_str(event.item_revision)
    elif event.kind != "stream":
        params[f"{name}Revision"] = revision_str(record.revision)
        data_json = getattr(record, "data_json", None)
        if isinstance(data_json, str) and not event.type.endswith("_removed"):
            params[f"{name}Data"] = data_json
    return params


@dataclass(frozen=True)
class _Delivery:
    generation: int
    event: SyncEvent
    url: str
    params: dict[str, str]


class _Worker:
    """One delivery thread and its queue, for one test (one generation) at a time.

    A reset abandons a busy worker wholesale: what it has queued is never sent, the
    connection it has open is shut down, and its thread ends by itself.
    """

    def __init__(self, dispatcher: WebhookDispatcher) -> None:
        self.dispatcher = dispatcher
        self.queue: queue.Queue[_Delivery | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self.idle = threading.Condition()
        self.pending = 0
        #: Whether a delivery is being made right now.
        self.busy = False
        self.abandoned = False
        self._socket: socket.socket | None = None
        self.thread = threading.Thread(
            target=self._run, name="pytest-syncmap:webhooks", daemon=True
        )
        self.thread.start()

    # ------------------------------------------------------------- intake
    def submit(self, delivery: _Delivery) -> bool:
        """Queue ``delivery``; ``False`` when the queue is full."""
        with self.idle:
            self.pending += 1
        try:
            self.queue.put_nowait(delivery)
        except queue.Full:
            self._done()
            return False
        return True

    def is_idle(self) -> bool:
        """Whether nothing is queued or on the wire."""
        with self.idle:
            return self.pending == 0

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or on the wire; ``False`` on timeout."""
        with self.idle:
            return self.idle.wait_for(lambda: self.pending == 0 or self.abandoned, timeout)

    def abandon(self) -> None:
        """Stop delivering: skip the queue; the delivery on the wire gets :data:`GRACE`
        seconds to finish, then its connection is cut."""
        with self.idle:
            self.abandoned = True
            self.idle.notify_all()
        # Wakes a worker waiting for work; a full queue means it is not waiting, and it
        # checks ``abandoned`` before each delivery.
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)
        with self.idle:
            self.idle.wait_for(lambda: not self.busy, GRACE)
        _cut(self._socket)

    # ------------------------------------------------------------- thread
    def _run(self) -> None:
        while True:
            delivery = self.queue.get()
            with self.idle:
                if delivery is None or self.abandoned:
                    return
                self.busy = True
            try:
                self.dispatcher._deliver(delivery, self)
            except Exception:  # pragma: no cover - _deliver journals its own errors
                _log.exception("webhook delivery failed outside the delivery itself")
            finally:
                self._done(delivered=True)

    def _done(self, delivered: bool = False) -> None:
        with self.idle:
            self.pending -= 1
            if delivered:
                self.busy = False
            if self.pending == 0 or delivered:
                self.idle.notify_all()

    def connected(self, sock: socket.socket | None) -> None:
        """The delivery on the wire uses ``sock`` (``None`` once it is closed)."""
        self._socket = sock
        if self.abandoned:
            _cut(sock)


class WebhookDispatcher:
    """Queues webhook deliveries from the store's events and sends them in order."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        journal: Journal,
        choices: Choices = DEFAULT_CHOICES,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.journal = journal
        #: Decides whether Stream events are sent (``stream_webhooks``).
        self.choices = choices
        self._lock = threading.Lock()
        self._generation = 0
        self._worker: _Worker | None = None

    # --------------------------------------------------------------- intake
    def on_event(self, event: SyncEvent) -> None:
        """Store listener: queue a delivery if the event's Service asks for webhooks.

        Runs under the store's lock, so it never blocks and never raises.
        """
        service = event.service
        if not service.webhook_url or not service.webhooks_from_rest_enabled:
            return
        if not is_sent(event, self.choices):
            return
        with self._lock:
            generation = self._generation
            worker = self._worker
            if worker is None or worker.abandoned:
                worker = self._worker = _Worker(self)
        delivery = _Delivery(generation, event, service.webhook_url, {})
        try:
            params = event_params(event, self.account_sid)
            delivery = _Delivery(generation, event, service.webhook_url, params)
            queued = worker.submit(delivery)
            error = None if queued else "dropped: webhook queue full"
        except Exception as exc:  # never let a webhook break the write that caused it
            error = f"dropped: {type(exc).__name__}: {exc}"
        if error is not None:
            self._record(delivery, 0, error)

    def reset(self) -> None:
        """Forget the previous test's deliveries without waiting for any of them.

        Queued deliveries are skipped; one on the wire gets :data:`GRACE` seconds, then
        is cut off; none is journalled. An idle worker is kept for the next test.
        """
        with self._lock:
            self._generation += 1
            worker = self._worker
            if worker is None:
                return
            if worker.is_idle():
                return  # nothing of the finished test is queued: keep it
            self._worker = None
        worker.abandon()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued delivery of this test is done; False on timeout."""
        worker = self._worker
        return True if worker is None else worker.wait_idle(timeout)

    def close(self) -> None:
        """Stop delivering (the server stops): abandon what is queued, in well under 1 s."""
        with self._lock:
            self._generation += 1
            worker, self._worker = self._worker, None
        if worker is None:
            return
        worker.abandon()
        worker.thread.join(CLOSE_WAIT)

    # --------------------------------------------------------------- worker
    def _deliver(self, delivery: _Delivery, worker: _Worker) -> None:
        if delivery.generation != self._generation:
            return  # queued by a test that has ended
        body = urlencode(delivery.params).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": compute_signature(self.auth_token, delivery.url, delivery.params),
            "User-Agent": "TwilioProxy/1.1 (pytest-syncmap)",
            "I-Twilio-Idempotency-Token": f"{delivery.event.service.sid}-{delivery.event.id}",
        }
        error: str | None
        try:
            status = _post(delivery.url, body, headers, worker.connected)
        except Exception as exc:  # any failure of this one delivery, never the worker's
            status, error = 0, f"delivery failed: {_describe(exc)}"
        else:
            error = None if 200 <= status < 300 else f"receiver answered {status}"
        self._record(delivery, status, error)

    def _record(self, delivery: _Delivery, status: int, error: str | None) -> None:
        if delivery.generation != self._generation:
            return  # a reset happened meanwhile: this belongs to a finished test
        event = delivery.event
        item = event.item_key
        self.journal.record(
            JournalEntry(
                seq=self.journal.next_seq(),
                method="POST",
                path=delivery.url,
                operation=f"Webhook {event.type}",
                key=item if isinstance(item, str) else None,
                index=item if isinstance(item, int) else None,
                form=delivery.params,
                status=status,
                fault=error,
                service=event.service.sid,
                kind=event.kind,
                object=event.object.sid,
                object_sid=event.object.sid,
                object_name=event.object.unique_name,
            )
        )


def _post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    on_socket: Callable[[socket.socket | None], None],
) -> int:
    """POST ``body`` to ``url`` directly (never through a proxy); the answer's status."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"{url!r} is not an http(s) URL")
    host = parts.hostname
    if not host:
        raise ValueError(f"{url!r} has no host")
    port = parts.port  # ValueError for ':abc' or out of range
    connection_class = (
        http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(host, port, timeout=DELIVERY_TIMEOUT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.connect()
        on_socket(connection.sock)
        connection.request("POST", target, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read(_MAX_ANSWER)
        return response.status
    finally:
        on_socket(None)
        connection.close()


def _cut(sock: socket.socket | None) -> None:
    """Shut a connection down from another thread, so a blocked read returns at once."""
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, http.client.HTTPException) and not isinstance(exc, OSError):
        return (
            f"the receiver did not answer HTTP ({type(exc).__name__}: {text or 'no status line'})"
        )
    if isinstance(exc, TimeoutError):
        return f"no answer within {DELIVERY_TIMEOUT:g} s"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
