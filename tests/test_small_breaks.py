"""Small promises kept: expected failures can be allowed, an expired Map's handle reads
as empty, and item data nests to the same explicit limit on every Python version."""

from __future__ import annotations

import json

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from pytest_syncmap import DEFAULT_CHOICES, Choices, SyncServer
from pytest_syncmap.domain.errors import MapNotFound


def _items(twilio_client, sync_map):
    return twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)


# ------------------------------------------------ assert_no_unexpected_failures
def _fetch_then_create(twilio_client, sync_map, key):
    """The usual get-or-create: a 404 first is how it learns the item is new."""
    items = _items(twilio_client, sync_map).sync_map_items
    try:
        return items(key).fetch().data
    except TwilioRestException as exc:
        if exc.status != 404:
            raise
    return items.create(key=key, data={"n": 0}).data


@pytest.mark.parametrize("allow", [404, (404,), [54201], {404, 54201}])
def test_an_expected_404_can_be_allowed(twilio_client, sync_map, sync_server, allow):
    assert _fetch_then_create(twilio_client, sync_map, "k") == {"n": 0}
    sync_server.assert_no_unexpected_failures(allow=allow)


def test_allowing_something_else_does_not_excuse_the_404(twilio_client, sync_map, sync_server):
    _fetch_then_create(twilio_client, sync_map, "k")
    with pytest.raises(AssertionError, match="1 request\\(s\\) failed without an injected fault"):
        sync_server.assert_no_unexpected_failures(allow=(409, 54208))
    with pytest.raises(AssertionError, match=r"Items/k\s+404 54201"):
        sync_server.assert_no_unexpected_failures()


def test_allow_takes_numbers_only(sync_server):
    with pytest.raises(TypeError, match="allow="):
        sync_server.assert_no_unexpected_failures(allow=["404"])


# ------------------------------------------------------------ expired handle
@pytest.mark.sync_map(unique_name="session", items={"a": {"v": 1}}, ttl=60)
def test_the_handle_of_an_expired_map_reads_as_empty(sync_clock, sync_map):
    assert len(sync_map) == 1
    expires = sync_map.record.date_expires
    sync_clock.advance(61)
    assert len(sync_map) == 0
    assert list(sync_map) == []
    assert dict(sync_map) == {}
    assert "a" not in sync_map
    assert sync_map.item("a") is None
    assert not sync_map.exists
    assert sync_map.unique_name == "session"  # still known
    assert repr(sync_map) == (
        f"<MapHandle {sync_map.sid} unique_name='session' expired at {expires:%Y-%m-%dT%H:%M:%SZ}>"
    )
    with pytest.raises(MapNotFound):
        sync_map.record  # noqa: B018  (the API would answer 404 too)


def test_the_handle_of_a_deleted_map_says_it_is_gone(sync_map, twilio_client):
    _items(twilio_client, sync_map).delete()
    assert len(sync_map) == 0
    gone = f"<MapHandle {sync_map.sid} unique_name=None gone (deleted or expired)>"
    assert repr(sync_map) == gone


def test_the_handle_of_a_live_map(sync_map):
    sync_map.put("k", {"v": 1})
    assert sync_map.exists
    assert repr(sync_map) == f"<MapHandle {sync_map.sid} unique_name=None>"


# ------------------------------------------------------------- nesting limit
def _nested(depth: int) -> str:
    """A JSON object whose deepest value sits ``depth`` containers down."""
    return '{"a": ' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"


def _create(sync_server, sync_map, data: str) -> requests.Response:
    return requests.post(
        sync_map.items_url, auth=sync_server.auth, data={"Key": "deep", "Data": data}, timeout=10
    )


def test_data_nests_up_to_the_documented_limit(sync_server, sync_map):
    limit = DEFAULT_CHOICES.data_max_depth
    assert limit == 500
    at_limit = _create(sync_server, sync_map, _nested(limit))
    assert at_limit.status_code == 201, at_limit.text
    assert json.dumps(sync_map["deep"]).count("[") == limit - 1
    fetched = requests.get(f"{sync_map.items_url}/deep", auth=sync_server.auth, timeout=10)
    assert fetched.status_code == 200


@pytest.mark.parametrize("depth", [501, 5000])
def test_deeper_data_is_invalid_json_on_every_python(sync_server, sync_map, depth):
    answer = _create(sync_server, sync_map, _nested(depth))
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == 54008
    assert "nests deeper than 500 levels" in body["message"]
    assert "deep" not in sync_map


def test_brackets_inside_strings_do_not_count(sync_server, sync_map):
    text = "[" * 2000 + "{" * 2000
    answer = _create(sync_server, sync_map, json.dumps({"text": text, "escaped": '"[[[["'}))
    assert answer.status_code == 201, answer.text
    assert sync_map["deep"]["text"] == text


def test_the_limit_is_a_choice():
    with SyncServer(choices=Choices(data_max_depth=3)) as server:
        store = server.store
        service = store.create_service()
        made = store.create_map(service.sid)
        url = f"{server.url}/v1/Services/{service.sid}/Maps/{made.sid}/Items"
        ok = requests.post(url, auth=server.auth, data={"Key": "k", "Data": _nested(3)}, timeout=10)
        assert ok.status_code == 201, ok.text
        deep = requests.post(
            url, auth=server.auth, data={"Key": "j", "Data": _nested(4)}, timeout=10
        )
        assert deep.status_code == 400
        assert deep.json()["code"] == 54008
