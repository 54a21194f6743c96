"""What a request addressed, told the same way for every kind of Sync object.

Requests go through the official twilio client (and plain HTTP where the client cannot
send what is needed); the journal entry and the ``when=`` predicate's exchange must
say the kind, the object as the path named it, its SID and unique name, and the Map
key, List index or permission identity, without creating anything along the way.
"""

from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

ADDRESSED = ("kind", "object", "object_sid", "object_name", "key", "index", "identity")


def _addressed(entry):
    return tuple(getattr(entry, name) for name in ADDRESSED)


def _service(twilio_client, sync_service):
    return twilio_client.sync.v1.services(sync_service.sid)


# ------------------------------------------------------------ every kind
def test_every_kind_is_addressed_the_same_way(twilio_client, sync_service, sync_server):
    service = _service(twilio_client, sync_service)
    doc = service.documents.create(unique_name="profile", data={"v": 1})
    service.documents("profile").update(data={"v": 2}, if_match="0")
    chat = service.sync_lists.create(unique_name="chat")
    first = service.sync_lists("chat").sync_list_items.create(data={"m": "hi"})
    second = service.sync_lists(chat.sid).sync_list_items.create(data={"m": "yo"})
    service.sync_lists("chat").sync_list_items(1).fetch()
    service.sync_lists("chat").sync_list_permissions("alice").update(
        read=True, write=False, manage=False
    )
    stream = service.sync_streams.create()
    service.sync_streams(stream.sid).stream_messages.create(data={"typing": True})
    cart = service.sync_maps.create(unique_name="cart")
    service.sync_maps("cart").sync_map_items.create(key="apple", data={"n": 1})
    service.fetch()

    entries = sync_server.journal.entries
    assert [(e.operation, _addressed(e)) for e in entries] == [
        ("CreateDocument", ("document", None, doc.sid, "profile", None, None, None)),
        ("UpdateDocument", ("document", "profile", doc.sid, "profile", None, None, None)),
        ("CreateSyncList", ("list", None, chat.sid, "chat", None, None, None)),
        ("CreateSyncListItem", ("list", "chat", chat.sid, "chat", None, 0, None)),
        ("CreateSyncListItem", ("list", chat.sid, chat.sid, "chat", None, 1, None)),
        ("FetchSyncListItem", ("list", "chat", chat.sid, "chat", None, 1, None)),
        ("UpdateSyncListPermission", ("list", "chat", chat.sid, "chat", None, None, "alice")),
        ("CreateSyncStream", ("stream", None, stream.sid, None, None, None, None)),
        ("CreateStreamMessage", ("stream", stream.sid, stream.sid, None, None, None, None)),
        ("CreateSyncMap", ("map", None, cart.sid, "cart", None, None, None)),
        ("CreateSyncMapItem", ("map", "cart", cart.sid, "cart", "apple", None, None)),
        ("FetchService", ("service", sync_service.sid, sync_service.sid, None, None, None, None)),
    ]
    assert (first.index, second.index) == (0, 1)
    # Maps keep their own names; other kinds answer None to them.
    map_item = entries[10]
    assert (map_item.map, map_item.map_sid, map_item.map_name) == ("cart", cart.sid, "cart")
    assert map_item.map_refs() == {"cart", cart.sid}
    list_item = entries[3]
    assert (list_item.map, list_item.map_sid, list_item.map_name) == (None, None, None)
    assert list_item.map_refs() == frozenset()
    assert list_item.object_refs() == {"chat", chat.sid}
    # The revisions of Documents and List items are journalled like Map items'.
    assert [(e.revision_before, e.revision_after) for e in entries[:6]] == [
        (None, "0"),
        ("0", "1"),
        (None, None),
        (None, "1"),
        (None, "2"),
        ("2", "2"),
    ]


def test_the_default_service_is_the_service_it_resolves_to(twilio_client, sync_server):
    default = twilio_client.sync.v1.services("default")
    default.fetch()
    created = default.documents.create(unique_name="d")
    fetched, made = sync_server.journal.entries
    assert _addressed(fetched) == (
        "service",
        "default",
        sync_server.store.default_service_sid,
        None,
        None,
        None,
        None,
    )
    assert made.service == "default"
    assert (made.kind, made.object_sid, made.object_name) == ("document", created.sid, "d")


def test_a_deleted_object_is_still_named(twilio_client, sync_service, sync_server):
    service = _service(twilio_client, sync_service)
    chat = service.sync_lists.create(unique_name="chat")
    doc = service.documents.create(unique_name="doc")
    service.sync_lists("chat").delete()
    service.documents("doc").delete()
    deleted_list, deleted_doc = sync_server.journal.entries[-2:]
    assert _addressed(deleted_list) == ("list", "chat", chat.sid, "chat", None, None, None)
    assert _addressed(deleted_doc) == ("document", "doc", doc.sid, "doc", None, None, None)
    assert (deleted_doc.revision_before, deleted_doc.revision_after) == ("0", None)


def test_an_error_that_proves_the_object_names_it(twilio_client, sync_service, sync_server):
    service = _service(twilio_client, sync_service)
    doc = service.documents.create(unique_name="doc", data={"v": 1})
    chat = service.sync_lists.create(unique_name="chat")
    service.sync_lists("chat").sync_list_items.create(data={"m": 1})
    with pytest.raises(TwilioRestException) as stale:
        service.documents("doc").update(data={"v": 2}, if_match="7")
    assert (stale.value.status, stale.value.code) == (412, 54103)
    with pytest.raises(TwilioRestException) as gone:
        service.sync_lists("chat").sync_list_items(5).fetch()
    assert (gone.value.status, gone.value.code) == (404, 54151)
    with pytest.raises(TwilioRestException) as unknown:
        service.sync_lists("nope").sync_list_items(0).fetch()
    assert (unknown.value.status, unknown.value.code) == (404, 54300)

    conflict, missing_item, missing_list = sync_server.journal.entries[-3:]
    assert _addressed(conflict) == ("document", "doc", doc.sid, "doc", None, None, None)
    assert (conflict.revision_before, conflict.revision_after) == ("0", "0")
    assert _addressed(missing_item) == ("list", "chat", chat.sid, "chat", None, 5, None)
    assert _addressed(missing_list) == ("list", "nope", None, None, None, 0, None)


def test_a_path_index_that_is_not_an_index_is_none(sync_server, sync_service):
    url = f"{sync_server.url}/v1/Services/{sync_service.sid}/Lists/l/Items/abc"
    answer = requests.get(url, auth=sync_server.auth, timeout=10)
    assert answer.status_code == 400
    entry = sync_server.journal.last()
    assert (entry.kind, entry.object, entry.index, entry.code) == ("list", "l", None, 54458)


def test_naming_a_list_never_creates_the_default_service(sync_clock, sync_server, sync_faults):
    store = sync_server.store
    store.delete_service(store.default_service_sid)
    sync_faults.server_error(key="never", expect_fired=False)
    refused_at = sync_clock.advance(10)
    base = f"{sync_server.url}/v1/Services/default"
    for method, path, form in (
        ("POST", "/Lists/l/Items", {"Data": "[1]"}),
        ("POST", "/Lists/l/Items/0", {"Data": "[1]", "ItemTtl": "x"}),
        ("POST", "/Documents", {"Data": "{"}),
        ("POST", "/Streams/s/Messages", {}),
    ):
        refused = requests.request(method, base + path, data=form, auth=sync_server.auth)
        assert refused.status_code == 400, refused.text
    assert [e.object_sid for e in sync_server.journal.entries] == [None] * 4
    looked_at = sync_clock.advance(10)
    default = store.get_service("default")  # made now, by this lookup
    assert default.date_created == looked_at != refused_at


# ------------------------------------------------------- the predicate's view
def test_the_predicate_sees_the_kind_and_item(sync_faults, twilio_client, sync_service):
    service = _service(twilio_client, sync_service)
    service.sync_lists.create(unique_name="chat")
    service.sync_lists("chat").sync_list_items.create(data={"m": 1})
    seen = []

    def watch(exchange):
        seen.append((*_addressed(exchange), exchange.if_match, exchange.revision_before))
        return False

    sync_faults.not_found(when=watch, expect_fired=False, times=None)
    service.sync_lists("chat").sync_list_items(0).update(data={"m": 2}, if_match="1")
    assert seen == [("list", "chat", None, None, None, 0, None, "1", "1")]


# --------------------------------------------------------- webhooks, JSON
def test_webhook_entries_address_their_event_object(
    sync_webhooks, sync_service, sync_server, twilio_client
):
    service = _service(twilio_client, sync_service)
    chat = service.sync_lists.create(unique_name="chat")
    service.sync_lists("chat").sync_list_items.create(data={"m": 1})
    cart = service.sync_maps.create()
    service.sync_maps(cart.sid).sync_map_items.create(key="k", data={})
    sync_webhooks.wait_for(4)
    assert sync_server.webhooks.wait_idle()
    hooks = [e for e in sync_server.journal.entries if e.operation.startswith("Webhook ")]
    assert [(e.operation, _addressed(e)) for e in hooks] == [
        ("Webhook list_created", ("list", chat.sid, chat.sid, "chat", None, None, None)),
        ("Webhook list_item_added", ("list", chat.sid, chat.sid, "chat", None, 0, None)),
        ("Webhook map_created", ("map", cart.sid, cart.sid, None, None, None, None)),
        ("Webhook map_item_added", ("map", cart.sid, cart.sid, None, "k", None, None)),
    ]
    assert hooks[3].map == hooks[3].map_sid == cart.sid


def test_the_control_plane_journal_carries_every_field(twilio_client, sync_service, sync_server):
    service = _service(twilio_client, sync_service)
    chat = service.sync_lists.create(unique_name="chat")
    service.sync_lists("chat").sync_list_items.create(data={"m": 1})
    answer = requests.get(f"{sync_server.url}/_syncmap/journal", auth=sync_server.auth)
    created = next(e for e in answer.json()["entries"] if e["operation"] == "CreateSyncListItem")
    assert {name: created[name] for name in ADDRESSED} == {
        "kind": "list",
        "object": "chat",
        "object_sid": chat.sid,
        "object_name": "chat",
        "key": None,
        "index": 0,
        "identity": None,
    }
    assert (created["map"], created["map_sid"], created["map_name"]) == (None, None, None)
