"""What a test observes never depends on the order of its fixture arguments, and a
marker is never silently ignored.

``sync_webhooks`` wires the test's Service before anything is created in it, so the
``map_created`` and seed item events of ``@pytest.mark.sync_map(items=...)`` arrive in
either fixture order. ``sync_map`` and ``sync_fault`` markers request their fixtures
by themselves, as ``sync_clock``'s does, and ``sync_map(service="default")`` puts the
test's Map (and webhooks) in the account's default Service.
"""

from __future__ import annotations

import json

import pytest


def _events(pytester: pytest.Pytester) -> dict[str, list[str]]:
    lines = [
        line for line in pytester.path.joinpath("events.jsonl").read_text().splitlines() if line
    ]
    return dict(map(json.loads, lines))


ORDERS = """
import json
import pathlib

import pytest

SEED = {"a": {"n": 1}, "b": {"n": 2}}


def record(name, receiver):
    events = receiver.wait_for(3, timeout=5)
    with pathlib.Path("events.jsonl").open("a") as out:
        out.write(json.dumps([name, [(e["EventType"], e.get("ItemKey")) for e in events]]) + "\\n")


@pytest.mark.sync_map(unique_name="cart", items=SEED)
def test_webhooks_first(sync_webhooks, sync_map):
    record("webhooks first", sync_webhooks)


@pytest.mark.sync_map(unique_name="cart", items=SEED)
def test_map_first(sync_map, sync_webhooks):
    record("map first", sync_webhooks)


@pytest.mark.sync_map(unique_name="cart", items=SEED)
def test_map_first_with_the_service_too(sync_service, sync_map, sync_server, sync_webhooks):
    record("service and map first", sync_webhooks)


@pytest.fixture
def cart(sync_map):
    return sync_map


@pytest.mark.sync_map(unique_name="cart", items=SEED)
def test_map_through_a_fixture_of_the_test(cart, sync_webhooks):
    record("map through a fixture", sync_webhooks)
"""


def test_both_fixture_orders_observe_the_same_events(pytester):
    pytester.makepyfile(ORDERS)
    pytester.runpytest_subprocess("-v", timeout=60).assert_outcomes(passed=4)
    events = _events(pytester)
    expected = [["map_created", None], ["map_item_added", "a"], ["map_item_added", "b"]]
    assert events == {
        "webhooks first": expected,
        "map first": expected,
        "service and map first": expected,
        "map through a fixture": expected,
    }


MARKERS = """
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


@pytest.mark.sync_map(unique_name="settings", items={"theme": {"dark": True}}, service="default")
def test_map_marker_alone_gives_the_default_services_map(sync_server):
    # No sync_map argument: the marker alone creates it, where the app looks for it.
    item = Client().sync.v1.services("default").sync_maps("settings").sync_map_items("theme")
    assert item.fetch().data == {"dark": True}


@pytest.mark.sync_map(unique_name="settings", service="default")
def test_default_service_map_and_its_webhooks(sync_map, sync_webhooks, sync_server):
    assert sync_map.service_sid == sync_server.store.default_service_sid
    Client().sync.v1.services("default").sync_maps("settings").sync_map_items.create(
        key="k", data={"v": 1}
    )
    events = sync_webhooks.wait_for(2, timeout=5)
    assert [e["EventType"] for e in events] == ["map_created", "map_item_added"]
    assert {e["ServiceSid"] for e in events} == {sync_server.store.default_service_sid}


@pytest.mark.sync_map(unique_name="settings")
def test_without_service_default_the_map_is_in_a_fresh_service(sync_map, sync_server):
    assert sync_map.service_sid != sync_server.store.default_service_sid
    with pytest.raises(TwilioRestException):
        Client().sync.v1.services("default").sync_maps("settings").fetch()


@pytest.mark.sync_fault("server_error", status=503, operation="FetchService")
def test_fault_marker_alone_schedules_the_fault(sync_server):
    # No sync_faults argument: the marker alone is enough.
    with pytest.raises(TwilioRestException) as unavailable:
        Client().sync.v1.services("default").fetch()
    assert unavailable.value.status == 503


@pytest.mark.sync_fault("server_error", key="never")
def test_an_unfired_marker_fault_fails_the_test(sync_server):
    pass


@pytest.mark.sync_map(service="elsewhere")
def test_an_unknown_service_is_a_usage_error(sync_server):
    pass
"""


def test_markers_request_their_fixtures(pytester):
    pytester.makepyfile(MARKERS)
    result = pytester.runpytest_subprocess("-v", timeout=60)
    result.assert_outcomes(passed=4, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test_an_unfired_marker_fault_fails_the_test FAILED*",
            "*test_an_unknown_service_is_a_usage_error ERROR*",
        ]
    )
    result.stdout.fnmatch_lines(["*1 fault(s) were set up but never fired*"])
    result.stdout.fnmatch_lines(["*sync_map(service=...) takes 'default'*"])
