"""Faults on every kind: every fault kind on a route of every kind, through real requests.

The matrix sends one plain-HTTP request per route (Services, Maps and their items and
permissions, Documents, Lists and their items, Streams and their messages) with a fault
of each kind that names exactly that operation, and checks the Twilio answer the fault
promises, with the kind's own code; a fault that cannot apply to an operation is
refused when it is scheduled. Then the official client meets ``conflict`` and ``race``
on Documents and List Items the way retry code does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import requests
from sync_http import assert_twilio_error, raw
from twilio.base.exceptions import TwilioRestException

from pytest_syncmap.http.faults import KINDS, TRANSPORT_KINDS


@dataclass(frozen=True)
class Route:
    """One request of the matrix and what each fault kind must answer to it."""

    name: str
    operation: str
    method: str
    #: Path under the test Service (``{s}`` is replaced by the Service URL).
    path: str
    form: dict[str, str] = field(default_factory=dict)
    if_match: str | None = None
    #: What the request answers without a fault.
    ok: int = 200
    #: ``not_found``'s code (status 404).
    not_found: int = 20404
    #: ``conflict``'s code (status 412), for conditional writes.
    conflict: int | None = None
    #: ``already_exists``' code (status 409), for creates that can meet a name.
    exists: int | None = None


ROUTES = [
    Route("services", "ListService", "GET", "/v1/Services"),
    Route("service", "FetchService", "GET", "{s}"),
    Route("maps", "CreateSyncMap", "POST", "{s}/Maps", {"UniqueName": "new"}, ok=201,
          exists=54301),
    Route("map by sid", "FetchSyncMap", "GET", "{s}/Maps/{map}"),
    Route("map by name", "UpdateSyncMap", "POST", "{s}/Maps/cart", {"Ttl": "60"},
          not_found=54300),
    Route("map item create", "CreateSyncMapItem", "POST", "{s}/Maps/cart/Items",
          {"Key": "new", "Data": "{}"}, ok=201, not_found=54300, exists=54208),
    Route("map item update", "UpdateSyncMapItem", "POST", "{s}/Maps/{map}/Items/k",
          {"Data": '{"v": 2}'}, if_match="1", not_found=54201, conflict=54205),
    Route("map item delete", "DeleteSyncMapItem", "DELETE", "{s}/Maps/{map}/Items/k",
          if_match="1", ok=204, not_found=54201, conflict=54205),
    Route("map permission", "FetchSyncMapPermission", "GET", "{s}/Maps/cart/Permissions/ann",
          not_found=54354),
    Route("documents", "CreateDocument", "POST", "{s}/Documents", {"UniqueName": "new"},
          ok=201, exists=54301),
    Route("document", "FetchDocument", "GET", "{s}/Documents/{document}", not_found=54100),
    Route("document update", "UpdateDocument", "POST", "{s}/Documents/doc",
          {"Data": '{"v": 2}'}, if_match="0", not_found=54300, conflict=54103),
    Route("document delete", "DeleteDocument", "DELETE", "{s}/Documents/{document}",
          if_match="0", ok=204, not_found=54100, conflict=54103),
    Route("document permission", "UpdateDocumentPermission", "POST",
          "{s}/Documents/doc/Permissions/ann", {"Read": "true", "Write": "true",
                                                "Manage": "false"}, not_found=54354),
    Route("lists", "ListSyncList", "GET", "{s}/Lists"),
    Route("list", "DeleteSyncList", "DELETE", "{s}/Lists/{list}", ok=204, not_found=54150),
    Route("list item create", "CreateSyncListItem", "POST", "{s}/Lists/{list}/Items",
          {"Data": "{}"}, ok=201, not_found=54150),
    Route("list items", "ListSyncListItem", "GET", "{s}/Lists/chat/Items", not_found=54300),
    Route("list item", "FetchSyncListItem", "GET", "{s}/Lists/chat/Items/0", not_found=54151),
    Route("list item update", "UpdateSyncListItem", "POST", "{s}/Lists/{list}/Items/0",
          {"Data": '{"v": 2}'}, if_match="1", not_found=54151, conflict=54155),
    Route("list item delete", "DeleteSyncListItem", "DELETE", "{s}/Lists/chat/Items/0",
          if_match="1", ok=204, not_found=54151, conflict=54155),
    Route("list permission", "DeleteSyncListPermission", "DELETE",
          "{s}/Lists/chat/Permissions/ann", ok=204, not_found=54354),
    Route("streams", "CreateSyncStream", "POST", "{s}/Streams", {"UniqueName": "new"},
          ok=201, exists=54301),
    Route("stream", "FetchSyncStream", "GET", "{s}/Streams/{stream}", not_found=54250),
    Route("stream message", "CreateStreamMessage", "POST", "{s}/Streams/typing/Messages",
          {"Data": '{"on": true}'}, ok=201, not_found=54300),
]  # fmt: skip


@pytest.fixture
def world(sync_server, sync_service):
    """One object of each kind, an item in each collection, a permission on each."""
    store, s = sync_server.store, sync_service.sid
    cart = store.maps.create(s, unique_name="cart")
    store.maps.items.create(s, "cart", "k", {"v": 1})
    store.maps.permissions.put(s, "cart", "ann", read=True, write=False, manage=False)
    doc = store.documents.create(s, unique_name="doc", data={"v": 1})
    store.documents.permissions.put(s, "doc", "ann", read=True, write=False, manage=False)
    chat = store.lists.create(s, unique_name="chat")
    store.lists.items.create(s, "chat", {"v": 1})
    store.lists.permissions.put(s, "chat", "ann", read=True, write=False, manage=False)
    typing = store.streams.create(s, unique_name="typing")
    return {"s": sync_service.url, "map": cart.sid, "document": doc.sid, "list": chat.sid,
            "stream": typing.sid}  # fmt: skip


def _send(sync_server, route: Route, world):
    path = route.path.format(**world)
    url = path if path.startswith("http") else sync_server.url + path
    headers = {} if route.if_match is None else {"If-Match": route.if_match}
    return raw(sync_server, route.method, url, data=route.form or None, headers=headers)


def _applies(kind: str, route: Route) -> bool:
    if kind in ("conflict", "race"):
        return route.conflict is not None
    if kind == "already_exists":
        return route.exists is not None
    return True


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_every_fault_kind_on_every_route(sync_server, sync_faults, world, route, kind):
    if not _applies(kind, route):
        with pytest.raises(ValueError, match=f"a {kind!r} fault applies to"):
            sync_faults.add(kind, operation=route.operation)
        assert sync_faults.faults == []
        return
    settings = {"seconds": 0.01} if kind == "delay" else {}
    fault = sync_faults.add(kind, operation=route.operation, **settings)

    if kind in TRANSPORT_KINDS:
        with pytest.raises((requests.RequestException, ValueError)):
            _send(sync_server, route, world).json()
    else:
        answer = _send(sync_server, route, world)
        if kind == "conflict" or kind == "race":
            assert_twilio_error(answer, 412, route.conflict)
        elif kind == "not_found":
            assert_twilio_error(answer, 404, route.not_found)
        elif kind == "already_exists":
            assert_twilio_error(answer, 409, route.exists)
        elif kind == "rate_limited":
            assert_twilio_error(answer, 429, 54009)
            assert answer.headers["Retry-After"] == "1"
        elif kind == "server_error":
            assert_twilio_error(answer, 500, 20500)
        else:  # delay: then the ordinary answer
            assert answer.status_code == route.ok, answer.text
    assert fault.fired == 1
    entry = sync_server.journal.last(operation=route.operation)
    assert entry.fault == kind
    if kind == "conflict":
        # the conflict wrote nothing; the journal shows where the item (Document) stayed
        assert entry.revision_before == entry.revision_after == route.if_match
    if kind == "race":
        # the other writer really wrote: the 412 is against a newer revision
        assert entry.revision_after != entry.revision_before is not None


# ----------------------------------------------------- which requests match
def test_conflict_with_no_words_waits_for_any_conditional_write(sync_faults, sync_server, world):
    fault = sync_faults.conflict(times=None)
    s = world["s"]
    assert raw(sync_server, "POST", f"{s}/Lists/chat/Items/0", data={"Data": "{}"}).ok
    assert raw(sync_server, "GET", f"{s}/Documents/doc", headers={"If-Match": "0"}).ok
    answers = [
        raw(sync_server, "POST", f"{s}/Documents/doc", data={"Data": "{}"},
            headers={"If-Match": "0"}),
        raw(sync_server, "DELETE", f"{s}/Lists/chat/Items/0", headers={"If-Match": "2"}),
        raw(sync_server, "POST", f"{s}/Maps/cart/Items/k", data={"Data": "{}"},
            headers={"If-Match": "1"}),
    ]  # fmt: skip
    assert [a.json()["code"] for a in answers] == [54103, 54155, 54205]
    assert fault.fired == 3


def test_already_exists_needs_a_name_to_meet(sync_faults, sync_server, world):
    fault = sync_faults.already_exists(kind="document", times=None)
    s = world["s"]
    unnamed = raw(sync_server, "POST", f"{s}/Documents", data={"Data": "{}"})
    assert unnamed.status_code == 201  # nothing to collide with
    named = raw(sync_server, "POST", f"{s}/Documents", data={"UniqueName": "fresh"})
    assert_twilio_error(named, 409, 54301)
    item = raw(sync_server, "POST", f"{s}/Maps/cart/Items", data={"Key": "x", "Data": "{}"})
    assert item.status_code == 201  # kind="document": Map items are not in question
    assert fault.fired == 1


def test_not_found_by_object_word_leaves_other_kinds(sync_faults, sync_server, world):
    fault = sync_faults.not_found(list="chat", times=None)
    s = world["s"]
    assert raw(sync_server, "GET", f"{s}/Documents/doc").ok
    assert_twilio_error(raw(sync_server, "GET", f"{s}/Lists/{world['list']}"), 404, 54150)
    assert_twilio_error(raw(sync_server, "GET", f"{s}/Lists/chat/Items/0"), 404, 54151)
    assert_twilio_error(raw(sync_server, "GET", f"{s}/Lists/chat/Permissions/ann"), 404, 54354)
    assert fault.fired == 3


def test_a_missing_path_index_still_answers_the_item_code(sync_faults, sync_server, world):
    sync_faults.not_found(kind="list")
    answer = raw(sync_server, "GET", f"{world['s']}/Lists/chat/Items/abc")
    assert_twilio_error(answer, 404, 54151)


def test_faults_refuse_words_that_name_nothing(sync_faults, world):
    with pytest.raises(ValueError, match="names nothing for a Stream"):
        sync_faults.server_error(operation="fetch", kind="stream")
    with pytest.raises(ValueError, match="UpdateDocument is a document operation"):
        sync_faults.server_error(operation="UpdateDocument", list="chat")
    with pytest.raises(ValueError, match="no request is both"):
        sync_faults.server_error(key="k", list="chat")
    with pytest.raises(TypeError, match="give the kind of object once"):
        sync_faults.server_error(kind="list", object_kind="list")
    with pytest.raises(ValueError, match="a 'conflict' fault applies to"):
        sync_faults.conflict(operation="create")
    with pytest.raises(ValueError, match="a 'conflict' fault applies to"):
        sync_faults.conflict(kind="stream")
    assert sync_faults.faults == []


def test_fault_description_speaks_the_words(sync_faults, world):
    fault = sync_faults.race(list="chat", index=0, data={"v": 9}, expect_fired=False)
    assert fault.describe() == "race list=chat index=0 fired 0/1"
    other = sync_faults.server_error(kind="document", operation="fetch", expect_fired=False)
    assert other.describe() == "server_error operation=FetchDocument kind=document fired 0/1"


# ---------------------------------------------- retry code, official client
def update_document_with_retry(document_api, change, attempts=5):
    """Optimistic concurrency on a Document: fetch, conditional update, retry on 412."""
    for _ in range(attempts):
        current = document_api.fetch()
        try:
            return document_api.update(data=change(current.data), if_match=current.revision)
        except TwilioRestException as exc:
            if exc.status != 412:
                raise
    raise RuntimeError("gave up after conflicts")


def test_document_retry_wins_after_a_race(twilio_client, sync_service, sync_faults, sync_server):
    service = twilio_client.sync.v1.services(sync_service.sid)
    doc = service.documents.create(unique_name="counter", data={"n": 1, "who": "me"})
    fault = sync_faults.race(document=doc, data={"n": 10, "who": "other"})

    result = update_document_with_retry(
        service.documents("counter"), lambda data: {**data, "n": data["n"] + 1}
    )

    assert fault.fired == 1
    assert result.data == {"n": 11, "who": "other"}
    [stale] = sync_server.journal.find(document=doc, status=412)
    assert (stale.fault, stale.code, stale.if_match) == ("race", 54103, "0")
    assert (stale.revision_before, stale.revision_after) == ("0", "1")
    [won] = sync_server.journal.find(document="counter", operation="update", ok=True)
    assert (won.if_match, won.revision_before, won.revision_after) == ("1", "1", "2")


def test_list_item_conflict_through_the_client(twilio_client, sync_service, sync_faults):
    service = twilio_client.sync.v1.services(sync_service.sid)
    chat = service.sync_lists.create(unique_name="chat")
    item = service.sync_lists(chat.sid).sync_list_items.create(data={"m": "hi"})
    fault = sync_faults.conflict(list=chat, index=item.index)
    api = service.sync_lists("chat").sync_list_items(item.index)
    with pytest.raises(TwilioRestException) as info:
        api.update(data={"m": "edited"}, if_match=item.revision)
    assert (info.value.status, info.value.code) == (412, 54155)
    assert api.fetch().data == {"m": "hi"}  # a conflict writes nothing
    assert api.update(data={"m": "edited"}, if_match=item.revision).data == {"m": "edited"}
    assert fault.fired == 1


def test_list_item_race_really_writes_first(sync_server, sync_service, sync_faults):
    store, s = sync_server.store, sync_service.sid
    store.lists.create(s, unique_name="chat")
    store.lists.items.create(s, "chat", {"m": 1})
    store.lists.items.create(s, "chat", {"m": 2})
    sync_faults.race(list="chat", index=1, data={"m": "theirs"})
    url = f"{sync_service.url}/Lists/chat/Items/1"
    stale = raw(sync_server, "DELETE", url, headers={"If-Match": "2"})
    assert_twilio_error(stale, 412, 54155)
    assert store.lists.items.get(s, "chat", 1).data == {"m": "theirs"}
    entry = sync_server.journal.last(list="chat", index=1)
    assert (entry.revision_before, entry.revision_after, entry.fault) == ("2", "3", "race")


# ------------------------------------------------------- every door, every kind
@pytest.mark.sync_fault("not_found", kind="stream", times=None)
def test_the_marker_takes_the_kind_of_object(sync_server, world):
    s = world["s"]
    assert raw(sync_server, "GET", f"{s}/Documents/doc").ok
    assert_twilio_error(raw(sync_server, "GET", f"{s}/Streams/typing"), 404, 54300)


def test_the_control_plane_takes_it_as_object_kind(sync_server, sync_faults, world):
    control = f"{sync_server.url}/_syncmap/faults"
    added = raw(sync_server, "POST", control, json={"kind": "conflict", "object_kind": "list"})
    assert added.status_code == 201, added.text
    by_name = raw(sync_server, "POST", control, json={"kind": "not_found", "document": "doc"})
    assert by_name.status_code == 201, by_name.text
    refused = raw(sync_server, "POST", control, json={"kind": "conflict", "object_kind": "x"})
    assert_twilio_error(refused, 400, 20001, "unknown kind 'x'")
    listed = raw(sync_server, "GET", control).json()["faults"]
    assert [(f["kind"], f["object_kind"], f["document"]) for f in listed] == [
        ("conflict", "list", None),
        ("not_found", None, "doc"),
    ]
    s = world["s"]
    stale = raw(sync_server, "POST", f"{s}/Lists/chat/Items/0", data={"Data": "{}"},
                headers={"If-Match": "1"})  # fmt: skip
    assert_twilio_error(stale, 412, 54155)
    assert_twilio_error(raw(sync_server, "GET", f"{s}/Documents/{world['document']}"), 404, 54100)
