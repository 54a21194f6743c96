"""One vocabulary across kinds: the words ``journal.find`` and faults share.

A conversation with every kind goes through the official client; the journal is then
searched with each word (``map=``, ``list=``, ``document=``, ``stream=``, ``kind=``,
``key=``, ``index=``, ``identity=``, short operation names per kind), and words that
name nothing or contradict each other are refused rather than matching nothing.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests

from pytest_syncmap.http.vocabulary import SHORT_NAMES


@pytest.fixture
def talk(twilio_client, sync_service, sync_server):
    """Two writes and a read of each kind's data, a permission, a Stream message."""
    service = twilio_client.sync.v1.services(sync_service.sid)
    cart = service.sync_maps.create(unique_name="cart")
    service.sync_maps("cart").sync_map_items.create(key="k", data={"v": 1})
    service.sync_maps(cart.sid).sync_map_items("k").update(data={"v": 2})
    service.sync_maps("cart").sync_map_items("k").fetch()
    doc = service.documents.create(unique_name="doc", data={"v": 1})
    service.documents("doc").update(data={"v": 2})
    service.documents(doc.sid).fetch()
    chat = service.sync_lists.create(unique_name="chat")
    service.sync_lists("chat").sync_list_items.create(data={"m": 1})
    service.sync_lists(chat.sid).sync_list_items.create(data={"m": 2})
    service.sync_lists("chat").sync_list_items(1).update(data={"m": 3})
    service.sync_lists("chat").sync_list_permissions("ann").update(
        read=True, write=True, manage=False
    )
    typing = service.sync_streams.create(unique_name="typing")
    service.sync_streams("typing").stream_messages.create(data={"on": True})
    return SimpleNamespace(
        journal=sync_server.journal, cart=cart, doc=doc, chat=chat, typing=typing
    )


def _ops(entries):
    return [e.operation for e in entries]


def test_short_names_mean_the_data_operations_of_every_kind(talk):
    assert _ops(talk.journal.find(operation="update")) == [
        "UpdateSyncMapItem",
        "UpdateDocument",
        "UpdateSyncListItem",
    ]
    assert _ops(talk.journal.find(operation="create")) == [
        "CreateSyncMapItem",
        "CreateDocument",
        "CreateSyncListItem",
        "CreateSyncListItem",
        "CreateStreamMessage",
    ]
    assert _ops(talk.journal.find(operation="publish")) == ["CreateStreamMessage"]
    assert _ops(talk.journal.find(operation="fetch")) == ["FetchSyncMapItem", "FetchDocument"]
    assert len(talk.journal.find(is_write=True)) == 8


def test_a_kind_in_question_narrows_short_names(talk):
    assert _ops(talk.journal.find(operation="create", kind="list")) == ["CreateSyncListItem"] * 2
    assert _ops(talk.journal.find(operation="update", document=talk.doc)) == ["UpdateDocument"]
    assert _ops(talk.journal.find(operation="create", stream="typing")) == ["CreateStreamMessage"]
    assert _ops(talk.journal.find(operation="update", key="k")) == ["UpdateSyncMapItem"]
    assert _ops(talk.journal.find(operation="create", kind="service")) == []
    assert SHORT_NAMES["service"]["create"] == "CreateService"
    assert _ops(talk.journal.find(operation=["create", "update"], kind=["map", "document"])) == [
        "CreateSyncMapItem",
        "UpdateSyncMapItem",
        "CreateDocument",
        "UpdateDocument",
    ]


@pytest.mark.parametrize("word", ["handle", "sid", "name"])
def test_an_object_word_matches_however_it_was_addressed(talk, word):
    journal = talk.journal
    chat = {"handle": talk.chat, "sid": talk.chat.sid, "name": "chat"}[word]
    assert _ops(journal.find(list=chat)) == [
        "CreateSyncList",
        "CreateSyncListItem",
        "CreateSyncListItem",
        "UpdateSyncListItem",
        "UpdateSyncListPermission",
    ]
    assert _ops(journal.find(list=chat, index=1)) == ["CreateSyncListItem", "UpdateSyncListItem"]
    assert _ops(journal.find(list=chat, identity="ann")) == ["UpdateSyncListPermission"]
    doc = {"handle": talk.doc, "sid": talk.doc.sid, "name": "doc"}[word]
    assert _ops(journal.find(document=doc)) == ["CreateDocument", "UpdateDocument", "FetchDocument"]


def test_kind_matches_every_request_about_a_kind(talk):
    assert _ops(talk.journal.find(kind="stream")) == ["CreateSyncStream", "CreateStreamMessage"]
    assert len(talk.journal.find(kind="map")) == 4
    assert talk.journal.find(kind="service") == []
    assert len(talk.journal.find(kind=["list", "stream"])) == 7


def test_handles_of_the_plugin_shape_are_told_by_their_kind(talk):
    as_list = SimpleNamespace(sid=talk.chat.sid, unique_name="chat", kind="list")
    assert len(talk.journal.find(list=as_list)) == 5
    with pytest.raises(TypeError, match=r"document= takes a Document, but it was given a List"):
        talk.journal.find(document=as_list)
    no_kind = SimpleNamespace(sid=talk.doc.sid, unique_name="doc")  # told by its SID
    with pytest.raises(TypeError, match="pass it as document="):
        talk.journal.find(map=no_kind)
    with pytest.raises(TypeError, match="pass it as map="):
        talk.journal.find(stream=talk.cart)  # the client's instance: told by its SID


@pytest.mark.parametrize(
    ("criteria", "error", "match"),
    [
        ({"list": "MP" + "0" * 32}, ValueError, "is the SID of a Map"),
        ({"kind": "queue"}, ValueError, "unknown kind 'queue'"),
        ({"kind": "map", "document": "doc"}, ValueError, "no request is both"),
        ({"key": "k", "index": 1}, ValueError, "no request is both"),
        ({"key": "k", "identity": "bob"}, ValueError, "no request is both"),
        ({"identity": "bob", "operation": "update"}, ValueError, "no request is both"),
        ({"identity": "bob", "operation": "UpdateSyncMapItem"}, ValueError, "no request is both"),
        ({"key": "k", "operation": "FetchSyncMapPermission"}, ValueError, "no request is both"),
        ({"index": 0, "operation": "UpdateSyncListPermission"}, ValueError, "no request is both"),
        ({"operation": "UpdateDocument", "list": "chat"}, ValueError, "is a document operation"),
        ({"operation": "fetch", "stream": "typing"}, ValueError, "names nothing for a Stream"),
        ({"operation": "publish", "kind": "map"}, ValueError, "names no operation of map"),
        ({"index": "1"}, TypeError, "index must be an integer"),
        ({"index": -1}, ValueError, "index cannot be negative"),
        ({"identity": 7}, TypeError, "identity must be a string"),
        ({"document": 3.5}, TypeError, "document= takes a Document SID"),
    ],
)
def test_words_that_name_nothing_are_refused(talk, criteria, error, match):
    with pytest.raises(error, match=match):
        talk.journal.find(**criteria)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("server_error", {"identity": "bob", "operation": "update"}),
        ("server_error", {"key": "k", "operation": "ListSyncMapPermission"}),
        ("conflict", {"identity": "bob"}),  # conditional writes are never permissions
        ("race", {"identity": "bob"}),
        ("already_exists", {"index": 0}),  # a List item create meets no name
        ("already_exists", {"identity": "bob"}),
    ],
)
def test_faults_refuse_an_item_word_none_of_their_operations_can_carry(
    sync_faults, sync_server, kind, words
):
    """README "Faults": words that contradict each other are refused when given, by
    every door, instead of a fault that can never fire."""
    with pytest.raises(ValueError, match="no request is both"):
        sync_faults.add(kind, **words)
    response = requests.post(
        f"{sync_server.url}/_syncmap/faults", json={"kind": kind, **words}, auth=sync_server.auth
    )
    assert (response.status_code, response.json()["code"]) == (400, 20001)
    assert sync_faults.faults == []


def test_faults_take_the_same_words(sync_faults, talk, twilio_client, sync_service):
    fault = sync_faults.server_error(operation="update", list=talk.chat, index=1)
    service = twilio_client.sync.v1.services(sync_service.sid)
    service.documents("doc").update(data={"v": 3})  # another kind: untouched
    with pytest.raises(Exception, match="500"):
        service.sync_lists("chat").sync_list_items(1).update(data={"m": 4})
    assert fault.fired == 1
    [entry] = talk.journal.find(operation="update", list=talk.chat, index=1, fault="server_error")
    assert entry.status == 500
