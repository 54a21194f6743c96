"""Sync webhooks, seen end to end: official client writes -> signed POSTs to a receiver.

Every write goes through the official ``twilio`` client (or, for bulk, the ``sync_map``
handle), and every webhook is checked as a receiving application would: parameters,
order (``EventId``), and ``X-Twilio-Signature`` with twilio's own ``RequestValidator``.
"""

from __future__ import annotations

import http.server
import itertools
import json
import socket
import threading
import time

import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

ITEM_EVENTS = ("map_item_added", "map_item_updated", "map_item_removed")
MAP_EVENTS = ("map_created", "map_removed")


def _event_ids(events):
    return [int(e["EventId"]) for e in events]


def _assert_strictly_increasing(values, what):
    assert all(a < b for a, b in itertools.pairwise(values)), f"{what} not increasing: {values}"


def _check_common(event, sync_server, service_sid, map_sid, unique_name):
    """The parameters every Sync webhook of a REST-originated event carries."""
    assert event["AccountSid"] == sync_server.account_sid
    assert event["ServiceSid"] == service_sid
    assert event["Identity"] == "system"
    assert "EndpointId" not in event
    assert event["EventId"].isdigit()
    assert event["MapSid"] == map_sid
    if unique_name is None:
        assert "MapUniqueName" not in event
    else:
        assert event["MapUniqueName"] == unique_name


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, read back, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _webhook_entries(sync_server, service_sids=None):
    """Webhook deliveries in the journal, optionally only those of the given Services.

    Filtering by Service keeps these checks about the current test's own Services, even
    though a reset now waits for an in-flight delivery and drops it from the journal.
    """
    return [
        e
        for e in sync_server.journal.entries
        if (e.operation or "").startswith("Webhook")
        and (service_sids is None or e.form.get("ServiceSid") in service_sids)
    ]


# ------------------------------------------------------------------ events
def test_item_and_map_events_in_mutation_order_with_documented_params(
    sync_webhooks, sync_service, sync_server, twilio_client
):
    service = twilio_client.sync.v1.services(sync_service.sid)
    created = service.sync_maps.create(unique_name="orders")
    sync_map = service.sync_maps(created.sid)
    added = sync_map.sync_map_items.create(key="a", data={"n": 1, "s": "é"})
    updated = sync_map.sync_map_items("a").update(data={"n": 2})
    other = sync_map.sync_map_items.create(key="b", data={"list": [1, 2]})
    sync_map.sync_map_items("a").delete()
    revision_before_delete = sync_map.fetch().revision
    sync_map.delete()

    events = sync_webhooks.wait_for(6)
    assert sync_server.webhooks.wait_idle()
    sync_webhooks.assert_types(
        "map_created",
        "map_item_added",
        "map_item_updated",
        "map_item_added",
        "map_item_removed",
        "map_removed",
    )
    assert len(sync_webhooks.received) == 6
    _assert_strictly_increasing(_event_ids(events), "EventId")
    for event in events:
        _check_common(event, sync_server, sync_service.sid, created.sid, "orders")

    created_ev, added_ev, updated_ev, other_ev, removed_ev, map_removed_ev = events
    # Map events: MapRevision, no item parameters.
    assert created_ev["MapRevision"] == created.revision
    assert map_removed_ev["MapRevision"] == revision_before_delete
    for event in (created_ev, map_removed_ev):
        assert not {"ItemKey", "ItemData", "ItemRevision"} & set(event)

    # Item events: ItemKey, ItemData as a JSON string, ItemRevision = the item's revision.
    for event, item in ((added_ev, added), (updated_ev, updated), (other_ev, other)):
        assert event["ItemKey"] == item.key
        assert json.loads(event["ItemData"]) == item.data
        assert event["ItemRevision"] == item.revision
        assert "MapRevision" not in event
    assert json.loads(updated_ev["ItemData"]) == {"n": 2}
    assert json.loads(added_ev["ItemData"]) == {"n": 1, "s": "é"}

    # Removal: the key, no data (Documents omit theirs; SYNC_API.md section 4).
    assert removed_ev["ItemKey"] == "a"
    assert "ItemData" not in removed_ev
    assert "ItemRevision" not in removed_ev


def test_map_without_unique_name_has_no_MapUniqueName(
    sync_webhooks, sync_service, sync_server, twilio_client
):
    service = twilio_client.sync.v1.services(sync_service.sid)
    created = service.sync_maps.create()
    service.sync_maps(created.sid).sync_map_items.create(key="k", data={})
    events = sync_webhooks.wait_for(2)
    sync_webhooks.assert_types("map_created", "map_item_added")
    for event in events:
        _check_common(event, sync_server, sync_service.sid, created.sid, None)
    assert json.loads(events[1]["ItemData"]) == {}


def test_second_map_created_via_client_is_delivered(
    sync_webhooks, sync_map, sync_server, twilio_client
):
    # The fixture Map may or may not have produced a map_created (fixture order);
    # let it settle and start counting from here.
    assert sync_server.webhooks.wait_idle()
    before = len(sync_webhooks.received)
    second = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps.create(
        unique_name="second"
    )
    events = sync_webhooks.wait_for(before + 1)
    assert sync_server.webhooks.wait_idle()
    assert len(sync_webhooks.received) == before + 1
    event = events[-1]
    assert event["EventType"] == "map_created"
    _check_common(event, sync_server, sync_map.service_sid, second.sid, "second")
    assert event["MapRevision"] == second.revision == "0"


def test_item_expiry_is_delivered(sync_clock, sync_webhooks, sync_service, twilio_client):
    service = twilio_client.sync.v1.services(sync_service.sid)
    created = service.sync_maps.create(unique_name="ttl-items")
    items = service.sync_maps(created.sid).sync_map_items
    items.create(key="short", data={"v": 1}, ttl=60)
    items.create(key="long", data={"v": 2}, ttl=600)
    sync_webhooks.wait_for(3)

    sync_clock.advance(seconds=59)
    items("short").fetch()  # still there: no event yet
    sync_clock.advance(seconds=2)

    events = sync_webhooks.wait_for(4)
    sync_webhooks.assert_types(
        "map_created", "map_item_added", "map_item_added", "map_item_removed"
    )
    expired = events[-1]
    assert expired["ItemKey"] == "short"
    assert expired["MapSid"] == created.sid
    assert expired["MapUniqueName"] == "ttl-items"
    assert expired["Identity"] == "system"
    assert "ItemData" not in expired
    _assert_strictly_increasing(_event_ids(events), "EventId")
    assert [item.key for item in items.list()] == ["long"]


def test_map_expiry_is_delivered(sync_clock, sync_webhooks, sync_service, twilio_client):
    service = twilio_client.sync.v1.services(sync_service.sid)
    created = service.sync_maps.create(unique_name="ttl-map", ttl=30)
    service.sync_maps(created.sid).sync_map_items.create(key="k", data={"v": 1})
    revision = service.sync_maps(created.sid).fetch().revision
    sync_webhooks.wait_for(2)

    sync_clock.advance(seconds=31)

    events = sync_webhooks.wait_for(3)
    sync_webhooks.assert_types("map_created", "map_item_added", "map_removed")
    removed = events[-1]
    assert removed["MapSid"] == created.sid
    assert removed["MapUniqueName"] == "ttl-map"
    assert removed["MapRevision"] == revision
    assert "ItemKey" not in removed
    _assert_strictly_increasing(_event_ids(events), "EventId")


# -------------------------------------------------------------- signatures
def test_every_signature_validates_with_twilio_request_validator(
    sync_webhooks, sync_service, sync_server, twilio_client
):
    service = twilio_client.sync.v1.services(sync_service.sid)
    created = service.sync_maps.create(unique_name="signed map & more")
    items = service.sync_maps(created.sid).sync_map_items
    items.create(key="key with spaces/ünïcode", data={"quote": "a\"b'c", "amp": "x&y=z"})
    items("key with spaces/ünïcode").update(data={"n": None})
    items("key with spaces/ünïcode").delete()
    sync_webhooks.wait_for(4)

    good = RequestValidator(sync_server.auth_token)
    wrong = RequestValidator(sync_server.auth_token + "x")
    for hook in sync_webhooks.received:
        assert hook.signature
        # The URL the receiver saw and the URL configured on the Service both validate.
        assert good.validate(hook.url, hook.params, hook.signature), hook.params
        assert good.validate(sync_webhooks.url, hook.params, hook.signature)
        assert hook.is_valid(sync_server.auth_token)
        assert not wrong.validate(hook.url, hook.params, hook.signature)
        assert not hook.is_valid("not-the-token")
        tampered = {**hook.params, "EventType": "map_removed" + "x"}
        assert not good.validate(hook.url, tampered, hook.signature)
        assert hook.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
    sync_webhooks.assert_signed(sync_server.auth_token)
    with pytest.raises(AssertionError, match="invalid X-Twilio-Signature"):
        sync_webhooks.assert_signed("wrong-token")


# ------------------------------------------------------------- no webhooks
def test_no_webhooks_without_rest_flag_or_url(sync_webhooks, sync_server, twilio_client):
    services = twilio_client.sync.v1.services
    flag_off = services.create(friendly_name="flag off", webhook_url=sync_webhooks.url)
    assert flag_off.webhooks_from_rest_enabled is False
    flag_false = services.create(
        friendly_name="flag false",
        webhook_url=sync_webhooks.url,
        webhooks_from_rest_enabled=False,
    )
    no_url = services.create(friendly_name="no url", webhooks_from_rest_enabled=True)
    assert no_url.webhook_url is None
    for svc in (flag_off, flag_false, no_url):
        m = services(svc.sid).sync_maps.create(unique_name="m")
        items = services(svc.sid).sync_maps(m.sid).sync_map_items
        items.create(key="k", data={"v": 1})
        items("k").update(data={"v": 2})
        items("k").delete()
        services(svc.sid).sync_maps(m.sid).delete()
    assert sync_server.webhooks.wait_idle()
    assert sync_webhooks.received == []
    assert _webhook_entries(sync_server, {flag_off.sid, flag_false.sid, no_url.sid}) == []

    # Positive control: a Service with both settings does deliver, and only its events
    # arrive (the dispatcher keeps order, so anything queued earlier would come first).
    on = services.create(
        friendly_name="on", webhook_url=sync_webhooks.url, webhooks_from_rest_enabled=True
    )
    control = services(on.sid).sync_maps.create()
    events = sync_webhooks.wait_for(1)
    assert sync_server.webhooks.wait_idle()
    assert [(e["EventType"], e["ServiceSid"], e["MapSid"]) for e in sync_webhooks.events] == [
        ("map_created", on.sid, control.sid)
    ]
    assert events[0]["AccountSid"] == sync_server.account_sid


def test_turning_the_rest_flag_off_stops_deliveries(
    sync_webhooks, sync_service, sync_server, twilio_client
):
    service = twilio_client.sync.v1.services(sync_service.sid)
    created = service.sync_maps.create()
    items = service.sync_maps(created.sid).sync_map_items
    items.create(key="before", data={})
    sync_webhooks.wait_for(2)
    service.update(webhooks_from_rest_enabled=False)
    items.create(key="after", data={})
    assert sync_server.webhooks.wait_idle()
    sync_webhooks.assert_types("map_created", "map_item_added")
    service.update(webhooks_from_rest_enabled=True)
    items("after").update(data={"x": 1})
    events = sync_webhooks.wait_for(3)
    assert events[-1]["EventType"] == "map_item_updated"
    assert events[-1]["ItemKey"] == "after"


# ------------------------------------------------------------- failures
def test_receiver_answering_500_is_journalled_and_not_retried(
    sync_webhooks, sync_service, sync_server, twilio_client
):
    service = twilio_client.sync.v1.services(sync_service.sid)
    created = service.sync_maps.create()
    sync_webhooks.wait_for(1)
    assert sync_server.webhooks.wait_idle()

    sync_webhooks.status = 500
    item = service.sync_maps(created.sid).sync_map_items.create(key="k", data={"v": 1})
    assert item.key == "k"  # the write itself is unaffected
    sync_webhooks.wait_for(2)
    assert sync_server.webhooks.wait_idle()

    sync_webhooks.status = 200
    service.sync_maps(created.sid).sync_map_items("k").update(data={"v": 2})
    events = sync_webhooks.wait_for(3)
    assert sync_server.webhooks.wait_idle()
    # Exactly once each: no retry of the failed delivery, before or after the next one.
    assert [e["EventType"] for e in events] == [
        "map_created",
        "map_item_added",
        "map_item_updated",
    ]
    assert len(set(_event_ids(events))) == 3

    entries = _webhook_entries(sync_server, {sync_service.sid})
    assert [(e.operation, e.status) for e in entries] == [
        ("Webhook map_created", 200),
        ("Webhook map_item_added", 500),
        ("Webhook map_item_updated", 200),
    ]
    failed = entries[1]
    assert failed.method == "POST"
    assert failed.path == sync_webhooks.url
    assert failed.fault is not None
    assert "500" in failed.fault
    assert failed.key == "k"
    assert failed.map == created.sid
    assert failed.form["EventType"] == "map_item_added"
    assert entries[0].fault is None
    assert entries[2].fault is None
    assert not entries[1].ok


def test_receiver_down_is_journalled_with_status_0_once(sync_server, twilio_client):
    url = f"http://127.0.0.1:{_closed_port()}/sync-hook"
    services = twilio_client.sync.v1.services
    svc = services.create(webhook_url=url, webhooks_from_rest_enabled=True)
    created = services(svc.sid).sync_maps.create(unique_name="m")
    services(svc.sid).sync_maps(created.sid).sync_map_items.create(key="k", data={"v": 1})
    assert sync_server.webhooks.wait_idle()

    entries = _webhook_entries(sync_server, {svc.sid})
    assert [(e.operation, e.status) for e in entries] == [
        ("Webhook map_created", 0),
        ("Webhook map_item_added", 0),
    ]
    for entry in entries:
        assert entry.path == url
        assert entry.fault is not None
        assert entry.fault.startswith("delivery failed")
        assert entry.map == created.sid
    # The API answers were unaffected by the failed deliveries.
    api = [e for e in sync_server.journal.entries if not (e.operation or "").startswith("Webhook")]
    assert [e.status for e in api] == [201, 201, 201]


# ------------------------------------------------------------- volume/order
def test_1000_concurrent_writes_arrive_complete_and_in_mutation_order(
    sync_webhooks, sync_map, sync_server
):
    assert sync_server.webhooks.wait_idle()
    baseline = len(sync_webhooks.received)
    threads_n, per_thread, client_writes = 4, 250, 10
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def writer(t: int) -> None:
        try:
            client = Client(sync_server.account_sid, sync_server.auth_token)
            client.region = client.edge = None
            client.sync.base_url = sync_server.url
            items = client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
            start.wait()
            for j in range(per_thread - client_writes):
                sync_map.put(f"t{t}-{j % 7}", {"t": t, "j": j})
            for j in range(client_writes):
                key = f"t{t}-client-{j % 3}"
                if j < 3:
                    items.sync_map_items.create(key=key, data={"t": t, "c": j})
                else:
                    items.sync_map_items(key).update(data={"t": t, "c": j})
        except BaseException as exc:  # reported on the test thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    total = threads_n * per_thread

    events = sync_webhooks.wait_for(baseline + total, timeout=20)[baseline:]
    assert sync_server.webhooks.wait_idle()
    assert len(sync_webhooks.received) == baseline + total
    assert all(e["EventType"] in ("map_item_added", "map_item_updated") for e in events)
    assert all(e["MapSid"] == sync_map.sid for e in events)
    _assert_strictly_increasing(_event_ids(events), "EventId")
    # Every write bumps the Map revision, so ItemRevision increases across the Map too.
    _assert_strictly_increasing([int(e["ItemRevision"], 16) for e in events], "ItemRevision")
    per_key: dict[str, list[dict[str, str]]] = {}
    for event in events:
        per_key.setdefault(event["ItemKey"], []).append(event)
    assert len(per_key) == threads_n * (7 + 3)
    for key, key_events in per_key.items():
        assert key_events[0]["EventType"] == "map_item_added", key
        assert all(e["EventType"] == "map_item_updated" for e in key_events[1:]), key
        # The last event of each key carries what the Map holds now.
        last = key_events[-1]
        item = sync_map.item(key)
        assert item is not None
        assert json.loads(last["ItemData"]) == item.data
        assert int(last["ItemRevision"], 16) == int(item.revision)
    # Each thread's own writes arrive in the order it made them.
    for t in range(threads_n):
        js = [
            json.loads(e["ItemData"])["j"]
            for e in events
            if e["ItemKey"].startswith(f"t{t}-") and "client" not in e["ItemKey"]
        ]
        assert js == list(range(per_thread - client_writes))


# ------------------------------------------------------------- isolation
class _SlowReceiver:
    """A webhook receiver that takes its time: a delivery is reliably in flight.

    Each POST counts itself in ``begun``, marks ``started``, then waits ``delay``
    seconds before it answers.
    """

    def __init__(self, delay: float = 0.4) -> None:
        self.delay = delay
        self.started = threading.Event()
        self.begun = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.begun += 1
                receiver.started.set()
                time.sleep(receiver.delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow-hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def slow_receiver():
    receiver = _SlowReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


def _flood_slow(sync_server, slow_receiver, n: int = 50) -> None:
    """Queue ``n`` deliveries to the slow receiver; return once the first is in flight."""
    slow_receiver.started.clear()
    svc = sync_server.store.create_service(
        webhook_url=slow_receiver.url, webhooks_from_rest_enabled=True
    )
    record = sync_server.store.create_map(svc.sid, unique_name="flood")
    for i in range(n - 1):
        sync_server.store.put_item(svc.sid, record.sid, f"k{i % 5}", {"i": i})
    assert slow_receiver.started.wait(5), "no delivery started"


def test_reset_skips_queued_deliveries_without_waiting(sync_server, slow_receiver):
    begun = slow_receiver.begun
    slow_receiver.delay = 3.0  # the old reset waited for this; the new one must not
    try:
        _flood_slow(sync_server, slow_receiver)
        started = time.perf_counter()
        sync_server.reset()  # what the plugin does between two tests
        assert time.perf_counter() - started < 1.0
        assert sync_server.webhooks.wait_idle(1.0)
        # Of the 50 queued deliveries only the one already in flight was ever sent.
        assert slow_receiver.begun - begun == 1
    finally:
        slow_receiver.delay = 0.4


def test_an_abandoned_delivery_is_never_journalled(sync_server, slow_receiver):
    _flood_slow(sync_server, slow_receiver)
    sync_server.reset()
    assert sync_server.webhooks.wait_idle(1.0)
    time.sleep(slow_receiver.delay + 0.2)  # the receiver is done with it by now
    assert _webhook_entries(sync_server) == []


NO_LEAK_BETWEEN_TESTS = """
import http.server
import threading
import time

import pytest


class Slow(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        time.sleep(0.4)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def slow_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_a_queues_deliveries_and_ends_without_waiting(sync_server, slow_url):
    svc = sync_server.store.create_service(webhook_url=slow_url, webhooks_from_rest_enabled=True)
    record = sync_server.store.create_map(svc.sid, unique_name="flood")
    for i in range(49):
        sync_server.store.put_item(svc.sid, record.sid, f"k{i % 5}", {"i": i})
    # Ends at once: one delivery in flight, the rest still queued.


def test_b_sees_only_its_own_events(sync_webhooks, sync_service, sync_server, twilio_client):
    created = twilio_client.sync.v1.services(sync_service.sid).sync_maps.create(unique_name="b")
    sync_webhooks.wait_for(1)
    assert sync_server.webhooks.wait_idle()
    events = [(e["ServiceSid"], e["EventType"], e["MapSid"]) for e in sync_webhooks.events]
    assert events == [(sync_service.sid, "map_created", created.sid)]
    # Test a's delivery that was on the wire may still reach its (slow) receiver, but it
    # is not this test's: never in its journal, never among its events.
    journal = [e.operation or "" for e in sync_server.journal.entries]
    assert [op for op in journal if op.startswith("Webhook")] == ["Webhook map_created"]
"""


def test_deliveries_of_one_test_never_reach_the_next(pytester):
    """Test a leaves 49 deliveries queued to a slow receiver; test b sees only its own.

    Run in an inner session, in this order, so the pair is checked whatever order (or
    worker) the outer run gives this test.
    """
    pytester.makepyfile(NO_LEAK_BETWEEN_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=60)
    result.assert_outcomes(passed=2)
