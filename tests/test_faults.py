"""Fault injection through the official twilio clients, the way user code meets it.

Each fault kind is exercised through ``twilio.rest.Client`` (and, for a subset, its
aiohttp-based async variant), checking what the client raises, what the journal
recorded and that the emulator's state is what the fault promised.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

import aiohttp
import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from pytest_syncmap.http.faults import Fault

pytest_plugins = ["pytester"]


# --------------------------------------------------------------- user code
def increment_with_retry(client, service_sid, map_sid, key, field="n", attempts=5):
    """Optimistic concurrency as real code writes it: fetch, conditional update, retry."""
    item_api = client.sync.v1.services(service_sid).sync_maps(map_sid).sync_map_items(key)
    for _ in range(attempts):
        current = item_api.fetch()
        data = dict(current.data)
        data[field] = data.get(field, 0) + 1
        try:
            return item_api.update(data=data, if_match=current.revision)
        except TwilioRestException as exc:
            if exc.status != 412:
                raise
    raise RuntimeError("gave up after conflicts")


def items_api(client, sync_map):
    return client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid).sync_map_items


def raw(sync_server, method, url, **kwargs):
    return requests.request(method, url, auth=sync_server.auth, timeout=5, **kwargs)


# ------------------------------------------------------ retry on conflict
@pytest.mark.sync_map(items={"counter": {"n": 1}})
def test_retry_helper_wins_after_injected_conflict(
    twilio_client, sync_map, sync_faults, sync_server
):
    fault = sync_faults.conflict(key="counter")

    result = increment_with_retry(twilio_client, sync_map.service_sid, sync_map.sid, "counter")

    assert result.data == {"n": 2}
    assert sync_map["counter"] == {"n": 2}
    assert fault.fired == 1
    conflicts = sync_server.journal.find(key="counter", status=412)
    assert len(conflicts) == 1
    assert conflicts[0].fault == "conflict"
    assert conflicts[0].code == 54205
    assert conflicts[0].if_match == "1"
    # the conflict did not change anything: the retry used the same revision
    updates = sync_server.journal.find(key="counter", operation="UpdateSyncMapItem")
    assert [(e.status, e.if_match) for e in updates] == [(412, "1"), (200, "1")]
    assert updates[1].seq > conflicts[0].seq
    sync_map.assert_retried_after_conflict("counter")
    sync_map.assert_written("counter", 1)


@pytest.mark.sync_map(items={"counter": {"n": 1, "who": "me"}})
def test_retry_helper_builds_on_the_racing_writers_value(
    twilio_client, sync_map, sync_faults, sync_server
):
    fault = sync_faults.race(key="counter", data={"n": 10, "who": "other"})

    result = increment_with_retry(twilio_client, sync_map.service_sid, sync_map.sid, "counter")

    assert fault.fired == 1
    # the retry re-fetched the other writer's value and built on it
    assert result.data == {"n": 11, "who": "other"}
    assert sync_map["counter"] == {"n": 11, "who": "other"}
    conflicts = sync_server.journal.find(key="counter", status=412)
    assert len(conflicts) == 1
    assert conflicts[0].fault == "race"
    assert conflicts[0].if_match == "1"
    # the 412 is genuine: the revision really moved on before the write
    ok_updates = sync_server.journal.find(key="counter", operation="UpdateSyncMapItem", status=200)
    assert len(ok_updates) == 1
    assert ok_updates[0].if_match == "2"
    assert ok_updates[0].revision_after == "3"
    sync_map.assert_retried_after_conflict("counter")


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_race_without_data_rewrites_the_same_data(twilio_client, sync_map, sync_faults):
    sync_faults.race(key="k")
    api = items_api(twilio_client, sync_map)("k")
    with pytest.raises(TwilioRestException) as info:
        api.update(data={"v": 2}, if_match="1")
    assert (info.value.status, info.value.code) == (412, 54205)
    assert sync_map["k"] == {"v": 1}
    assert sync_map.item("k").revision == 2


# ---------------------------------------------------- error kinds, sync
@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_conflict_answers_412_and_leaves_the_item(twilio_client, sync_map, sync_faults):
    sync_faults.conflict(key="k")
    with pytest.raises(TwilioRestException) as info:
        items_api(twilio_client, sync_map)("k").update(data={"v": 2}, if_match="1")
    assert (info.value.status, info.value.code) == (412, 54205)
    assert sync_map["k"] == {"v": 1}
    assert sync_map.item("k").revision == 1


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_conflict_ignores_unconditional_writes(twilio_client, sync_map, sync_faults):
    fault = sync_faults.conflict(key="k")
    api = items_api(twilio_client, sync_map)("k")
    api.update(data={"v": 2})  # no If-Match: not a conditional write
    assert fault.fired == 0
    with pytest.raises(TwilioRestException):
        api.update(data={"v": 3}, if_match="2")
    assert fault.fired == 1
    assert sync_map["k"] == {"v": 2}


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_not_found_on_an_existing_item(twilio_client, sync_map, sync_faults):
    sync_faults.not_found(key="k")
    api = items_api(twilio_client, sync_map)("k")
    with pytest.raises(TwilioRestException) as info:
        api.fetch()
    assert (info.value.status, info.value.code) == (404, 54201)
    assert api.fetch().data == {"v": 1}  # fired once


@pytest.mark.sync_map(unique_name="orders")
def test_not_found_on_map_fetch_by_unique_name(twilio_client, sync_map, sync_faults):
    sync_faults.not_found(operation="FetchSyncMap")
    maps = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps
    with pytest.raises(TwilioRestException) as info:
        maps("orders").fetch()
    assert (info.value.status, info.value.code) == (404, 54300)
    assert maps("orders").fetch().sid == sync_map.sid


def test_not_found_on_map_fetch_by_sid(twilio_client, sync_map, sync_faults):
    sync_faults.not_found(operation="FetchSyncMap", map=sync_map)
    maps = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps
    with pytest.raises(TwilioRestException) as info:
        maps(sync_map.sid).fetch()
    assert (info.value.status, info.value.code) == (404, 20404)


def test_already_exists_on_create(twilio_client, sync_map, sync_faults, sync_server):
    sync_faults.already_exists(key="new")
    with pytest.raises(TwilioRestException) as info:
        items_api(twilio_client, sync_map).create(key="new", data={"a": 1})
    assert (info.value.status, info.value.code) == (409, 54208)
    assert "new" not in sync_map
    assert sync_server.journal.last(key="new").status == 409


def test_rate_limited_429_with_retry_after(twilio_client, sync_map, sync_faults, sync_server):
    sync_map.put("k", {"v": 1})
    sync_faults.rate_limited(retry_after=7, times=2)
    with pytest.raises(TwilioRestException) as info:
        items_api(twilio_client, sync_map)("k").fetch()
    assert (info.value.status, info.value.code) == (429, 54009)
    answer = raw(sync_server, "GET", sync_map.items_url + "/k")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["code"] == 54009
    assert raw(sync_server, "GET", sync_map.items_url + "/k").status_code == 200


def test_rate_limited_default_and_omitted_retry_after(sync_map, sync_faults, sync_server):
    sync_map.put("k", {"v": 1})
    sync_faults.rate_limited()
    sync_faults.rate_limited(retry_after=None)
    first = raw(sync_server, "GET", sync_map.items_url + "/k")
    second = raw(sync_server, "GET", sync_map.items_url + "/k")
    assert (first.status_code, first.headers.get("Retry-After")) == (429, "1")
    assert second.status_code == 429
    assert "Retry-After" not in second.headers


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503)])
def test_server_error(twilio_client, sync_map, sync_faults, status, code):
    sync_faults.server_error(status=status, operation="create")
    with pytest.raises(TwilioRestException) as info:
        items_api(twilio_client, sync_map).create(key="k", data={"a": 1})
    assert (info.value.status, info.value.code) == (status, code)
    assert "k" not in sync_map


def test_server_error_rejects_a_non_5xx_status(sync_faults):
    with pytest.raises(ValueError, match="5xx"):
        sync_faults.server_error(status=404)


def test_unknown_kind_and_bad_counts_are_refused(sync_faults):
    with pytest.raises(ValueError, match="unknown fault kind 'boom'"):
        sync_faults.add("boom")
    with pytest.raises(ValueError, match="times"):
        sync_faults.conflict(key="k", times=0)
    with pytest.raises(ValueError, match="after"):
        sync_faults.conflict(key="k", after=-1)
    with pytest.raises(ValueError, match="probability"):
        sync_faults.conflict(key="k", probability=1.5)


# ----------------------------------------------------------------- delay
def test_fixed_delay(twilio_client, sync_map, sync_faults):
    sync_map.put("k", {"v": 1})
    fault = sync_faults.delay(0.2, key="k", operation="fetch")
    api = items_api(twilio_client, sync_map)("k")
    started = time.perf_counter()
    assert api.fetch().data == {"v": 1}
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.2
    assert fault.fired == 1
    assert fault.times == 1  # fires once by default, like every kind
    started = time.perf_counter()
    api.fetch()
    assert time.perf_counter() - started < 0.2


def test_uniform_delay_is_reproducible_with_a_seed(sync_map, sync_faults, sync_server):
    sync_map.put("k", {"v": 1})
    expected_rng = random.Random(42)
    expected = [expected_rng.uniform(0.02, 0.12) for _ in range(3)]
    sync_faults.delay(uniform=(0.02, 0.12), seed=42, times=None)
    measured = []
    for _ in range(3):
        started = time.perf_counter()
        assert raw(sync_server, "GET", sync_map.items_url + "/k").status_code == 200
        measured.append(time.perf_counter() - started)
    for want, got in zip(expected, measured, strict=True):
        assert want <= got < want + 0.15


def test_unfired_delay_may_be_allowed(sync_faults):
    sync_faults.delay(0.5, key="never", expect_fired=False)


# ------------------------------------------------------------ transport
@pytest.mark.parametrize("kind", ["reset", "empty_response"])
def test_connection_faults_raise_connection_error(twilio_client, sync_map, sync_faults, kind):
    sync_faults.add(kind, operation="create")
    with pytest.raises(requests.exceptions.ConnectionError):
        items_api(twilio_client, sync_map).create(key="k", data={"a": 1})
    assert "k" not in sync_map  # not processed by default
    # the next request is answered normally
    assert items_api(twilio_client, sync_map).create(key="k", data={"a": 1}).key == "k"


def test_truncated_answer_raises_a_requests_error(twilio_client, sync_map, sync_faults):
    sync_map.put("k", {"v": 1})
    sync_faults.truncated(key="k")
    with pytest.raises(
        (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    ):
        items_api(twilio_client, sync_map)("k").fetch()


def test_malformed_answer_raises_json_decode_error(twilio_client, sync_map, sync_faults):
    sync_map.put("k", {"v": 1})
    sync_faults.malformed(key="k", operation="update")
    with pytest.raises(json.JSONDecodeError):
        items_api(twilio_client, sync_map)("k").update(data={"v": 2})
    assert sync_map["k"] == {"v": 1}


@pytest.mark.parametrize("kind", ["reset", "empty_response", "truncated", "malformed"])
def test_processed_transport_fault_applies_the_write(sync_map, sync_faults, sync_server, kind):
    sync_faults.add(kind, operation="create", processed=True)
    with pytest.raises((requests.exceptions.RequestException, ValueError)):
        raw(sync_server, "POST", sync_map.items_url, data={"Key": "k", "Data": '{"a": 1}'}).json()
    assert sync_map["k"] == {"a": 1}
    entry = sync_server.journal.last(key="k")
    assert (entry.status, entry.fault) == (201, kind)


@pytest.mark.parametrize("kind", ["reset", "empty_response", "truncated", "malformed"])
def test_unprocessed_transport_fault_leaves_state(sync_map, sync_faults, sync_server, kind):
    sync_map.put("k", {"v": 1})
    sync_faults.add(kind, key="k")
    with pytest.raises((requests.exceptions.RequestException, ValueError)):
        raw(sync_server, "DELETE", sync_map.items_url + "/k").json()
    assert sync_map["k"] == {"v": 1}


# -------------------------------------------------------------- async client
@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_async_client_conflict_and_not_found(twilio_async_client, sync_map, sync_faults):
    sync_faults.conflict(key="k")
    sync_faults.not_found(key="k", operation="fetch")
    api = items_api(twilio_async_client, sync_map)("k")

    async def scenario():
        with pytest.raises(TwilioRestException) as conflict:
            await api.update_async(data={"v": 2}, if_match="1")
        with pytest.raises(TwilioRestException) as missing:
            await api.fetch_async()
        return conflict.value, missing.value, await api.fetch_async()

    conflict, missing, item = asyncio.run(scenario())
    assert (conflict.status, conflict.code) == (412, 54205)
    assert (missing.status, missing.code) == (404, 54201)
    assert item.data == {"v": 1}


def test_async_client_rate_limit_and_server_error_do_not_retry(
    twilio_async_client, sync_map, sync_faults, sync_server
):
    sync_faults.rate_limited(operation="create")
    sync_faults.server_error(status=503, operation="create")
    api = items_api(twilio_async_client, sync_map)

    async def scenario():
        errors = []
        for _ in range(2):
            try:
                await api.create_async(key="k", data={"a": 1})
            except TwilioRestException as exc:
                errors.append((exc.status, exc.code))
        return errors

    assert asyncio.run(scenario()) == [(429, 54009), (503, 20503)]
    assert len(sync_server.journal.find(operation="CreateSyncMapItem")) == 2
    assert "k" not in sync_map


def test_async_client_connection_reset(twilio_async_client, sync_map, sync_faults):
    sync_faults.reset(operation="create")
    api = items_api(twilio_async_client, sync_map)
    with pytest.raises(aiohttp.ClientError):
        asyncio.run(api.create_async(key="k", data={"a": 1}))
    assert "k" not in sync_map


def test_async_client_malformed(twilio_async_client, sync_map, sync_faults):
    sync_map.put("k", {"v": 1})
    sync_faults.malformed(key="k")
    with pytest.raises(json.JSONDecodeError):
        asyncio.run(items_api(twilio_async_client, sync_map)("k").fetch_async())


# --------------------------------------------------------------- matching
@pytest.mark.sync_map(items={"a": {"v": 1}, "b": {"v": 1}})
def test_match_by_key(sync_map, sync_faults, sync_server):
    fault = sync_faults.server_error(key="b")
    assert raw(sync_server, "GET", sync_map.items_url + "/a").status_code == 200
    assert raw(sync_server, "GET", sync_map.items_url + "/b").status_code == 500
    assert fault.fired == 1


@pytest.mark.parametrize("ref", ["handle", "sid", "unique_name"])
def test_match_by_map(sync_server, sync_service, sync_faults, twilio_client, ref):
    from pytest_syncmap.plugin.handles import MapHandle

    store = sync_server.store
    target = MapHandle(sync_server, sync_service.sid, store.create_map(sync_service.sid).sid)
    other_rec = store.create_map(sync_service.sid, unique_name="target-name")
    named = MapHandle(sync_server, sync_service.sid, other_rec.sid)
    chosen = {"handle": target, "sid": target.sid, "unique_name": "target-name"}[ref]
    victim = named if ref == "unique_name" else target
    bystander = target if ref == "unique_name" else named
    fault = sync_faults.server_error(map=chosen)

    maps = twilio_client.sync.v1.services(sync_service.sid).sync_maps
    assert maps(bystander.sid).sync_map_items.list() == []
    assert fault.fired == 0
    with pytest.raises(TwilioException):
        maps(victim.sid).sync_map_items.list()
    assert fault.fired == 1


@pytest.mark.sync_map(unique_name="by-name")
def test_match_by_unique_name_when_addressed_by_sid_and_vice_versa(
    sync_map, sync_faults, sync_server
):
    base = f"{sync_server.url}/v1/Services/{sync_map.service_sid}/Maps/"
    sync_faults.server_error(map="by-name")
    sync_faults.server_error(map=sync_map.sid)
    assert raw(sync_server, "GET", base + sync_map.sid).status_code == 500
    assert raw(sync_server, "GET", base + "by-name").status_code == 500
    assert raw(sync_server, "GET", base + "by-name").status_code == 200


@pytest.mark.parametrize(
    ("operation", "fires_on"),
    [
        ("create", "POST items"),
        ("fetch", "GET item"),
        ("update", "POST item"),
        ("delete", "DELETE item"),
        ("list", "GET items"),
        ("FetchSyncMapItem", "GET item"),
        (("update", "DeleteSyncMapItem"), "POST item"),
    ],
)
def test_match_by_operation(sync_map, sync_faults, sync_server, operation, fires_on):
    sync_map.put("k", {"v": 1})
    fault = sync_faults.server_error(operation=operation)
    requests_in_order = [
        ("GET items", "GET", sync_map.items_url, {}),
        ("POST items", "POST", sync_map.items_url, {"data": {"Key": "n", "Data": "{}"}}),
        ("GET item", "GET", sync_map.items_url + "/k", {}),
        ("POST item", "POST", sync_map.items_url + "/k", {"data": {"Data": '{"v": 2}'}}),
        ("DELETE item", "DELETE", sync_map.items_url + "/k", {}),
    ]
    failed = [
        name
        for name, method, url, kwargs in requests_in_order
        if raw(sync_server, method, url, **kwargs).status_code == 500
    ]
    assert failed == [fires_on]
    assert fault.fired == 1


def test_match_by_method(sync_map, sync_faults, sync_server):
    sync_map.put("k", {"v": 1})
    sync_faults.server_error(method="delete")
    assert raw(sync_server, "GET", sync_map.items_url + "/k").status_code == 200
    assert raw(sync_server, "DELETE", sync_map.items_url + "/k").status_code == 500
    assert "k" in sync_map


def test_match_by_predicate(sync_map, sync_faults, sync_server):
    def big_writes(exchange):
        return exchange.operation == "CreateSyncMapItem" and "big" in exchange.form.get("Data", "")

    sync_faults.server_error(when=big_writes)
    small = raw(sync_server, "POST", sync_map.items_url, data={"Key": "s", "Data": '{"x": 1}'})
    big = raw(sync_server, "POST", sync_map.items_url, data={"Key": "b", "Data": '{"big": 1}'})
    assert (small.status_code, big.status_code) == (201, 500)
    assert sorted(sync_map) == ["s"]


# --------------------------------------------------------------- counting
def _statuses(sync_server, url, n):
    return [raw(sync_server, "GET", url).status_code for _ in range(n)]


def test_times_two(sync_map, sync_faults, sync_server):
    sync_map.put("k", {"v": 1})
    fault = sync_faults.server_error(times=2)
    assert _statuses(sync_server, sync_map.items_url + "/k", 3) == [500, 500, 200]
    assert fault.fired == 2
    assert fault.exhausted


def test_times_none_fires_every_time(sync_map, sync_faults, sync_server):
    sync_map.put("k", {"v": 1})
    fault = sync_faults.server_error(times=None)
    assert _statuses(sync_server, sync_map.items_url + "/k", 4) == [500] * 4
    assert fault.fired == 4
    assert not fault.exhausted


def test_after_lets_requests_through_first(sync_map, sync_faults, sync_server):
    sync_map.put("k", {"v": 1})
    fault = sync_faults.server_error(after=1)
    assert _statuses(sync_server, sync_map.items_url + "/k", 3) == [200, 500, 200]
    assert (fault.seen, fault.fired) == (2, 1)


def test_probability_with_seed_is_reproducible(sync_map, sync_faults, sync_server):
    sync_map.put("k", {"v": 1})
    rng = random.Random(1)
    expected = [500 if rng.random() < 0.5 else 200 for _ in range(12)]
    # the seed gives a mixed pattern
    assert 500 in expected
    assert 200 in expected

    first = sync_faults.server_error(times=None, probability=0.5, seed=1)
    run1 = _statuses(sync_server, sync_map.items_url + "/k", 12)
    sync_faults.clear()
    second = sync_faults.server_error(times=None, probability=0.5, seed=1)
    run2 = _statuses(sync_server, sync_map.items_url + "/k", 12)

    assert run1 == run2 == expected
    assert first.fired == second.fired == expected.count(500)


def test_first_matching_fault_wins_and_exhausted_faults_step_aside(
    sync_map, sync_faults, sync_server
):
    sync_map.put("k", {"v": 1})
    sync_faults.server_error(status=503)
    sync_faults.server_error(status=500)
    assert _statuses(sync_server, sync_map.items_url + "/k", 3) == [503, 500, 200]


# ------------------------------------------------------------------ marker
@pytest.mark.sync_map(items={"k": {"n": 0}})
@pytest.mark.sync_fault("conflict", key="k")
def test_marker_schedules_a_fault(twilio_client, sync_map, sync_server):
    increment_with_retry(twilio_client, sync_map.service_sid, sync_map.sid, "k")
    assert sync_map["k"] == {"n": 1}
    assert [f.kind for f in sync_server.faults.faults] == ["conflict"]
    assert sync_server.faults.faults[0].fired == 1


@pytest.mark.sync_map(items={"k": {"n": 0}})
@pytest.mark.sync_fault("conflict", key="k")
@pytest.mark.sync_fault("server_error", status=503, operation="fetch")
def test_markers_stack(twilio_client, sync_map, sync_server):
    api = items_api(twilio_client, sync_map)("k")
    with pytest.raises(TwilioRestException) as info:
        api.fetch()
    assert info.value.status == 503
    increment_with_retry(twilio_client, sync_map.service_sid, sync_map.sid, "k")
    assert sorted(f.kind for f in sync_server.faults.faults) == ["conflict", "server_error"]
    assert all(f.fired == 1 for f in sync_server.faults.faults)
    assert sync_map["k"] == {"n": 1}


def test_marker_can_be_read_back_with_sync_faults(sync_faults, sync_server):
    # no marker here: the plan is empty, whatever the previous tests scheduled
    assert sync_faults.faults == []
    assert len(sync_server.journal) == 0


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("sync_fault()", "takes the fault kind as its one positional argument"),
        ("sync_fault('conflict', 'k')", "takes the fault kind as its one positional argument"),
        ("sync_fault('explode')", "unknown fault kind 'explode'"),
        ("sync_fault('conflict', times=0)", "times must be at least 1"),
    ],
)
def test_bad_marker_is_a_clear_usage_error(pytester, marker, message):
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.{marker}
        def test_it(sync_server):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines([f"*sync_fault*{message}*"])


# ---------------------------------------------------------- canned answers
def test_canned_answer_takes_precedence_once(twilio_client, sync_map, sync_server):
    sync_map.put("k", {"v": 1})
    path = f"/v1/Services/{sync_map.service_sid}/Maps/{sync_map.sid}/Items/k"
    sync_server.expect_oneshot_request(path, method="GET").respond_with_json(
        {"code": 20500, "message": "canned", "more_info": "x", "status": 500}, status=500
    )
    api = items_api(twilio_client, sync_map)("k")
    with pytest.raises(TwilioRestException) as info:
        api.fetch()
    assert (info.value.status, info.value.code) == (500, 20500)
    assert "canned" in info.value.msg
    assert api.fetch().data == {"v": 1}  # then the emulator answers
    entries = sync_server.journal.entries
    assert [(e.status, e.fault) for e in entries] == [(500, "canned"), (200, None)]
    sync_server.assert_no_unexpected_failures()


def test_canned_answer_beats_a_fault(sync_map, sync_faults, sync_server):
    sync_map.put("k", {"v": 1})
    fault = sync_faults.server_error(key="k", expect_fired=False)
    path = f"/v1/Services/{sync_map.service_sid}/Maps/{sync_map.sid}/Items/k"
    sync_server.expect_oneshot_request(path, method="GET").respond_with_json({"canned": True})
    assert raw(sync_server, "GET", sync_map.items_url + "/k").json() == {"canned": True}
    assert fault.fired == 0


# ------------------------------------------------ assert_no_unexpected_failures
def test_no_unexpected_failures_passes_with_only_injected_failures(
    twilio_client, sync_map, sync_faults, sync_server
):
    sync_faults.server_error(operation="list")
    with pytest.raises(TwilioException):
        items_api(twilio_client, sync_map).list()
    assert items_api(twilio_client, sync_map).list() == []
    sync_server.assert_no_unexpected_failures()


def test_no_unexpected_failures_fails_on_a_genuine_error(twilio_client, sync_map, sync_server):
    with pytest.raises(TwilioRestException):
        items_api(twilio_client, sync_map)("missing").fetch()
    with pytest.raises(AssertionError) as info:
        sync_server.assert_no_unexpected_failures()
    message = str(info.value)
    assert message.startswith("1 request(s) failed without an injected fault:\n")
    assert "/Items/missing" in message
    assert " 404 54201" in message


def test_fault_objects_describe_themselves(sync_faults, sync_map):
    fault = sync_faults.server_error(key="k", operation="fetch", after=2, times=None)
    assert isinstance(fault, Fault)
    assert (
        fault.describe() == "server_error operation=FetchSyncMapItem key=k after=2 fired 0/always"
    )
    assert repr(fault) == f"<Fault {fault.describe()}>"
    sync_faults.allow_unfired()


@pytest.mark.sync_fault("server_error", status=503)
@pytest.mark.sync_fault("server_error", status=500)
def test_stacked_markers_apply_in_reading_order(sync_map, sync_server):
    sync_map.put("k", {"v": 1})
    assert _statuses(sync_server, sync_map.items_url + "/k", 3) == [503, 500, 200]
