"""Lists (L1-L5) and List Items (LI1-LI5) through the official twilio client and plain HTTP.

List Items are addressed by the index the List gave them on append: 0, 1, 2... never
reused, so deletes leave gaps, and the listing reads across them in both orders with
an index cursor. Plain ``requests`` is used for conditional deletes (twilio-python drops
If-Match on delete), raw ``meta`` blocks and malformed input.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from datetime import timedelta
from typing import Any

import pytest
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

LIST_SID = re.compile(r"^ES[0-9a-f]{32}$")
UNKNOWN_LIST = "ES" + "0" * 32


def lists(client: Any, service: str) -> Any:
    return client.sync.v1.services(service).sync_lists


def items_of(client: Any, service: str, ref: str) -> Any:
    return lists(client, service)(ref).sync_list_items


def lists_url(server: Any, service: str) -> str:
    return f"{service_url(server, service)}/Lists"


def items_url(server: Any, service: str, ref: str) -> str:
    return f"{lists_url(server, service)}/{ref}/Items"


def make_list(server: Any, service: str, count: int, *, name: str = "l") -> Any:
    """A List called ``name`` holding ``count`` items ``{"i": index}``."""
    record = server.store.lists.create(service, unique_name=name)
    for i in range(count):
        server.store.lists.items.create(service, name, {"i": i})
    return record


# ====================================================================== Lists
def test_create_list(twilio_client, sync_server, sync_service):
    created = lists(twilio_client, sync_service.sid).create(unique_name="chat", ttl=600)
    assert last_response(twilio_client).status_code == 201
    assert "ETag" not in last_response(twilio_client).headers
    assert LIST_SID.match(created.sid)
    assert created.unique_name == "chat"
    assert created.account_sid == sync_server.account_sid
    assert created.service_sid == sync_service.sid
    assert created.revision == "0"
    assert created.created_by == "system"
    assert_recent(created.date_created)
    assert created.date_expires - created.date_created == timedelta(seconds=600)
    assert created.url == f"{lists_url(sync_server, sync_service.sid)}/{created.sid}"
    assert created.links == {
        "items": f"{created.url}/Items",
        "permissions": f"{created.url}/Permissions",
    }
    assert sync_server.store.lists.get(sync_service.sid, "chat").sid == created.sid


def test_list_body_has_exactly_the_spec_keys_in_order(sync_server, sync_service):
    body = raw(sync_server, "POST", lists_url(sync_server, sync_service.sid)).json()
    assert list(body) == [
        "sid",
        "unique_name",
        "account_sid",
        "service_sid",
        "url",
        "links",
        "revision",
        "date_expires",
        "date_created",
        "date_updated",
        "created_by",
    ]
    assert body["unique_name"] is None
    assert body["date_expires"] is None


@pytest.mark.parametrize(
    ("form", "ttl"),
    [
        ({"Ttl": "60"}, 60),
        ({"CollectionTtl": "120"}, 120),
        ({"Ttl": "60", "CollectionTtl": "120"}, 120),  # the alias is ignored then
        ({"Ttl": "oops", "CollectionTtl": "120"}, 120),  # ... not even validated
        ({"CollectionTtl": "0"}, None),
    ],
    ids=["ttl", "collection-ttl", "both", "bad-alias-ignored", "zero"],
)
@pytest.mark.parametrize("target", ["create", "update"])
def test_list_ttl_and_its_alias(sync_server, sync_service, form, ttl, target):
    url = lists_url(sync_server, sync_service.sid)
    if target == "update":
        sync_server.store.lists.create(sync_service.sid, unique_name="l")
        url += "/l"
    body = raw(sync_server, "POST", url, data=form).json()
    if ttl is None:
        assert body["date_expires"] is None
    else:
        assert body["date_expires"] is not None
        record = sync_server.store.lists.get(sync_service.sid, body["sid"])
        assert record.date_expires - record.date_updated == timedelta(seconds=ttl)
    if target == "update":
        assert body["revision"] == "1"


def test_fetch_list_by_sid_and_name(twilio_client, sync_server, sync_service):
    record = make_list(sync_server, sync_service.sid, 2)
    for ref in (record.sid, "l"):
        fetched = lists(twilio_client, sync_service.sid)(ref).fetch()
        assert (fetched.sid, fetched.unique_name) == (record.sid, "l")
        assert fetched.revision == "2"  # two appends
        assert fetched.url.endswith(f"/Lists/{record.sid}")


def test_update_list_ttl(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 0)
    updated = lists(twilio_client, sync_service.sid)("l").update(collection_ttl=300)
    assert last_response(twilio_client).status_code == 200
    assert updated.date_expires - updated.date_updated == timedelta(seconds=300)
    assert updated.revision == "1"


def test_item_writes_advance_the_list_revision(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 0)
    ctx = lists(twilio_client, sync_service.sid)("l")
    items = ctx.sync_list_items
    revisions = [ctx.fetch().revision]
    items.create(data={"a": 1})
    revisions.append(ctx.fetch().revision)
    items(0).update(data={"a": 2})
    revisions.append(ctx.fetch().revision)
    items(0).delete()
    revisions.append(ctx.fetch().revision)
    assert [int(r, 16) for r in revisions] == [0, 1, 2, 3]


def test_delete_list_takes_items_and_permissions(twilio_client, sync_server, sync_service):
    record = make_list(sync_server, sync_service.sid, 3)
    sync_server.store.lists.permissions.put(
        sync_service.sid, "l", "alice", read=True, write=False, manage=False
    )
    ctx = lists(twilio_client, sync_service.sid)
    assert ctx("l").delete() is True
    assert last_response(twilio_client).status_code == 204
    assert rest_error(ctx(record.sid).fetch) == (404, 54150)
    assert rest_error(ctx("l").fetch) == (404, 54300)
    assert rest_error(ctx(record.sid).delete) == (404, 54150)
    # SYNC_OTHER Q19: the items of a List that is gone answer the List's code.
    assert rest_error(ctx(record.sid).sync_list_items(0).fetch) == (404, 54150)
    assert page_error(ctx(record.sid).sync_list_items.list) == (404, 54150)
    again = ctx.create(unique_name="l")
    assert again.sid != record.sid
    assert items_of(twilio_client, sync_service.sid, "l").list() == []
    assert ctx("l").sync_list_permissions.list() == []


def test_list_lists_in_creation_order(twilio_client, sync_server, sync_service):
    sids = [sync_server.store.lists.create(sync_service.sid).sid for _ in range(5)]
    ctx = lists(twilio_client, sync_service.sid)
    assert [x.sid for x in ctx.list(page_size=2)] == sids
    page = ctx.page(page_size=3)
    assert [x.sid for x in page] == sids[:3]
    assert [x.sid for x in page.next_page()] == sids[3:]
    assert [x.sid for x in page.next_page().previous_page()] == sids[:3]
    body = raw(sync_server, "GET", lists_url(sync_server, sync_service.sid)).json()
    assert list(body) == ["lists", "meta"]
    assert body["meta"]["key"] == "lists"


def test_lists_in_the_default_service(twilio_client, sync_server):
    created = lists(twilio_client, "default").create(unique_name="l")
    assert created.service_sid == sync_server.store.default_service_sid
    item = items_of(twilio_client, "default", "l").create(data={"v": 1})
    assert item.service_sid == created.service_sid
    assert items_of(twilio_client, "default", created.sid)(0).fetch().data == {"v": 1}


def test_list_expires_with_its_items(twilio_client, sync_server, sync_service, sync_clock):
    ctx = lists(twilio_client, sync_service.sid)
    created = ctx.create(unique_name="l", ttl=60)
    items_of(twilio_client, sync_service.sid, "l").create(data={"v": 1}, item_ttl=3600)
    sync_clock.advance(seconds=59)
    assert ctx("l").fetch().sid == created.sid
    sync_clock.advance(seconds=1)
    assert rest_error(ctx(created.sid).fetch) == (404, 54150)
    assert rest_error(items_of(twilio_client, sync_service.sid, created.sid)(0).fetch) == (
        404,
        54150,
    )
    assert ctx.list() == []
    assert ctx.create(unique_name="l").sid != created.sid


# ================================================================= LI1 create
def test_create_items_appends_from_index_0(twilio_client, sync_server, sync_service):
    record = make_list(sync_server, sync_service.sid, 0)
    items = items_of(twilio_client, sync_service.sid, "l")
    created = [items.create(data={"n": n}) for n in range(3)]
    response = last_response(twilio_client)
    assert response.status_code == 201
    assert [c.index for c in created] == [0, 1, 2]
    assert response.headers["ETag"] == created[-1].revision
    first = created[0]
    assert first.data == {"n": 0}
    assert first.list_sid == record.sid
    assert first.service_sid == sync_service.sid
    assert first.account_sid == sync_server.account_sid
    assert first.created_by == "system"
    assert first.date_expires is None
    assert_recent(first.date_created)
    assert first.url == f"{lists_url(sync_server, sync_service.sid)}/{record.sid}/Items/0"
    assert [r.data for r in sync_server.store.lists.items.all(sync_service.sid, "l")] == [
        {"n": 0},
        {"n": 1},
        {"n": 2},
    ]


def test_list_item_body_has_exactly_the_spec_keys_in_order(sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 0)
    resp = raw(
        sync_server,
        "POST",
        items_url(sync_server, sync_service.sid, "l"),
        data={"Data": '{"a": [1, {"b": null}]}'},
    )
    body = resp.json()
    assert list(body) == [
        "index",
        "account_sid",
        "service_sid",
        "list_sid",
        "url",
        "revision",
        "data",
        "date_expires",
        "date_created",
        "date_updated",
        "created_by",
    ]
    assert body["data"] == {"a": [1, {"b": None}]}
    assert resp.headers["ETag"] == body["revision"]


def test_indexes_are_never_reused(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 3)
    items = items_of(twilio_client, sync_service.sid, "l")
    items(2).delete()
    items(0).delete()
    assert items.create(data={}).index == 3
    assert [i.index for i in items.list()] == [1, 3]


@pytest.mark.parametrize(
    ("params", "ttl"),
    [
        ({"ttl": 60}, 60),
        ({"item_ttl": 120}, 120),
        ({"ttl": 60, "item_ttl": 120}, 120),
        ({"ttl": 0}, None),
    ],
    ids=["ttl", "item-ttl", "both", "zero"],
)
def test_create_item_with_ttl(twilio_client, sync_server, sync_service, params, ttl):
    make_list(sync_server, sync_service.sid, 0)
    item = items_of(twilio_client, sync_service.sid, "l").create(data={}, **params)
    if ttl is None:
        assert item.date_expires is None
    else:
        assert item.date_expires - item.date_created == timedelta(seconds=ttl)
    assert sync_server.store.lists.get(sync_service.sid, "l").date_expires is None


def test_collection_ttl_sets_the_list_expiry(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 0)
    ctx = lists(twilio_client, sync_service.sid)("l")
    item = ctx.sync_list_items.create(data={}, collection_ttl=300)
    assert item.date_expires is None
    assert ctx.fetch().date_expires - item.date_created == timedelta(seconds=300)
    updated = ctx.sync_list_items(0).update(data={"v": 1}, collection_ttl=900)
    assert ctx.fetch().date_expires - updated.date_updated == timedelta(seconds=900)


# ================================================================= LI3 fetch
def test_fetch_item(twilio_client, sync_server, sync_service):
    record = make_list(sync_server, sync_service.sid, 3)
    for ref in (record.sid, "l"):
        item = items_of(twilio_client, sync_service.sid, ref)(1).fetch()
        assert last_response(twilio_client).headers["ETag"] == item.revision == "2"
        assert (item.index, item.data, item.list_sid) == (1, {"i": 1}, record.sid)


def test_index_with_leading_zeros_addresses_the_same_item(sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 8)
    body = raw(sync_server, "GET", items_url(sync_server, sync_service.sid, "l") + "/007").json()
    assert body["index"] == 7
    assert body["url"].endswith("/Items/7")


# ================================================================ LI4 update
def test_update_item_replaces_data(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 1)
    sync_server.store.lists.items.update(sync_service.sid, "l", 0, data={"a": 1, "b": 2})
    ctx = items_of(twilio_client, sync_service.sid, "l")(0)
    updated = ctx.update(data={"c": 3})
    assert last_response(twilio_client).status_code == 200
    assert last_response(twilio_client).headers["ETag"] == updated.revision
    assert updated.data == {"c": 3}
    assert ctx.fetch().data == {"c": 3}


def test_ttl_only_update_keeps_data(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 1)
    ctx = items_of(twilio_client, sync_service.sid, "l")(0)
    before = ctx.fetch()
    updated = ctx.update(item_ttl=90)
    assert updated.data == {"i": 0}
    assert updated.revision != before.revision
    assert updated.date_expires - updated.date_updated == timedelta(seconds=90)


def test_update_if_match_current_then_stale_is_412_54155(
    twilio_client, sync_server, sync_service, exchanges
):
    make_list(sync_server, sync_service.sid, 1)
    ctx = items_of(twilio_client, sync_service.sid, "l")(0)
    revisions = [ctx.fetch().revision]
    for n in range(3):
        revisions.append(ctx.update(data={"n": n}, if_match=revisions[-1]).revision)
    assert len(set(revisions)) == 4
    sent = [e.headers.get("If-Match") for e in exchanges if e.operation == "UpdateSyncListItem"]
    assert sent == revisions[:-1]
    with unchanged(sync_server, sync_service.sid):
        assert rest_error(lambda: ctx.update(data={"x": 1}, if_match=revisions[0])) == (
            412,
            54155,
        )


@pytest.mark.parametrize(
    ("template", "matches"),
    [("{}", True), ('"{}"', True), ('W/"{}"', True), ("*", True), ("ff", False)],
    ids=["bare", "quoted", "weak", "star", "stale"],
)
def test_update_if_match_forms(sync_server, sync_service, template, matches):
    make_list(sync_server, sync_service.sid, 1)
    revision = sync_server.store.lists.items.peek_revision(sync_service.sid, "l", 0)
    resp = raw(
        sync_server,
        "POST",
        items_url(sync_server, sync_service.sid, "l") + "/0",
        data={"Data": '{"v": 1}'},
        headers={"If-Match": template.format(revision)},
    )
    if matches:
        assert resp.status_code == 200
        assert resp.headers["ETag"] == resp.json()["revision"]
    else:
        assert_twilio_error(resp, 412, 54155)


# ================================================================ LI5 delete
def test_delete_item(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 2)
    items = items_of(twilio_client, sync_service.sid, "l")
    assert items(0).delete() is True
    assert last_response(twilio_client).status_code == 204
    assert rest_error(items(0).fetch) == (404, 54151)
    assert rest_error(items(0).delete) == (404, 54151)
    assert [i.index for i in items.list()] == [1]


def test_client_delete_drops_if_match(twilio_client, sync_server, sync_service, exchanges):
    """twilio-python builds the If-Match header for a List Item delete, then drops it."""
    make_list(sync_server, sync_service.sid, 1)
    assert items_of(twilio_client, sync_service.sid, "l")(0).delete(if_match="ffff") is True
    (delete,) = [e for e in exchanges if e.operation == "DeleteSyncListItem"]
    assert "If-Match" not in delete.headers
    assert sync_server.store.lists.items.count(sync_service.sid, "l") == 0


def test_async_client_delete_drops_if_match_too(
    twilio_async_client, sync_server, sync_service, exchanges
):
    make_list(sync_server, sync_service.sid, 1)

    async def scenario() -> bool:
        items = items_of(twilio_async_client, sync_service.sid, "l")
        return await items(0).delete_async(if_match="ffff")

    assert asyncio.run(scenario()) is True
    (delete,) = [e for e in exchanges if e.operation == "DeleteSyncListItem"]
    assert "If-Match" not in delete.headers
    assert sync_server.store.lists.items.count(sync_service.sid, "l") == 0


@pytest.mark.parametrize(
    ("template", "matches"),
    [("{}", True), ('"{}"', True), ('W/"{}"', True), ("*", True), ("ff", False)],
    ids=["bare", "quoted", "weak", "star", "stale"],
)
def test_conditional_delete_over_raw_http(sync_server, sync_service, template, matches):
    make_list(sync_server, sync_service.sid, 1)
    store = sync_server.store
    revision = store.lists.items.peek_revision(sync_service.sid, "l", 0)
    resp = raw(
        sync_server,
        "DELETE",
        items_url(sync_server, sync_service.sid, "l") + "/0",
        headers={"If-Match": template.format(revision)},
    )
    if matches:
        assert resp.status_code == 204
        assert store.lists.items.peek_revision(sync_service.sid, "l", 0) is None
    else:
        assert_twilio_error(resp, 412, 54155)
        assert store.lists.items.peek_revision(sync_service.sid, "l", 0) == revision


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_malformed_if_match_is_400_54003(sync_server, sync_service, method):
    make_list(sync_server, sync_service.sid, 1)
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server,
            method,
            items_url(sync_server, sync_service.sid, "l") + "/0",
            data={"Data": "{}"} if method == "POST" else None,
            headers={"If-Match": "xyz!"},
        )
        assert_twilio_error(resp, 400, 54003)


def test_if_match_is_ignored_on_fetch_and_create(sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 1)
    url = items_url(sync_server, sync_service.sid, "l")
    headers = {"If-Match": "xyz!"}
    assert raw(sync_server, "GET", url + "/0", headers=headers).status_code == 200
    assert raw(sync_server, "GET", url, headers=headers).status_code == 200
    assert raw(sync_server, "POST", url, data={"Data": "{}"}, headers=headers).status_code == 201


# ================================================================ LI2 paging
#: Indexes 0..24 appended, then these deleted: gaps inside and at the top.
DELETED = (3, 7, 8, 15, 24)
LIVE = [i for i in range(25) if i not in DELETED]

ORDER_CASES = [
    ("asc", None, None),
    ("desc", None, None),
    ("asc", "10", "inclusive"),
    ("asc", "10", "exclusive"),
    ("desc", "10", "inclusive"),
    ("desc", "10", "exclusive"),
    ("asc", "10", None),  # Bounds defaults to inclusive
    ("asc", "7", "inclusive"),  # From in a gap: the next index up
    ("desc", "7", "inclusive"),  # ... or down
    ("asc", "8", "exclusive"),
    ("desc", "8", "exclusive"),
    ("asc", "24", "inclusive"),  # the deleted top index
    ("desc", "24", "inclusive"),
    ("asc", "100", "inclusive"),  # past the end
    ("desc", "100", "exclusive"),
    ("asc", "0", "exclusive"),
    ("desc", "0", "inclusive"),
    ("desc", "0", "exclusive"),
]


def expected_indexes(order: str, start: str | None, bounds: str | None) -> list[int]:
    inclusive = bounds != "exclusive"
    if start is None:
        chosen = LIVE
    elif order == "asc":
        chosen = [i for i in LIVE if i > int(start) or (inclusive and i == int(start))]
    else:
        chosen = [i for i in LIVE if i < int(start) or (inclusive and i == int(start))]
    return sorted(chosen, reverse=order == "desc")


@pytest.fixture
def gappy(sync_server: Any, sync_service: Any) -> str:
    """The List ``l`` with the items of :data:`LIVE` (indexes with gaps)."""
    make_list(sync_server, sync_service.sid, 25)
    for index in DELETED:
        sync_server.store.lists.items.delete(sync_service.sid, "l", index)
    return "l"


@pytest.mark.parametrize(("order", "start", "bounds"), ORDER_CASES)
def test_list_order_from_bounds_over_gaps(
    twilio_client, sync_service, gappy, exchanges, order, start, bounds
):
    params: dict[str, Any] = {"order": order, "page_size": 4}
    if start is not None:
        params["from_"] = start
    if bounds is not None:
        params["bounds"] = bounds
    listed = items_of(twilio_client, sync_service.sid, gappy).list(**params)
    expected = expected_indexes(order, start, bounds)
    assert [i.index for i in listed] == expected
    assert all(i.data == {"i": i.index} for i in listed)
    pages = [e for e in exchanges if e.operation == "ListSyncListItem"]
    assert len(pages) == max(1, math.ceil(len(expected) / 4))  # no trailing empty page
    last = json.loads(pages[-1].body)["meta"]
    assert last["next_page_url"] is None


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_next_and_previous_pages_over_gaps(twilio_client, sync_service, gappy, order):
    items = items_of(twilio_client, sync_service.sid, gappy)
    expected = sorted(LIVE, reverse=order == "desc")
    chunks = [expected[i : i + 6] for i in range(0, len(expected), 6)]
    page = items.page(order=order, page_size=6)
    seen = []
    while page is not None:
        seen.append([i.index for i in page])
        last = page
        page = page.next_page()
    assert seen == chunks
    back = []
    page = last.previous_page()  # a twilio page iterates once: start from the one before
    while page is not None:
        back.append([i.index for i in page])
        page = page.previous_page()
    assert back == chunks[-2::-1]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_changes_between_pages_neither_repeat_nor_skip(
    twilio_client, sync_server, sync_service, order
):
    make_list(sync_server, sync_service.sid, 10)
    store, svc = sync_server.store, sync_service.sid
    items = items_of(twilio_client, svc, "l")
    first = items.page(order=order, page_size=4)
    got = [i.index for i in first]
    assert got == ([0, 1, 2, 3] if order == "asc" else [9, 8, 7, 6])
    # Remove a seen item and the next one to come; append two.
    store.lists.items.delete(svc, "l", got[0])
    upcoming = 4 if order == "asc" else 5
    store.lists.items.delete(svc, "l", upcoming)
    store.lists.items.create(svc, "l", {"i": 10})
    store.lists.items.create(svc, "l", {"i": 11})
    rest = []
    page = first.next_page()
    while page is not None:
        rest.extend(i.index for i in page)
        page = page.next_page()
    if order == "asc":
        assert rest == [5, 6, 7, 8, 9, 10, 11]  # appended items come at the end
    else:
        assert rest == [4, 3, 2, 1, 0]  # appended items are above the cursor


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_empty_page_after_removals_still_links_back(sync_server, sync_service, order):
    make_list(sync_server, sync_service.sid, 6)
    url = items_url(sync_server, sync_service.sid, "l")
    first = raw(sync_server, "GET", url, params={"Order": order, "PageSize": "3"}).json()
    shown = [i["index"] for i in first["items"]]
    for index in set(range(6)) - set(shown):
        sync_server.store.lists.items.delete(sync_service.sid, "l", index)
    empty = raw(sync_server, "GET", first["meta"]["next_page_url"]).json()
    assert empty["items"] == []
    assert empty["meta"]["next_page_url"] is None
    back = raw(sync_server, "GET", empty["meta"]["previous_page_url"]).json()
    assert [i["index"] for i in back["items"]] == shown


def test_meta_block_echoes_filters(sync_server, sync_service, gappy):
    url = items_url(sync_server, sync_service.sid, gappy)
    filters = {"Order": "desc", "From": "012", "Bounds": "exclusive"}
    resp = raw(sync_server, "GET", url, params={**filters, "PageSize": "3"})
    assert resp.status_code == 200
    assert "ETag" not in resp.headers
    body = resp.json()
    assert list(body) == ["items", "meta"]
    assert [i["index"] for i in body["items"]] == [11, 10, 9]
    meta = body["meta"]
    assert meta["key"] == "items"
    assert query_of(meta["url"]) == {**filters, "PageSize": "3", "Page": "0"}
    assert query_of(meta["first_page_url"]) == {**filters, "PageSize": "3", "Page": "0"}
    assert meta["url"].startswith(url + "?")
    next_query = query_of(meta["next_page_url"])
    assert next_query.pop("PageToken")
    assert next_query == {**filters, "PageSize": "3", "Page": "1"}
    second = raw(sync_server, "GET", meta["next_page_url"]).json()
    assert [i["index"] for i in second["items"]] == [6, 5, 4]
    assert [
        i["index"]
        for i in raw(sync_server, "GET", second["meta"]["previous_page_url"]).json()["items"]
    ] == [11, 10, 9]


def test_meta_urls_echo_the_list_as_addressed(sync_server, sync_service, gappy):
    record = sync_server.store.lists.get(sync_service.sid, gappy)
    url = items_url(sync_server, sync_service.sid, gappy)
    body = raw(sync_server, "GET", url, params={"PageSize": "2"}).json()
    assert body["meta"]["url"].startswith(url + "?")
    assert body["meta"]["next_page_url"].startswith(url + "?")
    assert body["items"][0]["url"].endswith(f"/Lists/{record.sid}/Items/0")


@pytest.mark.parametrize("name", ["Order", "From", "Bounds"])
def test_empty_list_parameters_count_as_not_sent(sync_server, sync_service, gappy, name):
    url = items_url(sync_server, sync_service.sid, gappy)
    body = raw(sync_server, "GET", url, params={name: "", "PageSize": "100"}).json()
    assert [i["index"] for i in body["items"]] == LIVE
    assert name not in query_of(body["meta"]["url"])


def test_empty_list_page(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 0)
    url = items_url(sync_server, sync_service.sid, "l")
    body = raw(sync_server, "GET", url).json()
    assert body["items"] == []
    assert body["meta"]["next_page_url"] is None
    assert body["meta"]["previous_page_url"] is None
    assert items_of(twilio_client, sync_service.sid, "l").list() == []


# ===================================================================== async
def test_list_items_async(twilio_async_client, sync_server, sync_service, gappy):
    items = items_of(twilio_async_client, sync_service.sid, gappy)

    async def scenario() -> None:
        created = await items.create_async(data={"new": True})
        assert created.index == 25
        assert last_response(twilio_async_client).headers["ETag"] == created.revision
        fetched = await items(25).fetch_async()
        updated = await items(25).update_async(data={"v": 2}, if_match=fetched.revision)
        assert updated.data == {"v": 2}
        with pytest.raises(TwilioRestException) as exc:
            await items(25).update_async(data={"v": 3}, if_match=fetched.revision)
        assert (exc.value.status, exc.value.code) == (412, 54155)
        listed = [i.index async for i in await items.stream_async(order="desc", page_size=5)]
        assert listed == sorted([*LIVE, 25], reverse=True)
        page = await items.page_async(from_="7", bounds="exclusive", page_size=3)
        assert [i.index for i in page] == [9, 10, 11]
        page = await page.next_page_async()
        assert [i.index for i in page] == [12, 13, 14]
        page = await page.previous_page_async()
        assert [i.index for i in page] == [9, 10, 11]
        assert await items(25).delete_async() is True
        with pytest.raises(TwilioRestException) as exc:
            await items(25).fetch_async()
        assert (exc.value.status, exc.value.code) == (404, 54151)
        lst = await lists(twilio_async_client, sync_service.sid)(gappy).fetch_async()
        assert lst.unique_name == gappy

    asyncio.run(scenario())


# ==================================================================== errors
def test_unknown_list_sid_is_404_54150(twilio_client, sync_service):
    ctx = lists(twilio_client, sync_service.sid)(UNKNOWN_LIST)
    assert rest_error(ctx.fetch) == (404, 54150)
    assert rest_error(lambda: ctx.update(ttl=1)) == (404, 54150)
    assert rest_error(ctx.delete) == (404, 54150)
    assert rest_error(lambda: ctx.sync_list_items.create(data={})) == (404, 54150)
    assert rest_error(ctx.sync_list_items(0).fetch) == (404, 54150)
    assert rest_error(lambda: ctx.sync_list_items(0).update(data={})) == (404, 54150)
    assert rest_error(ctx.sync_list_items(0).delete) == (404, 54150)
    assert page_error(ctx.sync_list_items.list) == (404, 54150)


def test_unknown_list_name_is_404_54300(twilio_client, sync_service):
    ctx = lists(twilio_client, sync_service.sid)("ES111")  # not a SID: a name
    assert rest_error(ctx.fetch) == (404, 54300)
    assert rest_error(ctx.delete) == (404, 54300)
    assert rest_error(lambda: ctx.sync_list_items.create(data={})) == (404, 54300)
    assert rest_error(ctx.sync_list_items(0).fetch) == (404, 54300)
    assert page_error(ctx.sync_list_items.list) == (404, 54300)


def test_missing_item_is_404_54151_item_not_found(sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 1)
    url = items_url(sync_server, sync_service.sid, "l")
    with unchanged(sync_server, sync_service.sid):
        for method, form in (("GET", None), ("POST", {"Data": "{}"}), ("DELETE", None)):
            for index in ("1", "999999999999999999"):
                resp = raw(sync_server, method, f"{url}/{index}", data=form)
                assert_twilio_error(resp, 404, 54151, "Item not found")


def test_duplicate_list_name_is_409_54301(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 0)
    with unchanged(sync_server, sync_service.sid):
        assert rest_error(
            lambda: lists(twilio_client, sync_service.sid).create(unique_name="l")
        ) == (
            409,
            54301,
        )


@pytest.mark.parametrize(
    "name", ["", "x" * 321, "ES" + "b" * 32, "a/b"], ids=["empty", "321", "sid", "slash"]
)
def test_invalid_list_name_is_400_54302(sync_server, sync_service, name):
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server, "POST", lists_url(sync_server, sync_service.sid), data={"UniqueName": name}
        )
        assert_twilio_error(resp, 400, 54302)


@pytest.mark.parametrize(
    "index", ["abc", "-1", "1.5", "1e3", "0x1", "99999999999999999999", " ", " 7", "+7"], ids=repr
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_bad_index_is_400_54458(sync_server, sync_service, method, index):
    make_list(sync_server, sync_service.sid, 1)
    url = f"{items_url(sync_server, sync_service.sid, 'l')}/{index}"
    with unchanged(sync_server, sync_service.sid):
        resp = raw(sync_server, method, url, data={"Data": "{}"} if method == "POST" else None)
        assert_twilio_error(resp, 400, 54458, "Invalid List Item index")


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999999999999", " 3"])
def test_bad_from_is_400_54458(sync_server, sync_service, value):
    make_list(sync_server, sync_service.sid, 1)
    resp = raw(
        sync_server, "GET", items_url(sync_server, sync_service.sid, "l"), params={"From": value}
    )
    assert_twilio_error(resp, 400, 54458, "From")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"Order": "sideways"}, 54451),
        ({"Bounds": "both"}, 54452),
        ({"PageToken": "not-a-token"}, 54453),
        ({"PageToken": "PTbm9wZQ"}, 54453),
        ({"PageSize": "0"}, 54454),
        ({"PageSize": "abc"}, 54454),
        ({"Page": "-1"}, 20001),
    ],
    ids=["order", "bounds", "token", "token-garbage-payload", "size-0", "size-text", "page"],
)
def test_bad_list_parameters(sync_server, sync_service, query, code):
    make_list(sync_server, sync_service.sid, 1)
    resp = raw(sync_server, "GET", items_url(sync_server, sync_service.sid, "l"), params=query)
    assert_twilio_error(resp, 400, code)


def test_page_token_of_a_map_listing_is_refused(sync_server, sync_service, sync_map):
    sync_map.put("a", {})
    sync_map.put("b", {})
    make_list(sync_server, sync_service.sid, 3)
    map_page = raw(sync_server, "GET", sync_map.items_url, params={"PageSize": "1"}).json()
    token = query_of(map_page["meta"]["next_page_url"])["PageToken"]
    resp = raw(
        sync_server,
        "GET",
        items_url(sync_server, sync_service.sid, "l"),
        params={"PageToken": token},
    )
    assert_twilio_error(resp, 400, 54453)


@pytest.mark.parametrize(
    "form", [{}, {"Data": ""}, {"Data": "null"}, {"Ttl": "5"}], ids=["none", "empty", "null", "ttl"]
)
def test_create_item_without_data_is_400_54156(sync_server, sync_service, form):
    make_list(sync_server, sync_service.sid, 0)
    with unchanged(sync_server, sync_service.sid):
        resp = raw(sync_server, "POST", items_url(sync_server, sync_service.sid, "l"), data=form)
        assert_twilio_error(resp, 400, 54156, "cannot be null")


def test_create_item_without_data_through_the_client(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 0)
    items = items_of(twilio_client, sync_service.sid, "l")
    assert rest_error(lambda: items.create(data=None)) == (400, 54156)


@pytest.mark.parametrize("target", ["create", "update"])
@pytest.mark.parametrize("data", ["{nope", "[1]", "7", '"s"', "NaN"], ids=str)
def test_data_that_is_not_a_json_object_is_400_54008(sync_server, sync_service, target, data):
    make_list(sync_server, sync_service.sid, 1)
    url = items_url(sync_server, sync_service.sid, "l") + ("" if target == "create" else "/0")
    with unchanged(sync_server, sync_service.sid):
        resp = raw(sync_server, "POST", url, data={"Data": data})
        assert_twilio_error(resp, 400, 54008)


@pytest.mark.parametrize("data", ["null", ""], ids=["null", "empty"])
def test_update_with_null_data_is_400_54156(sync_server, sync_service, data):
    make_list(sync_server, sync_service.sid, 1)
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server,
            "POST",
            items_url(sync_server, sync_service.sid, "l") + "/0",
            data={"Data": data},
        )
        assert_twilio_error(resp, 400, 54156)


def test_item_data_limit_is_16_kib(twilio_client, sync_server, sync_service):
    make_list(sync_server, sync_service.sid, 1)
    items = items_of(twilio_client, sync_service.sid, "l")
    overhead = len(json.dumps({"x": ""}, separators=(",", ":")))
    exactly = {"x": "é" * ((16 * 1024 - overhead) // 2)}
    assert items.create(data=exactly).data == exactly
    too_big = {"x": "a" * (16 * 1024 - overhead + 1)}
    with unchanged(sync_server, sync_service.sid):
        assert rest_error(lambda: items.create(data=too_big)) == (413, 54006)
        assert rest_error(lambda: items(0).update(data=too_big)) == (413, 54006)


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("list-create", "Ttl"),
        ("list-create", "CollectionTtl"),
        ("list-update", "CollectionTtl"),
        ("item-create", "ItemTtl"),
        ("item-create", "CollectionTtl"),
        ("item-update", "Ttl"),
        ("item-update", "CollectionTtl"),
    ],
)
@pytest.mark.parametrize("value", ["-1", "31536001", "soon"])
def test_invalid_ttl_is_400_54011(sync_server, sync_service, target, name, value):
    make_list(sync_server, sync_service.sid, 1)
    url = {
        "list-create": lists_url(sync_server, sync_service.sid),
        "list-update": lists_url(sync_server, sync_service.sid) + "/l",
        "item-create": items_url(sync_server, sync_service.sid, "l"),
        "item-update": items_url(sync_server, sync_service.sid, "l") + "/0",
    }[target]
    form = {name: value}
    if target.startswith("item"):
        form["Data"] = "{}"
    with unchanged(sync_server, sync_service.sid):
        assert_twilio_error(raw(sync_server, "POST", url, data=form), 400, 54011)


@pytest.mark.parametrize(
    ("target", "form"),
    [
        ("list", {}),
        ("list", {"UniqueName": "x"}),
        ("item", {}),
        ("item", {"CollectionTtl": "60"}),  # allowed only with Data or a TTL
        ("item", {"ItemTtl": ""}),
    ],
    ids=["list-empty", "list-name", "item-empty", "item-collection-ttl-alone", "item-blank-ttl"],
)
def test_update_with_nothing_to_change_is_400_54010(sync_server, sync_service, target, form):
    make_list(sync_server, sync_service.sid, 1)
    url = lists_url(sync_server, sync_service.sid) + "/l"
    if target == "item":
        url = items_url(sync_server, sync_service.sid, "l") + "/0"
    with unchanged(sync_server, sync_service.sid):
        assert_twilio_error(raw(sync_server, "POST", url, data=form), 400, 54010)


@pytest.mark.parametrize(
    ("method", "suffix", "status"),
    [
        ("PUT", "", 405),
        ("DELETE", "", 405),
        ("PATCH", "/l", 405),
        ("DELETE", "/l/Items", 405),
        ("PUT", "/l/Items/0", 405),
        ("GET", "/l/Items/0/x", 404),
        ("GET", "/l/Items/", 404),
    ],
)
def test_wrong_method_or_path(sync_server, sync_service, method, suffix, status):
    make_list(sync_server, sync_service.sid, 1)
    with unchanged(sync_server, sync_service.sid):
        resp = raw(sync_server, method, lists_url(sync_server, sync_service.sid) + suffix)
        assert_twilio_error(resp, status, 20004 if status == 405 else 20404)


def test_choices_change_the_index_and_data_codes():
    """``invalid_index_code=20404`` makes a bad path index a routing miss (SYNC_OTHER
    Q9b); ``missing_list_item_data_code=20001`` the platform's missing-parameter error."""
    choices = Choices(invalid_index_code=20404, missing_list_item_data_code=20001)
    with SyncServer(choices=choices) as server:
        server.store.lists.create("default", unique_name="l")
        url = items_url(server, "default", "l")
        body = assert_twilio_error(raw(server, "GET", f"{url}/abc"), 404, 20404)
        assert (
            body["message"]
            == "The requested resource /Services/default/Lists/l/Items/abc was not found"
        )
        assert_twilio_error(raw(server, "GET", url, params={"From": "x"}), 400, 20001, "From")
        assert_twilio_error(
            raw(server, "POST", url, data={}), 400, 20001, "Missing required parameter Data"
        )
