"""The handles of ``sync_list``, ``sync_document`` and ``sync_stream`` (and what every
handle shares with ``sync_map``), used the way a test suite uses them.

Handles arrange and inspect state without HTTP: reads go to the store, writes are
validated as the API validates them and get new revisions, every value handed out is a
copy, and a handle outlives its object (it reads as empty or gone; only ``.record``
raises).
"""

from __future__ import annotations

# Imported here so in-process pytester runs find them already loaded.
import aiohttp  # noqa: F401
import pytest
import requests
import twilio.rest  # noqa: F401

from pytest_syncmap import DocumentHandle, ListHandle, MapHandle, StreamHandle

pytest_plugins = ["pytester"]


# ------------------------------------------------------- what every handle has
COMMON = """
import pytest
import requests

from pytest_syncmap import SyncServer
from pytest_syncmap.domain.errors import ObjectNotFound

PREFIXES = {"map": "MP", "list": "ES", "document": "ET", "stream": "TO"}
PATHS = {"map": "Maps", "list": "Lists", "document": "Documents", "stream": "Streams"}


@pytest.mark.sync_map(unique_name="m")
@pytest.mark.sync_list(unique_name="l")
@pytest.mark.sync_document(unique_name="d")
@pytest.mark.sync_stream(unique_name="s")
def test_identity(sync_map, sync_list, sync_document, sync_stream, sync_service, sync_server):
    handles = [sync_map, sync_list, sync_document, sync_stream]
    assert [type(h).kind for h in handles] == ["map", "list", "document", "stream"]
    for handle, name in zip(handles, "mlds"):
        assert handle.sid.startswith(PREFIXES[handle.kind]) and len(handle.sid) == 34
        assert handle.unique_name == name
        assert handle.service_sid == sync_service.sid
        assert handle.server is sync_server and isinstance(handle.server, SyncServer)
        assert handle.url == (
            f"{sync_server.url}/v1/Services/{sync_service.sid}/{PATHS[handle.kind]}/{handle.sid}"
        )
        answer = requests.get(handle.url, auth=sync_server.auth, timeout=5)
        assert answer.json()["sid"] == handle.sid
        assert handle.record.sid == handle.sid and handle.record.unique_name == name
        assert handle.exists
        assert repr(handle) == f"<{type(handle).__name__} {handle.sid} unique_name={name!r}>"


@pytest.mark.sync_map(unique_name="m")
@pytest.mark.sync_list(unique_name="l")
@pytest.mark.sync_document(unique_name="d")
@pytest.mark.sync_stream(unique_name="s")
def test_a_handle_outlives_its_object(sync_map, sync_list, sync_document, sync_stream,
                                      sync_server):
    for handle in (sync_map, sync_list, sync_document, sync_stream):
        answer = requests.delete(handle.url, auth=sync_server.auth, timeout=5)
        assert answer.status_code == 204
        assert not handle.exists
        with pytest.raises(ObjectNotFound):
            handle.record
        assert repr(handle).endswith(" gone (deleted or expired)>")
    assert (len(sync_map), dict(sync_map), sync_map.item("k")) == (0, {}, None)
    assert (len(sync_list), list(sync_list), sync_list.indexes, sync_list.item(0)) == (
        0, [], [], None
    )
    assert (sync_document.data, sync_document.revision) == (None, None)
    assert [h.unique_name for h in (sync_map, sync_list, sync_document, sync_stream)] == list(
        "mlds"
    )
"""


def test_every_handle_has_the_same_identity(pytester):
    pytester.makepyfile(COMMON)
    pytester.runpytest().assert_outcomes(passed=2)


def test_handle_classes_name_their_kind():
    assert (MapHandle.kind, ListHandle.kind, DocumentHandle.kind, StreamHandle.kind) == (
        "map",
        "list",
        "document",
        "stream",
    )


# ------------------------------------------------------------------- Lists
LISTS = """
import pytest
from twilio.rest import Client

from pytest_syncmap.domain.errors import InvalidTtl, ListItemNotFound, NothingToUpdate, SyncError

CHAT = [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"}]


def rest(sync_list):
    return Client().sync.v1.services(sync_list.service_sid).sync_lists(sync_list.sid)


@pytest.mark.sync_list(items=CHAT)
def test_reads_like_a_sequence_by_position(sync_list):
    assert len(sync_list) == 4
    assert list(sync_list) == CHAT
    assert sync_list[0] == {"text": "a"} and sync_list[-1] == {"text": "d"}
    assert sync_list[1:3] == [{"text": "b"}, {"text": "c"}]
    assert list(reversed(sync_list)) == CHAT[::-1]
    assert {"text": "c"} in sync_list and {"text": "z"} not in sync_list
    assert sync_list.index({"text": "c"}) == 2  # Sequence.index: a position
    assert sync_list.count({"text": "a"}) == 1


@pytest.mark.sync_list(items=CHAT)
def test_positions_and_twilio_indexes_differ_after_a_removal(sync_list):
    rest(sync_list).sync_list_items(1).delete()
    sync_list.delete(2)
    assert sync_list.indexes == [0, 3]
    assert list(sync_list) == [{"text": "a"}, {"text": "d"}]
    assert sync_list[1] == {"text": "d"}  # position 1 ...
    assert sync_list.item(3).data == {"text": "d"}  # ... is index 3
    assert sync_list.item(1) is None and sync_list.item(2) is None
    with pytest.raises(IndexError, match=r"position 2 is out of range: the List holds 2 "
                       r"item\\(s\\) \\(indexes \\[0, 3\\]\\); sync_list.item\\(index\\) reads by "
                       r"Twilio index"):
        sync_list[2]
    # an append takes the next index, never a freed one
    assert sync_list.append({"text": "e"}).index == 4


def test_append_update_delete_are_writes_the_api_sees(sync_list):
    first = sync_list.append({"n": 1})
    second = sync_list.append({"n": 2}, ttl=60)
    assert (first.index, second.index) == (0, 1)
    assert first.revision < second.revision
    assert second.date_expires is not None and first.date_expires is None
    items = rest(sync_list).sync_list_items
    assert [(i.index, i.data, i.revision) for i in items.list()] == [
        (0, {"n": 1}, str(first.revision)), (1, {"n": 2}, str(second.revision)),
    ]
    updated = sync_list.update(0, {"n": 10})
    assert updated.index == 0 and updated.revision > second.revision
    assert items(0).fetch().data == {"n": 10}
    ttl_only = sync_list.update(0, ttl=30)
    assert ttl_only.data == {"n": 10} and ttl_only.date_expires is not None
    sync_list.delete(1)
    assert [i.index for i in items.list()] == [0]
    assert sync_list.record.revision == 5  # two appends, two updates and a removal
    with pytest.raises(ListItemNotFound):
        sync_list.delete(1)
    with pytest.raises(ListItemNotFound):
        sync_list.update(7, {"n": 1})


def test_writes_are_validated_like_the_api(sync_list):
    with pytest.raises(SyncError, match="16384"):
        sync_list.append({"big": "x" * 17000})
    with pytest.raises(InvalidTtl):
        sync_list.append({}, ttl=-1)
    sync_list.append({})
    with pytest.raises(NothingToUpdate):
        sync_list.update(0)
    assert len(sync_list) == 1


@pytest.mark.sync_list(items=[{"tags": ["x"]}])
def test_values_are_copies(sync_list):
    sync_list[0]["tags"].append("y")
    for value in sync_list:
        value["tags"].append("z")
    sync_list.item(0).data["tags"].append("w")
    assert list(sync_list) == [{"tags": ["x"]}]


def test_an_item_added_by_the_app_shows_at_once(sync_list):
    rest(sync_list).sync_list_items.create(data={"from": "app"})
    assert list(sync_list) == [{"from": "app"}] and sync_list.indexes == [0]
"""


def test_list_handle(pytester):
    pytester.makepyfile(LISTS)
    pytester.runpytest().assert_outcomes(passed=6)


def test_list_handle_items_url_lists_the_items(sync_list, sync_server):
    sync_list.append({"a": 1})
    answer = requests.get(sync_list.items_url, auth=sync_server.auth, timeout=5)
    assert [i["index"] for i in answer.json()["items"]] == [0]
    assert sync_list.items_url == sync_list.url + "/Items"


# --------------------------------------------------------------- Documents
DOCUMENTS = """
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from pytest_syncmap.domain.errors import DocumentNotFound, NothingToUpdate, SyncError


def rest(doc):
    return Client().sync.v1.services(doc.service_sid).documents(doc.sid)


@pytest.mark.sync_document(data={"status": "ringing", "legs": [1]})
def test_data_and_revision(sync_document):
    assert sync_document.data == {"status": "ringing", "legs": [1]}
    assert sync_document.revision == "0"
    sync_document.data["legs"].append(2)  # a copy
    assert sync_document.data == {"status": "ringing", "legs": [1]}
    rest(sync_document).update(data={"status": "answered"})
    assert sync_document.data == {"status": "answered"}  # replaced, not merged
    assert sync_document.revision == "1" == rest(sync_document).fetch().revision


def test_update_is_a_write_with_a_new_revision(sync_document):
    record = sync_document.update({"v": 1})
    assert (record.data, record.revision) == ({"v": 1}, 1)
    assert sync_document.revision == "1"
    # a client holding the old revision now gets 412
    with pytest.raises(TwilioRestException) as stale:
        rest(sync_document).update(data={"v": 2}, if_match="0")
    assert stale.value.status == 412
    ttl_only = sync_document.update(ttl=60)
    assert ttl_only.data == {"v": 1} and ttl_only.date_expires is not None
    assert sync_document.revision == "2"
    assert rest(sync_document).fetch().date_expires is not None


def test_update_is_validated_like_the_api(sync_document):
    with pytest.raises(SyncError, match="16384"):
        sync_document.update({"big": "x" * 17000})
    with pytest.raises(NothingToUpdate):
        sync_document.update()
    with pytest.raises(SyncError):
        sync_document.update({"v": 1}, ttl=10**9)
    assert sync_document.revision == "0"


@pytest.mark.sync_document(unique_name="call")
def test_delete(sync_document):
    sync_document.delete()
    assert not sync_document.exists
    assert (sync_document.data, sync_document.revision) == (None, None)
    assert sync_document.unique_name == "call"
    with pytest.raises(TwilioRestException) as gone:
        rest(sync_document).fetch()
    assert gone.value.status == 404
    with pytest.raises(DocumentNotFound):
        sync_document.delete()
    with pytest.raises(DocumentNotFound):
        sync_document.update({"v": 1})
"""


def test_document_handle(pytester):
    pytester.makepyfile(DOCUMENTS)
    pytester.runpytest().assert_outcomes(passed=4)


# ----------------------------------------------------------------- Streams
STREAMS = """
import asyncio

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from pytest_syncmap import StreamHandle
from pytest_syncmap.domain.errors import StreamNotFound, SyncError


def publisher(stream):
    return Client().sync.v1.services(stream.service_sid).sync_streams(stream.sid)


@pytest.mark.sync_stream(unique_name="typing")
def test_records_what_every_client_publishes(sync_stream, sync_server, twilio_async_client):
    sent = publisher(sync_stream).stream_messages.create(data={"via": "twilio"})
    answer = requests.post(
        sync_stream.messages_url, data={"Data": '{"via": "http"}'}, auth=sync_server.auth,
        timeout=5,
    )
    assert answer.status_code == 201

    async def publish_async():
        stream = twilio_async_client.sync.v1.services(sync_stream.service_sid).sync_streams(
            "typing"
        )
        await stream.stream_messages.create_async(data={"via": "async"})

    asyncio.run(publish_async())
    own = sync_stream.publish({"via": "handle"})
    assert sync_stream.published == [
        {"via": "twilio"}, {"via": "http"}, {"via": "async"}, {"via": "handle"}
    ]
    messages = sync_stream.messages
    assert [m.sid for m in messages][0] == sent.sid and messages[-1] == own
    assert messages[1].sid == answer.json()["sid"]
    assert all(m.sid.startswith("TZ") and m.stream_sid == sync_stream.sid for m in messages)
    assert [m.date_published for m in messages] == sorted(m.date_published for m in messages)


def test_only_its_own_stream_and_copies(sync_stream, sync_server):
    other = sync_server.store.streams.create(sync_stream.service_sid, unique_name="other")
    sync_server.store.streams.publish(sync_stream.service_sid, "other", {"elsewhere": 1})
    sync_stream.publish({"here": [1]})
    assert sync_stream.published == [{"here": [1]}]
    sync_stream.published[0]["here"].append(2)
    sync_stream.messages.clear()
    assert sync_stream.published == [{"here": [1]}]
    assert other.sid != sync_stream.sid


def test_publish_is_validated_like_the_api(sync_stream):
    with pytest.raises(SyncError, match="4096"):
        sync_stream.publish({"big": "x" * 5000})
    assert sync_stream.messages == []


def test_a_handle_made_by_hand_records_between_start_and_stop(sync_stream, sync_server):
    record = sync_server.store.streams.create(sync_stream.service_sid)
    handle = StreamHandle(sync_server, sync_stream.service_sid, record.sid, record=record)
    handle.publish({"n": 0})
    assert not handle.recording and handle.published == []
    assert handle.start_recording() is handle and handle.start_recording() is handle
    handle.publish({"n": 1})
    publisher(handle).stream_messages.create(data={"n": 2})
    handle.stop_recording()
    handle.stop_recording()
    handle.publish({"n": 3})
    assert handle.published == [{"n": 1}, {"n": 2}]
    assert len(sync_server.store.listeners) == 2  # the dispatcher and sync_stream


@pytest.mark.sync_stream(unique_name="typing")
def test_delete(sync_stream):
    sync_stream.publish({"n": 1})
    sync_stream.delete()
    assert not sync_stream.exists and sync_stream.unique_name == "typing"
    assert sync_stream.published == [{"n": 1}]  # the test's record of it stays
    with pytest.raises(TwilioRestException) as gone:
        publisher(sync_stream).stream_messages.create(data={"n": 2})
    assert gone.value.status == 404
    with pytest.raises(StreamNotFound):
        sync_stream.publish({"n": 3})
    with pytest.raises(StreamNotFound):
        sync_stream.delete()
"""


def test_stream_handle(pytester):
    pytester.makepyfile(STREAMS)
    pytester.runpytest().assert_outcomes(passed=5)


def test_recording_ignores_other_events(sync_stream, sync_map):
    """The recorder is a store listener that keeps only its Stream's messages."""
    for n in range(50):
        sync_map.put(f"k{n}", {"n": n})
    assert sync_stream.messages == []
    sync_stream.publish({"n": 1})
    assert sync_stream.published == [{"n": 1}]


def test_messages_url(sync_stream):
    assert sync_stream.messages_url == sync_stream.url + "/Messages"


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_map_handle_unchanged(sync_map):
    assert MapHandle.kind == "map"
    assert dict(sync_map) == {"k": {"v": 1}}
    assert repr(sync_map) == f"<MapHandle {sync_map.sid} unique_name=None>"
