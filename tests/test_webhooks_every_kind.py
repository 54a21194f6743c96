"""Webhooks for Documents, Lists, List Items and (by choice) Streams, end to end.

Writes go through the official twilio client; every webhook is checked as a receiving
application would check it: its parameters (``SYNC_OTHER.md`` section 4), the order of
``EventId``, and ``X-Twilio-Signature`` with twilio's own ``RequestValidator``. Expiry
is driven by ``sync_clock``. Streams send nothing unless ``choices.stream_webhooks``.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from pytest_syncmap import SyncServer
from pytest_syncmap.domain.choices import Choices

COMMON = {"AccountSid", "ServiceSid", "EventType", "Identity", "EventId"}


def _service(twilio_client, sync_service):
    return twilio_client.sync.v1.services(sync_service.sid)


def _check(sync_webhooks, auth_token, account_sid, service_sid):
    """Every webhook so far: the common parameters, signed, EventId strictly increasing."""
    validator = RequestValidator(auth_token)
    for hook in sync_webhooks.received:
        params = hook.params
        assert set(params) >= COMMON, params
        assert (params["AccountSid"], params["ServiceSid"]) == (account_sid, service_sid)
        assert params["Identity"] == "system"
        assert "EndpointId" not in params
        assert validator.validate(hook.url, params, hook.signature), params
    ids = [int(e["EventId"]) for e in sync_webhooks.events]
    assert all(a < b for a, b in itertools.pairwise(ids)), ids


def _only(params, *names):
    """The parameters beyond the common ones are exactly ``names``."""
    assert set(params) - COMMON == set(names), params


# --------------------------------------------------------------- documents
def test_document_events(sync_webhooks, sync_service, sync_server, twilio_client):
    service = _service(twilio_client, sync_service)
    created = service.documents.create(unique_name="call", data={"state": "ringing"})
    updated = service.documents("call").update(data={"state": "live"}, if_match="0")
    ttl_only = service.documents(created.sid).update(ttl=3600)
    service.documents("call").delete()
    nameless = service.documents.create()

    events = sync_webhooks.wait_for(5)
    sync_webhooks.assert_types(
        "document_created",
        "document_updated",
        "document_updated",
        "document_removed",
        "document_created",
    )
    _check(sync_webhooks, sync_server.auth_token, sync_server.account_sid, sync_service.sid)
    made, changed, touched, removed, bare = events
    for event, doc in ((made, created), (changed, updated), (touched, ttl_only)):
        _only(event, "DocumentSid", "DocumentUniqueName", "DocumentRevision", "DocumentData")
        assert (event["DocumentSid"], event["DocumentUniqueName"]) == (created.sid, "call")
        assert event["DocumentRevision"] == doc.revision
        assert json.loads(event["DocumentData"]) == doc.data
    assert json.loads(changed["DocumentData"]) == {"state": "live"}
    assert touched["DocumentRevision"] == "2"  # a TTL-only update is an update (Q16)
    _only(removed, "DocumentSid", "DocumentUniqueName", "DocumentRevision")
    assert removed["DocumentRevision"] == "2"
    _only(bare, "DocumentSid", "DocumentRevision", "DocumentData")
    assert (bare["DocumentSid"], json.loads(bare["DocumentData"])) == (nameless.sid, {})


# ------------------------------------------------------------------- lists
def test_list_and_list_item_events(sync_webhooks, sync_service, sync_server, twilio_client):
    service = _service(twilio_client, sync_service)
    chat = service.sync_lists.create(unique_name="chat")
    items = service.sync_lists("chat").sync_list_items
    first = items.create(data={"text": "hi", "é": True})
    second = items.create(data={"text": "yo"})
    edited = items(0).update(data={"text": "hello"})
    items(1).delete()
    # Neither a List's TTL nor a permission has an event.
    service.sync_lists(chat.sid).update(ttl=3600)
    service.sync_lists("chat").sync_list_permissions("ann").update(
        read=True, write=True, manage=False
    )
    service.sync_lists("chat").sync_list_permissions("ann").delete()
    revision = service.sync_lists("chat").fetch().revision
    service.sync_lists("chat").delete()

    events = sync_webhooks.wait_for(6)
    assert sync_server.webhooks.wait_idle()
    sync_webhooks.assert_types(
        "list_created",
        "list_item_added",
        "list_item_added",
        "list_item_updated",
        "list_item_removed",
        "list_removed",
    )
    _check(sync_webhooks, sync_server.auth_token, sync_server.account_sid, sync_service.sid)
    made, added, added_too, updated, removed, gone = events
    _only(made, "ListSid", "ListUniqueName", "ListRevision")
    assert (made["ListSid"], made["ListUniqueName"], made["ListRevision"]) == (
        chat.sid,
        "chat",
        "0",
    )
    for event, item in ((added, first), (added_too, second), (updated, edited)):
        _only(event, "ListSid", "ListUniqueName", "ItemIndex", "ItemData", "ItemRevision")
        assert (event["ListSid"], event["ListUniqueName"]) == (chat.sid, "chat")
        assert event["ItemIndex"] == str(item.index)
        assert event["ItemRevision"] == item.revision
        assert json.loads(event["ItemData"]) == item.data
    assert json.loads(added["ItemData"]) == {"text": "hi", "é": True}
    _only(removed, "ListSid", "ListUniqueName", "ItemIndex")
    assert removed["ItemIndex"] == "1"
    _only(gone, "ListSid", "ListUniqueName", "ListRevision")
    assert gone["ListRevision"] == revision


def test_every_kind_in_one_mutation_order(sync_webhooks, sync_service, twilio_client):
    service = _service(twilio_client, sync_service)
    cart = service.sync_maps.create()
    chat = service.sync_lists.create()
    service.sync_maps(cart.sid).sync_map_items.create(key="k", data={})
    doc = service.documents.create()
    service.sync_lists(chat.sid).sync_list_items.create(data={})
    service.documents(doc.sid).update(data={"v": 1})
    service.sync_maps(cart.sid).sync_map_items("k").delete()
    sync_webhooks.wait_for(7)
    sync_webhooks.assert_types(
        "map_created",
        "list_created",
        "map_item_added",
        "document_created",
        "list_item_added",
        "document_updated",
        "map_item_removed",
    )
    ids = [int(e["EventId"]) for e in sync_webhooks.events]
    assert ids == sorted(ids)
    assert len(set(ids)) == 7


# ------------------------------------------------------------------ expiry
def test_expiry_sends_removals_of_every_kind(
    sync_clock, sync_webhooks, sync_service, sync_server, twilio_client
):
    service = _service(twilio_client, sync_service)
    doc = service.documents.create(unique_name="short", ttl=60)
    chat = service.sync_lists.create(unique_name="chat", ttl=120)
    items = service.sync_lists("chat").sync_list_items
    items.create(data={"n": 0}, ttl=30)
    items.create(data={"n": 1})
    sync_webhooks.wait_for(4)

    sync_clock.advance(31)
    assert [i.index for i in items.list()] == [1]
    sync_clock.advance(30)
    sync_clock.advance(60)

    events = sync_webhooks.wait_for(7)
    sync_webhooks.assert_types(
        "document_created",
        "list_created",
        "list_item_added",
        "list_item_added",
        "list_item_removed",
        "document_removed",
        "list_removed",
    )
    _check(sync_webhooks, sync_server.auth_token, sync_server.account_sid, sync_service.sid)
    item_gone, doc_gone, list_gone = events[4:]
    _only(item_gone, "ListSid", "ListUniqueName", "ItemIndex")
    assert (item_gone["ListSid"], item_gone["ItemIndex"]) == (chat.sid, "0")
    _only(doc_gone, "DocumentSid", "DocumentUniqueName", "DocumentRevision")
    assert (doc_gone["DocumentSid"], doc_gone["DocumentUniqueName"]) == (doc.sid, "short")
    # An expired List takes its items along: one list_removed, no item removals.
    assert (list_gone["ListSid"], list_gone["ListUniqueName"]) == (chat.sid, "chat")


# ----------------------------------------------------------------- streams
def test_streams_send_nothing_by_default(
    sync_clock, sync_webhooks, sync_service, sync_server, twilio_client
):
    service = _service(twilio_client, sync_service)
    typing = service.sync_streams.create(unique_name="typing")
    service.sync_streams("typing").stream_messages.create(data={"on": True})
    service.sync_streams(typing.sid).delete()
    service.sync_streams.create(ttl=10)
    sync_clock.advance(11)
    assert list(service.sync_streams.list()) == []
    service.documents.create(unique_name="marker")  # something that is sent, after
    sync_webhooks.wait_for(1)
    assert sync_server.webhooks.wait_idle()
    sync_webhooks.assert_types("document_created")
    assert not any(e.operation.startswith("Webhook stream") for e in sync_server.journal.entries)


@pytest.fixture
def stream_server():
    """An emulator whose choices send Stream webhooks (``stream_webhooks=True``)."""
    with SyncServer(choices=Choices(stream_webhooks=True)) as server:
        yield server


def test_streams_send_published_and_removed_by_choice(stream_server, sync_webhooks):
    client = Client(stream_server.account_sid, stream_server.auth_token)
    client.region = client.edge = None
    client.sync.base_url = stream_server.url
    service = client.sync.v1.services.create(
        webhook_url=sync_webhooks.url, webhooks_from_rest_enabled=True
    )
    streams = client.sync.v1.services(service.sid).sync_streams
    typing = streams.create(unique_name="typing")
    message = streams("typing").stream_messages.create(data={"on": True, "who": "ann"})
    streams(typing.sid).update(ttl=60)  # a TTL change: no event
    streams("typing").delete()
    nameless = streams.create(ttl=5)
    streams(nameless.sid).stream_messages.create(data={})
    stream_server.clock.advance(timedelta(seconds=6))
    stream_server.store.collect()

    events = sync_webhooks.wait_for(4)
    assert stream_server.webhooks.wait_idle()
    sync_webhooks.assert_types(
        "stream_message_published",
        "stream_removed",
        "stream_message_published",
        "stream_removed",
    )
    _check(sync_webhooks, stream_server.auth_token, stream_server.account_sid, service.sid)
    published, removed, published_too, expired = events
    _only(published, "StreamSid", "StreamUniqueName", "MessageSid", "MessageData")
    assert (published["StreamSid"], published["StreamUniqueName"]) == (typing.sid, "typing")
    assert published["MessageSid"] == message.sid
    assert json.loads(published["MessageData"]) == {"on": True, "who": "ann"}
    _only(removed, "StreamSid", "StreamUniqueName")
    _only(published_too, "StreamSid", "MessageSid", "MessageData")
    _only(expired, "StreamSid")
    assert expired["StreamSid"] == nameless.sid
