"""Documents (D1-D5) through the official twilio client, sync and async, and plain HTTP.

Plain ``requests`` is used where the client cannot say what a test needs: conditional
deletes (twilio-python's ``delete()`` takes no If-Match), quoted If-Match values, raw
``meta`` blocks and malformed input. The store is read only to arrange state and to
check what the API cannot show.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from typing import Any

import pytest
import requests
from sync_http import (
    CLIENT_WARNINGS,
    assert_recent,
    assert_twilio_error,
    last_response,
    page_error,
    query_of,
    raw,
    rest_error,
    service_url,
    unchanged,
)
from twilio.base.exceptions import TwilioRestException

from pytest_syncmap import Choices, SyncServer

pytestmark = CLIENT_WARNINGS

DOCUMENT_SID = re.compile(r"^ET[0-9a-f]{32}$")
UNKNOWN_DOCUMENT = "ET" + "0" * 32
UNKNOWN_SERVICE = "IS" + "0" * 32


def documents(client: Any, service: str) -> Any:
    return client.sync.v1.services(service).documents


def documents_url(server: Any, service: str) -> str:
    return f"{service_url(server, service)}/Documents"


# ================================================================= D1 create
def test_create_document(twilio_client, sync_server, sync_service):
    data = {"call": {"state": "ringing"}, "n": 1.5, "s": "é ✓", "list": [1, None, True]}
    doc = documents(twilio_client, sync_service.sid).create(
        unique_name="call-1", data=data, ttl=600
    )
    response = last_response(twilio_client)
    assert response.status_code == 201
    assert response.headers["ETag"] == doc.revision == "0"
    assert DOCUMENT_SID.match(doc.sid)
    assert doc.unique_name == "call-1"
    assert doc.account_sid == sync_server.account_sid
    assert doc.service_sid == sync_service.sid
    assert doc.data == data
    assert doc.created_by == "system"
    assert_recent(doc.date_created)
    assert doc.date_updated == doc.date_created
    assert doc.date_expires - doc.date_created == timedelta(seconds=600)
    assert doc.url == f"{documents_url(sync_server, sync_service.sid)}/{doc.sid}"
    assert doc.links == {"permissions": f"{doc.url}/Permissions"}
    stored = sync_server.store.documents.get(sync_service.sid, "call-1")
    assert (stored.sid, stored.data, stored.revision) == (doc.sid, data, 0)


def test_create_document_without_anything_holds_an_empty_object(twilio_client, sync_service):
    doc = documents(twilio_client, sync_service.sid).create()
    assert doc.data == {}
    assert doc.unique_name is None
    assert doc.date_expires is None
    assert documents(twilio_client, sync_service.sid)(doc.sid).fetch().data == {}


def test_document_body_has_exactly_the_spec_keys_in_order(sync_server, sync_service):
    resp = raw(sync_server, "POST", documents_url(sync_server, sync_service.sid), data={})
    assert list(resp.json()) == [
        "sid",
        "unique_name",
        "account_sid",
        "service_sid",
        "url",
        "links",
        "revision",
        "data",
        "date_expires",
        "date_created",
        "date_updated",
        "created_by",
    ]


def test_default_service_alias(twilio_client, sync_server):
    doc = documents(twilio_client, "default").create(unique_name="d", data={"v": 1})
    default_sid = sync_server.store.default_service_sid
    assert doc.service_sid == default_sid
    assert doc.url.startswith(f"{sync_server.url}/v1/Services/{default_sid}/Documents/")
    assert documents(twilio_client, "default")("d").fetch().sid == doc.sid
    assert [d.sid for d in documents(twilio_client, default_sid).list()] == [doc.sid]


# ===================================================================== D3 fetch
def test_fetch_by_sid_and_by_unique_name(twilio_client, sync_server, sync_service):
    created = sync_server.store.documents.create(sync_service.sid, unique_name="d", data={"a": 1})
    for ref in (created.sid, "d"):
        doc = documents(twilio_client, sync_service.sid)(ref).fetch()
        assert last_response(twilio_client).status_code == 200
        assert last_response(twilio_client).headers["ETag"] == doc.revision == "0"
        assert (doc.sid, doc.unique_name, doc.data) == (created.sid, "d", {"a": 1})
        assert doc.url.endswith(f"/Documents/{created.sid}")  # canonical SID


# ==================================================================== D4 update
def test_update_replaces_data_wholesale(twilio_client, sync_server, sync_service):
    sync_server.store.documents.create(sync_service.sid, unique_name="d", data={"a": 1, "b": 2})
    ctx = documents(twilio_client, sync_service.sid)("d")
    updated = ctx.update(data={"c": 3})
    response = last_response(twilio_client)
    assert response.status_code == 200
    assert response.headers["ETag"] == updated.revision == "1"
    assert updated.data == {"c": 3}
    assert updated.date_updated >= updated.date_created
    assert ctx.fetch().data == {"c": 3}


def test_ttl_only_update_keeps_data_and_bumps_revision(twilio_client, sync_server, sync_service):
    sync_server.store.documents.create(sync_service.sid, unique_name="d", data={"a": 1})
    updated = documents(twilio_client, sync_service.sid)("d").update(ttl=120)
    assert updated.data == {"a": 1}
    assert updated.revision == "1"
    assert updated.date_expires - updated.date_updated == timedelta(seconds=120)
    cleared = documents(twilio_client, sync_service.sid)("d").update(ttl=0)
    assert cleared.date_expires is None
    assert cleared.revision == "2"


def test_update_with_current_revision_then_stale_is_412_54103(
    twilio_client, sync_server, sync_service, exchanges
):
    sync_server.store.documents.create(sync_service.sid, unique_name="d", data={"v": 0})
    ctx = documents(twilio_client, sync_service.sid)("d")
    revisions = [ctx.fetch().revision]
    for n in range(1, 4):
        updated = ctx.update(data={"v": n}, if_match=revisions[-1])
        assert updated.data == {"v": n}
        assert updated.revision not in revisions
        revisions.append(updated.revision)
    sent = [e.headers.get("If-Match") for e in exchanges if e.operation == "UpdateDocument"]
    assert sent == revisions[:-1]
    with unchanged(sync_server, sync_service.sid):
        assert rest_error(lambda: ctx.update(data={"v": 99}, if_match="0")) == (412, 54103)
    assert ctx.fetch().data == {"v": 3}


@pytest.mark.parametrize(
    ("template", "matches"),
    [("{}", True), ('"{}"', True), ('W/"{}"', True), ("*", True), ("ff", False)],
    ids=["bare", "quoted", "weak", "star", "stale"],
)
def test_update_if_match_forms(sync_server, sync_service, template, matches):
    sync_server.store.documents.create(sync_service.sid, unique_name="d", data={"v": 0})
    url = f"{documents_url(sync_server, sync_service.sid)}/d"
    resp = raw(
        sync_server,
        "POST",
        url,
        data={"Data": '{"v": 1}'},
        headers={"If-Match": template.format("0")},
    )
    if matches:
        assert resp.status_code == 200
        assert resp.headers["ETag"] == resp.json()["revision"] == "1"
    else:
        assert_twilio_error(resp, 412, 54103)
        assert sync_server.store.documents.get(sync_service.sid, "d").data == {"v": 0}


@pytest.mark.parametrize("method", ["GET", "POST-create"])
def test_if_match_is_ignored_where_twilio_does_not_read_it(sync_server, sync_service, method):
    sync_server.store.documents.create(sync_service.sid, unique_name="d")
    base = documents_url(sync_server, sync_service.sid)
    headers = {"If-Match": "not a revision!"}
    if method == "GET":
        resp = raw(sync_server, "GET", f"{base}/d", headers=headers)
    else:
        resp = raw(sync_server, "POST", base, data={"Data": "{}"}, headers=headers)
    assert resp.status_code in (200, 201), resp.text


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_malformed_if_match_is_400_54003(sync_server, sync_service, method):
    sync_server.store.documents.create(sync_service.sid, unique_name="d")
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server,
            method,
            f"{documents_url(sync_server, sync_service.sid)}/d",
            data={"Data": "{}"} if method == "POST" else None,
            headers={"If-Match": "xyz!"},
        )
        assert_twilio_error(resp, 400, 54003)


# ==================================================================== D5 delete
def test_delete_document(twilio_client, sync_server, sync_service):
    doc = sync_server.store.documents.create(sync_service.sid, unique_name="d")
    sync_server.store.documents.permissions.put(
        sync_service.sid, "d", "alice", read=True, write=True, manage=True
    )
    assert documents(twilio_client, sync_service.sid)(doc.sid).delete() is True
    assert last_response(twilio_client).status_code == 204
    assert last_response(twilio_client).text == ""
    ctx = documents(twilio_client, sync_service.sid)
    assert rest_error(ctx(doc.sid).fetch) == (404, 54100)
    assert rest_error(ctx("d").fetch) == (404, 54300)
    assert rest_error(ctx(doc.sid).delete) == (404, 54100)
    # The name is free again, and the new Document has no permissions.
    again = ctx.create(unique_name="d")
    assert again.sid != doc.sid
    assert (
        sync_server.store.documents.permissions.page(sync_service.sid, "d", limit=10).records == []
    )


@pytest.mark.parametrize(
    ("template", "matches"),
    [("{}", True), ('"{}"', True), ('W/"{}"', True), ("*", True), ("5", False)],
    ids=["bare", "quoted", "weak", "star", "stale"],
)
def test_conditional_delete_over_raw_http(sync_server, sync_service, template, matches):
    """twilio-python cannot send If-Match on a Document delete; Twilio honours it (Q12)."""
    store = sync_server.store
    store.documents.create(sync_service.sid, unique_name="d", data={"v": 0})
    store.documents.update(sync_service.sid, "d", data={"v": 1})
    url = f"{documents_url(sync_server, sync_service.sid)}/d"
    resp = raw(sync_server, "DELETE", url, headers={"If-Match": template.format("1")})
    if matches:
        assert resp.status_code == 204
        assert resp.content == b""
        assert store.documents.peek_revision(sync_service.sid, "d") is None
    else:
        assert_twilio_error(resp, 412, 54103)
        assert store.documents.get(sync_service.sid, "d").data == {"v": 1}


def test_delete_if_match_ignored_when_the_choice_says_so():
    with SyncServer(choices=Choices(document_delete_if_match=False)) as server:
        server.store.documents.create("default", unique_name="d")
        url = f"{service_url(server, 'default')}/Documents/d"
        resp = raw(server, "DELETE", url, headers={"If-Match": "ff"})
        assert resp.status_code == 204
        assert server.store.documents.peek_revision("default", "d") is None


# ====================================================================== D2 list
def test_list_documents_in_creation_order_with_paging(twilio_client, sync_server, sync_service):
    store = sync_server.store
    sids = [store.documents.create(sync_service.sid, data={"i": i}).sid for i in range(5)]
    docs = documents(twilio_client, sync_service.sid)
    assert [d.sid for d in docs.list(page_size=2)] == sids
    assert [d.data for d in docs.list(limit=3)] == [{"i": 0}, {"i": 1}, {"i": 2}]
    first = docs.page(page_size=2)
    assert [d.sid for d in first] == sids[:2]
    assert first.previous_page() is None
    second = first.next_page()
    assert [d.sid for d in second] == sids[2:4]
    # Deleting a listed Document and adding one between pages neither repeats nor skips.
    store.documents.delete(sync_service.sid, sids[4])
    added = store.documents.create(sync_service.sid).sid
    third = second.next_page()
    assert [d.sid for d in third] == [added]
    assert third.next_page() is None
    assert [d.sid for d in third.previous_page()] == sids[2:4]


def test_list_meta_block(sync_server, sync_service):
    for _ in range(3):
        sync_server.store.documents.create(sync_service.sid)
    url = documents_url(sync_server, sync_service.sid)
    resp = raw(sync_server, "GET", url, params={"PageSize": "2"})
    assert resp.status_code == 200
    assert "ETag" not in resp.headers
    body = resp.json()
    assert list(body) == ["documents", "meta"]
    meta = body["meta"]
    assert meta["key"] == "documents"
    assert (meta["page"], meta["page_size"], meta["previous_page_url"]) == (0, 2, None)
    assert meta["url"] == meta["first_page_url"] == f"{url}?PageSize=2&Page=0"
    assert query_of(meta["next_page_url"])["PageToken"]
    second = raw(sync_server, "GET", meta["next_page_url"]).json()
    assert len(second["documents"]) == 1
    assert second["meta"]["next_page_url"] is None
    assert second["meta"]["page"] == 1


def test_list_of_a_service_without_documents(twilio_client, sync_service):
    assert documents(twilio_client, sync_service.sid).list() == []


# ===================================================================== async
def test_documents_async_round_trip(twilio_async_client, sync_server, sync_service):
    docs = documents(twilio_async_client, sync_service.sid)

    async def scenario() -> None:
        created = await docs.create_async(unique_name="d", data={"a": 1})
        assert last_response(twilio_async_client).status_code == 201
        assert last_response(twilio_async_client).headers["ETag"] == created.revision
        fetched = await docs("d").fetch_async()
        assert fetched.data == {"a": 1}
        updated = await docs("d").update_async(data={"b": 2}, if_match=fetched.revision)
        assert updated.data == {"b": 2}
        assert last_response(twilio_async_client).headers["ETag"] == updated.revision
        with pytest.raises(TwilioRestException) as exc:
            await docs("d").update_async(data={"c": 3}, if_match=fetched.revision)
        assert (exc.value.status, exc.value.code) == (412, 54103)
        assert [d.sid async for d in await docs.stream_async(page_size=1)] == [created.sid]
        assert [d.sid for d in await docs.list_async()] == [created.sid]
        assert await docs(created.sid).delete_async() is True
        with pytest.raises(TwilioRestException) as exc:
            await docs("d").fetch_async()
        assert (exc.value.status, exc.value.code) == (404, 54300)

    asyncio.run(scenario())
    assert sync_server.store.documents.page(sync_service.sid, limit=10).records == []


# ==================================================================== errors
def test_unknown_document_sid_is_404_54100(twilio_client, sync_service):
    ctx = documents(twilio_client, sync_service.sid)(UNKNOWN_DOCUMENT)
    assert rest_error(ctx.fetch) == (404, 54100)
    assert rest_error(lambda: ctx.update(data={})) == (404, 54100)
    assert rest_error(ctx.delete) == (404, 54100)
    assert page_error(ctx.document_permissions.list) == (404, 54100)
    perm = ctx.document_permissions("alice")
    assert rest_error(lambda: perm.update(read=True, write=True, manage=True)) == (404, 54100)


def test_unknown_document_name_is_404_54300(twilio_client, sync_service):
    ctx = documents(twilio_client, sync_service.sid)("nope")
    assert rest_error(ctx.fetch) == (404, 54300)
    assert rest_error(lambda: ctx.update(data={})) == (404, 54300)
    assert rest_error(ctx.delete) == (404, 54300)
    assert page_error(ctx.document_permissions.list) == (404, 54300)


def test_unknown_service_is_404_20404(twilio_client):
    docs = documents(twilio_client, UNKNOWN_SERVICE)
    assert rest_error(lambda: docs.create(data={})) == (404, 20404)
    assert rest_error(docs("d").fetch) == (404, 20404)
    assert page_error(docs.list) == (404, 20404)


def test_duplicate_unique_name_is_409_54301(twilio_client, sync_server, sync_service):
    docs = documents(twilio_client, sync_service.sid)
    docs.create(unique_name="d")
    with unchanged(sync_server, sync_service.sid):
        assert rest_error(lambda: docs.create(unique_name="d")) == (409, 54301)
    # Names are per kind (SYNC_OTHER Q6): a List and a Map may be called "d" too.
    services = twilio_client.sync.v1.services(sync_service.sid)
    assert services.sync_lists.create(unique_name="d").unique_name == "d"
    assert services.sync_maps.create(unique_name="d").unique_name == "d"


@pytest.mark.parametrize(
    "name",
    ["", "x" * 321, "ET" + "a" * 32, "AB1234567890abcdef1234567890abcdef", "a/b"],
    ids=["empty", "321", "sid-shaped", "other-sid-shape", "slash"],
)
def test_invalid_unique_name_is_400_54302(sync_server, sync_service, name):
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server,
            "POST",
            documents_url(sync_server, sync_service.sid),
            data={"UniqueName": name},
        )
        assert_twilio_error(resp, 400, 54302, "Invalid unique name")


def test_unique_name_of_320_characters_is_accepted(twilio_client, sync_service):
    name = "ü" * 320
    assert documents(twilio_client, sync_service.sid).create(unique_name=name).unique_name == name
    assert documents(twilio_client, sync_service.sid)(name).fetch().unique_name == name


@pytest.mark.parametrize("target", ["create", "update"])
@pytest.mark.parametrize("data", ["null", "", "  "], ids=["null", "empty", "blank"])
def test_null_or_empty_data_is_400_54101(sync_server, sync_service, target, data):
    sync_server.store.documents.create(sync_service.sid, unique_name="d", data={"v": 1})
    url = documents_url(sync_server, sync_service.sid)
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server,
            "POST",
            url if target == "create" else f"{url}/d",
            data={"Data": data},
        )
        assert_twilio_error(resp, 400, 54101, "cannot be null")


@pytest.mark.parametrize("target", ["create", "update"])
@pytest.mark.parametrize(
    "data", ["{nope", "[1, 2]", "3", '"text"', "NaN", '{"a": Infinity}'], ids=str
)
def test_data_that_is_not_a_json_object_is_400_54008(sync_server, sync_service, target, data):
    sync_server.store.documents.create(sync_service.sid, unique_name="d", data={"v": 1})
    url = documents_url(sync_server, sync_service.sid)
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server,
            "POST",
            url if target == "create" else f"{url}/d",
            data={"Data": data},
        )
        assert_twilio_error(resp, 400, 54008)


def test_data_limit_is_16_kib_of_compact_json(twilio_client, sync_server, sync_service):
    docs = documents(twilio_client, sync_service.sid)
    overhead = len(json.dumps({"x": ""}, separators=(",", ":")))
    exactly = {"x": "a" * (16 * 1024 - overhead)}
    doc = docs.create(unique_name="d", data=exactly)
    assert doc.data == exactly
    too_big = {"x": "a" * (16 * 1024 - overhead + 1)}
    with unchanged(sync_server, sync_service.sid):
        assert rest_error(lambda: docs.create(data=too_big)) == (413, 54006)
        assert rest_error(lambda: docs("d").update(data=too_big)) == (413, 54006)


@pytest.mark.parametrize("target", ["create", "update"])
@pytest.mark.parametrize("ttl", ["-1", "abc", "31536001", "1.5"])
def test_invalid_ttl_is_400_54011(sync_server, sync_service, target, ttl):
    sync_server.store.documents.create(sync_service.sid, unique_name="d")
    url = documents_url(sync_server, sync_service.sid)
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server,
            "POST",
            url if target == "create" else f"{url}/d",
            data={"Ttl": ttl},
        )
        assert_twilio_error(resp, 400, 54011)


@pytest.mark.parametrize("form", [{}, {"Ttl": ""}, {"UniqueName": "x"}], ids=str)
def test_update_with_nothing_to_change_is_400_54010(sync_server, sync_service, form):
    sync_server.store.documents.create(sync_service.sid, unique_name="d")
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server, "POST", f"{documents_url(sync_server, sync_service.sid)}/d", data=form
        )
        assert_twilio_error(resp, 400, 54010)


def test_update_with_nothing_to_change_through_the_client(twilio_client, sync_server, sync_service):
    sync_server.store.documents.create(sync_service.sid, unique_name="d")
    assert rest_error(documents(twilio_client, sync_service.sid)("d").update) == (400, 54010)


@pytest.mark.parametrize(
    ("method", "suffix", "status"),
    [
        ("PUT", "", 405),
        ("DELETE", "", 405),
        ("PATCH", "/d", 405),
        ("PUT", "/d", 405),
        ("GET", "/d/Items", 404),
    ],
)
def test_wrong_method_or_path(sync_server, sync_service, method, suffix, status):
    sync_server.store.documents.create(sync_service.sid, unique_name="d")
    with unchanged(sync_server, sync_service.sid):
        resp = raw(sync_server, method, documents_url(sync_server, sync_service.sid) + suffix)
        assert_twilio_error(resp, status, 20004 if status == 405 else 20404)


def test_deleting_the_service_takes_every_kind(twilio_client, sync_server):
    svc = twilio_client.sync.v1.services.create()
    ctx = twilio_client.sync.v1.services(svc.sid)
    doc = ctx.documents.create(unique_name="d")
    lst = ctx.sync_lists.create(unique_name="l")
    ctx.sync_lists("l").sync_list_items.create(data={})
    stream = ctx.sync_streams.create(unique_name="s")
    assert ctx.delete() is True
    for call in (
        ctx.documents(doc.sid).fetch,
        ctx.sync_lists(lst.sid).fetch,
        ctx.sync_lists("l").sync_list_items(0).fetch,
        ctx.sync_streams(stream.sid).fetch,
        lambda: ctx.sync_streams("s").stream_messages.create(data={}),
    ):
        assert rest_error(call) == (404, 20404)
    # The names lived in the deleted Service only.
    other = twilio_client.sync.v1.services.create().sid
    assert documents(twilio_client, other).create(unique_name="d").unique_name == "d"


@pytest.mark.parametrize(
    "suffix",
    [
        "/Documents",
        "/Documents/d",
        "/Documents/d/Permissions",
        "/Lists/l/Items/0",
        "/Lists/l/Permissions/alice",
        "/Streams/s/Messages",
    ],
)
def test_bad_credentials_are_401_20003_everywhere(sync_server, suffix):
    url = service_url(sync_server, "default") + suffix
    for auth in ((sync_server.account_sid, "wrong"), None):
        resp = requests.post(url, data={"Data": "{}"}, auth=auth, timeout=10)
        assert_twilio_error(resp, 401, 20003)
        assert resp.headers["WWW-Authenticate"].startswith("Basic")
