"""Faults and the journal speak one vocabulary, and every door to faults agrees.

Every fault kind fires once by default whether it comes from ``sync_faults.<kind>()``,
``@pytest.mark.sync_fault`` or ``POST /_syncmap/faults``; all three check settings
in the same place, so a bad one is refused when it is given (a Twilio 400 from the
control plane), never turned into a 500 on the request it matches. The journal finds
requests with the words faults use; a ``when=`` predicate sees the request headers.
"""

from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from pytest_syncmap.http.faults import KINDS

ERROR_KEYS = {"code", "message", "more_info", "status"}


def _control(sync_server, method, path, body=None):
    return requests.request(
        method, f"{sync_server.url}/_syncmap/{path}", auth=sync_server.auth, json=body, timeout=10
    )


def _items(twilio_client, sync_map):
    return twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)


# ------------------------------------------------------------- fires once
DELAY_ONCE = """
import time

import pytest


def _timed_fetches(sync_map, twilio_client, n=2):
    items = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
    took = []
    for _ in range(n):
        started = time.perf_counter()
        items.sync_map_items("k").fetch()
        took.append(time.perf_counter() - started)
    return took


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_by_method(sync_map, sync_faults, twilio_client):
    fault = sync_faults.delay(0.4, key="k")
    first, second = _timed_fetches(sync_map, twilio_client)
    assert first >= 0.4
    assert second < 0.4
    assert (fault.times, fault.fired) == (1, 1)


@pytest.mark.sync_map(items={"k": {"v": 1}})
@pytest.mark.sync_fault("delay", seconds=0.4, key="k")
def test_by_marker(sync_map, sync_faults, twilio_client):
    first, second = _timed_fetches(sync_map, twilio_client)
    assert first >= 0.4
    assert second < 0.4
    [fault] = sync_faults.faults
    assert (fault.times, fault.fired) == (1, 1)


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_by_control_plane(sync_map, sync_server, sync_faults, twilio_client):
    import requests

    added = requests.post(
        f"{sync_server.url}/_syncmap/faults",
        auth=sync_server.auth,
        json={"kind": "delay", "seconds": 0.4, "key": "k"},
        timeout=10,
    )
    assert added.status_code == 201, added.text
    first, second = _timed_fetches(sync_map, twilio_client)
    assert first >= 0.4
    assert second < 0.4
    [fault] = sync_faults.faults
    assert (fault.times, fault.fired) == (1, 1)


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_every_time_when_asked(sync_map, sync_faults, twilio_client):
    fault = sync_faults.delay(0.2, key="k", times=None)
    assert all(took >= 0.2 for took in _timed_fetches(sync_map, twilio_client, 3))
    assert fault.fired == 3
"""


def test_delay_fires_once_through_every_door(pytester):
    pytester.makepyfile(DELAY_ONCE)
    pytester.runpytest_subprocess("-v", timeout=60).assert_outcomes(passed=4)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_fires_once_by_default_through_every_door(sync_server, sync_faults, kind):
    by_method = getattr(sync_faults, kind)()
    by_marker_door = sync_faults.add(kind)  # what the sync_fault marker calls
    assert _control(sync_server, "POST", "faults", {"kind": kind}).status_code == 201
    by_control = sync_faults.faults[-1]
    assert [f.times for f in (by_method, by_marker_door, by_control)] == [1, 1, 1]
    sync_faults.allow_unfired()


# ---------------------------------------------------- one place checks them
BAD_SETTINGS = [
    pytest.param("rate_limited", {"retry_after": "1\r\nX-Injected: yes"}, id="crlf-retry-after"),
    pytest.param("rate_limited", {"retry_after": -1}, id="negative-retry-after"),
    pytest.param("server_error", {"status": 200}, id="status-200"),
    pytest.param("server_error", {"status": "abc"}, id="status-abc"),
    pytest.param("server_error", {"status": 503.5}, id="status-float"),
    pytest.param("delay", {"seconds": -1}, id="negative-delay"),
    pytest.param("delay", {"seconds": "soon"}, id="delay-text"),
    pytest.param("delay", {"uniform": [2, 1]}, id="uniform-reversed"),
    pytest.param("delay", {"lognormal": [0, 1]}, id="lognormal-zero-median"),
    pytest.param("delay", {"seconds": 1e308}, id="delay-beyond-sleep"),
    pytest.param("delay", {"seconds": 86_401}, id="delay-over-a-day"),
    pytest.param("delay", {"uniform": [0, 1e300]}, id="uniform-beyond-sleep"),
    pytest.param("delay", {"lognormal": [1e300, 1]}, id="lognormal-median-beyond-sleep"),
    pytest.param("delay", {"seconds": 1, "uniform": [0, 1]}, id="two-delays"),
    pytest.param("race", {"data": [1, 2]}, id="race-data-not-object"),
    pytest.param("race", {"data": {"x": "a" * 17_000}}, id="race-data-too-large"),
    pytest.param("reset", {"processed": "yes"}, id="processed-text"),
    pytest.param("conflict", {"times": "2"}, id="times-text"),
    pytest.param("conflict", {"times": 0}, id="times-zero"),
    pytest.param("conflict", {"after": -1}, id="after-negative"),
    pytest.param("conflict", {"probability": 2}, id="probability-2"),
    pytest.param("conflict", {"operation": "upsert"}, id="unknown-operation"),
    pytest.param("conflict", {"method": "GE T"}, id="bad-method"),
    pytest.param("conflict", {"key": 5}, id="key-not-text"),
    pytest.param("conflict", {"expect_fired": "no"}, id="expect-fired-text"),
    pytest.param("conflict", {"status": 500}, id="setting-of-another-kind"),
]


@pytest.mark.parametrize(("kind", "settings"), BAD_SETTINGS)
def test_control_plane_refuses_what_sync_faults_refuses(sync_server, sync_faults, kind, settings):
    with pytest.raises((TypeError, ValueError)) as by_method:
        sync_faults.add(kind, **settings)
    answer = _control(sync_server, "POST", "faults", {"kind": kind, **settings})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == 20001
    assert str(by_method.value) in body["message"]  # the same check said it
    assert sync_faults.faults == []


@pytest.mark.parametrize("data", [{"n": float("nan")}, {"n": {1, 2}}], ids=["nan", "a-set"])
def test_race_data_no_client_could_write_is_refused_when_given(sync_faults, data):
    """It used to be accepted, then the race write failed silently when it fired: the
    client's stale write won, the fault counted as fired, and the test passed."""
    with pytest.raises(ValueError, match="race data is not valid JSON"):
        sync_faults.race(key="k", data=data)
    assert sync_faults.faults == []


def test_a_log_normal_draw_past_a_day_waits_a_day_not_a_500(sync_faults):
    """A huge draw used to reach time.sleep() and turn the request into a 500."""
    from pytest_syncmap.http.faults import MAX_DELAY, delay_seconds

    fault = sync_faults.delay(lognormal=(60, 1e6), seed=3, expect_fired=False)
    draws = [delay_seconds(fault) for _ in range(50)]
    assert max(draws) == MAX_DELAY
    assert all(0 <= draw <= MAX_DELAY for draw in draws)


def test_a_refused_retry_after_injects_no_header(sync_server, sync_map):
    sync_map.put("k", {"v": 1})
    bad = {"kind": "rate_limited", "retry_after": "1\r\nX-Injected: yes", "times": None}
    assert _control(sync_server, "POST", "faults", bad).status_code == 400
    answer = requests.get(f"{sync_map.items_url}/k", auth=sync_server.auth, timeout=10)
    assert answer.status_code == 200
    assert "X-Injected" not in answer.headers


def test_a_marker_with_a_bad_setting_is_a_usage_error(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sync_fault("server_error", status=200)
        def test_it(sync_server):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*UsageError: @pytest.mark.sync_fault: *5xx*"])


def test_rate_limited_retry_after_reaches_the_client(sync_faults, sync_map, twilio_client):
    sync_map.put("k", {"v": 1})
    sync_faults.rate_limited(retry_after=7)
    with pytest.raises(TwilioRestException) as limited:
        _items(twilio_client, sync_map).sync_map_items("k").fetch()
    assert (limited.value.status, limited.value.code) == (429, 54009)


# --------------------------------------------------- the journal's words
@pytest.fixture
def conversation(sync_map, twilio_client, sync_server):
    """A create, two updates (one by unique name), a fetch and a list, then a 404."""
    items = _items(twilio_client, sync_map)
    items.sync_map_items.create(key="k", data={"v": 1})
    items.sync_map_items("k").update(data={"v": 2})
    by_name = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.unique_name)
    by_name.sync_map_items("k").update(data={"v": 3})
    items.sync_map_items("k").fetch()
    list(items.sync_map_items.list())
    with pytest.raises(TwilioRestException):
        items.sync_map_items("missing").fetch()
    return sync_server.journal


@pytest.mark.sync_map(unique_name="carts")
@pytest.mark.parametrize("operation", ["update", "UpdateSyncMapItem", "UPDATE"])
def test_find_takes_the_operation_words_of_faults(conversation, operation):
    found = conversation.find(operation=operation)
    assert [(e.method, e.status) for e in found] == [("POST", 200), ("POST", 200)]


@pytest.mark.sync_map(unique_name="carts")
def test_find_takes_several_operations_and_any_case_methods(conversation):
    assert len(conversation.find(operation=["create", "update"])) == 3
    assert len(conversation.find(method="post")) == 3
    assert len(conversation.find(method="Get")) == 3
    assert conversation.last(method="get").status == 404
    assert [e.status for e in conversation.find(ok=False)] == [404]
    assert len(conversation.find(is_write=True, map="carts")) == 3


@pytest.mark.sync_map(unique_name="carts")
def test_find_takes_a_map_by_handle_sid_or_unique_name(conversation, sync_map):
    every = conversation.find(map=sync_map)
    assert len(every) == 6  # however each request addressed the Map
    assert conversation.find(map=sync_map.sid) == every
    assert conversation.find(map="carts") == every
    assert conversation.find(map="no-such-map") == []
    assert [e.status for e in conversation.find(map=sync_map, operation="fetch")] == [200, 404]


@pytest.mark.sync_map(unique_name="carts")
def test_unknown_criteria_are_refused_not_silently_empty(conversation):
    with pytest.raises(TypeError, match="unknown journal criteria 'op'"):
        conversation.find(op="update")
    with pytest.raises(TypeError, match="unknown journal criteria 'status_code'"):
        conversation.last(status_code=404)
    with pytest.raises(ValueError, match="unknown operation 'upsert'"):
        conversation.find(operation="upsert")
    with pytest.raises(TypeError, match="map= takes"):
        conversation.find(map=42)


def test_journal_and_faults_read_the_same_words(sync_faults, sync_map, twilio_client, sync_server):
    sync_map.put("k", {"v": 1})
    words = {"operation": "update", "method": "post", "map": sync_map}
    fault = sync_faults.server_error(**words)
    with pytest.raises(TwilioRestException):
        _items(twilio_client, sync_map).sync_map_items("k").update(data={"v": 2})
    assert fault.fired == 1
    [entry] = sync_server.journal.find(**words)
    assert (entry.status, entry.fault) == (500, "server_error")


# ------------------------------------------------- the predicate's exchange
def test_the_predicate_sees_the_request_headers(sync_faults, sync_map, sync_server):
    sync_map.put("k", {"v": 1})
    seen = {}

    def tagged(exchange):
        seen.update(exchange.headers)
        return exchange.headers.get("x-test-tag") == "break-me"

    fault = sync_faults.server_error(when=tagged, times=None)
    url = f"{sync_map.items_url}/k"
    ok = requests.get(url, auth=sync_server.auth, headers={"X-Test-Tag": "other"}, timeout=10)
    assert ok.status_code == 200
    broken = requests.get(
        url, auth=sync_server.auth, headers={"X-Test-Tag": "break-me"}, timeout=10
    )
    assert broken.status_code == 500
    assert fault.fired == 1
    assert seen["X-Test-Tag"] == "break-me"
    assert seen["Authorization"].startswith("Basic ")
    assert "User-Agent" in seen


def test_the_predicate_sees_what_the_request_addressed(sync_faults, sync_map, twilio_client):
    sync_map.put("k", {"v": 1})
    seen = []
    statuses = []

    def watch(exchange):
        seen.append(exchange)
        statuses.append(exchange.status)  # not answered yet when the predicate runs
        return False

    sync_faults.not_found(when=watch, expect_fired=False)
    _items(twilio_client, sync_map).sync_map_items("k").update(data={"v": 2}, if_match="1")
    [exchange] = seen
    assert exchange.method == "POST"
    assert exchange.operation == "UpdateSyncMapItem"
    assert (exchange.service, exchange.map, exchange.key) == (
        sync_map.service_sid,
        sync_map.sid,
        "k",
    )
    assert exchange.map_sid == sync_map.sid
    assert exchange.form["Data"] == '{"v": 2}'
    assert exchange.if_match == "1"
    assert exchange.headers["If-Match"] == "1"
    assert statuses == [0]
    assert exchange.status == 200  # the same exchange, answered since


def test_naming_the_map_for_the_journal_never_changes_state(sync_clock, sync_server, sync_faults):
    # The journal names the Map a request addressed; working that out must not create
    # the default Service (made on first lookup) for a request refused before the store.
    store = sync_server.store
    store.delete_service(store.default_service_sid)
    sync_faults.server_error(key="never", expect_fired=False)  # faults present, none by Map
    refused_at = sync_clock.advance(10)
    url = f"{sync_server.url}/v1/Services/default/Maps/m/Items"
    refused = requests.post(url, auth=sync_server.auth, data={"Data": "[1]"}, timeout=10)
    assert refused.status_code == 400
    assert sync_server.journal.last(status=400).map_sid is None
    looked_at = sync_clock.advance(10)
    default = store.get_service("default")  # made now, by this lookup, not by the request
    assert default.date_created == looked_at != refused_at
