"""Map Items (I1-I5) through the official twilio client, sync and async, plus raw HTTP.

Plain ``requests`` is used only where the official client cannot say what a test
needs: quoted If-Match values, conditional deletes (twilio-python drops If-Match on
delete), raw ``meta`` blocks, and keys the client cannot put in a path.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from pytest_syncmap.http.exchange import Exchange

pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]

REVISION = re.compile(r"^[0-9a-f]+$")
KEYS_20 = {f"k{i:02d}": {"i": i} for i in range(20)}


# ------------------------------------------------------------------- helpers
def items_of(client: Any, sync_map: Any) -> Any:
    """The client's item list resource of ``sync_map`` (addressed by SID)."""
    return client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid).sync_map_items


def last_response(client: Any) -> Any:
    return client.http_client._test_only_last_response


def item_url(sync_map: Any, key: str) -> str:
    return f"{sync_map.url}/Items/{quote(key, safe='')}"


def raw(server: Any, method: str, url: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, url, auth=server.auth, timeout=10, **kwargs)


def assert_recent(moment: Any) -> None:
    """A datetime twilio parsed (so the wire format was Twilio's), close to now."""
    assert isinstance(moment, datetime), moment
    assert moment.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - moment) <= timedelta(seconds=5)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


@pytest.fixture
def exchanges(sync_server: Any) -> Iterator[list[Exchange]]:
    """Every request the emulator answers during the test, as it saw it."""
    seen: list[Exchange] = []

    def observer(exchange: Exchange) -> None:
        seen.append(exchange)

    sync_server.app.observers.append(observer)
    yield seen
    sync_server.app.observers.remove(observer)


def list_requests(seen: list[Exchange]) -> list[Exchange]:
    return [e for e in seen if e.operation == "ListSyncMapItem"]


# ================================================================ I1 create
def test_create_item(twilio_client, sync_map, sync_server):
    data = {"name": "Ada", "tags": ["x", None, True], "n": 1.5, "s": "é ✓"}
    item = items_of(twilio_client, sync_map).create(key="ada", data=data)
    response = last_response(twilio_client)
    assert response.status_code == 201
    assert isinstance(item.revision, str)
    assert REVISION.match(item.revision)
    assert response.headers["ETag"] == item.revision
    assert item.key == "ada"
    assert item.data == data
    assert item.created_by == "system"
    assert item.account_sid == sync_server.account_sid
    assert item.service_sid == sync_map.service_sid
    assert item.map_sid == sync_map.sid
    assert item.date_expires is None
    assert_recent(item.date_created)
    assert item.date_updated == item.date_created
    assert item.url == f"{sync_map.url}/Items/ada"
    assert (
        sync_map.url == f"{sync_server.url}/v1/Services/{sync_map.service_sid}/Maps/{sync_map.sid}"
    )
    assert urlsplit(item.url).netloc == urlsplit(sync_server.url).netloc
    assert sync_map["ada"] == data
    assert sync_map.item("ada").revision == int(item.revision, 16)


def test_create_item_in_map_addressed_by_unique_name(twilio_client, sync_service, sync_server):
    maps = twilio_client.sync.v1.services(sync_service.sid).sync_maps
    m = maps.create(unique_name="roster")
    item = maps("roster").sync_map_items.create(key="k", data={"v": 1})
    assert item.map_sid == m.sid
    assert item.url == f"{sync_server.url}/v1/Services/{sync_service.sid}/Maps/{m.sid}/Items/k"
    assert maps(m.sid).sync_map_items("k").fetch().data == {"v": 1}


@pytest.mark.parametrize(
    ("params", "ttl"),
    [
        ({"ttl": 60}, 60),
        ({"item_ttl": 120}, 120),
        ({"ttl": 60, "item_ttl": 120}, 120),  # Ttl is ignored when ItemTtl is sent too
        ({"ttl": 0}, None),
    ],
    ids=["ttl", "item-ttl", "both", "zero"],
)
def test_create_item_with_ttl(twilio_client, sync_map, params, ttl):
    item = items_of(twilio_client, sync_map).create(key="k", data={}, **params)
    if ttl is None:
        assert item.date_expires is None
    else:
        assert item.date_expires - item.date_created == timedelta(seconds=ttl)
        record = sync_map.item("k")
        assert record.date_expires is not None
        assert record.date_expires.replace(microsecond=0) == item.date_expires
    assert sync_map.record.date_expires is None


def test_collection_ttl_sets_the_map_expiry(twilio_client, sync_map):
    map_ctx = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
    item = items_of(twilio_client, sync_map).create(key="k", data={}, collection_ttl=300)
    assert item.date_expires is None
    assert map_ctx.fetch().date_expires - item.date_created == timedelta(seconds=300)
    updated = items_of(twilio_client, sync_map)("k").update(data={"v": 1}, collection_ttl=900)
    assert updated.date_expires is None
    assert map_ctx.fetch().date_expires - updated.date_updated == timedelta(seconds=900)


def test_item_writes_advance_the_map_revision(twilio_client, sync_map):
    map_ctx = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
    items = items_of(twilio_client, sync_map)
    revisions = [map_ctx.fetch().revision]
    items.create(key="k", data={})
    revisions.append(map_ctx.fetch().revision)
    items("k").update(data={"v": 1})
    revisions.append(map_ctx.fetch().revision)
    items("k").delete()
    revisions.append(map_ctx.fetch().revision)
    assert len(set(revisions)) == 4
    assert [int(r, 16) for r in revisions] == sorted(int(r, 16) for r in revisions)


@pytest.mark.sync_map(items={"taken": {"v": 1}})
def test_create_duplicate_key_is_409_54208(twilio_client, sync_map):
    revision = sync_map.item("taken").revision
    with pytest.raises(TwilioRestException) as exc:
        items_of(twilio_client, sync_map).create(key="taken", data={"v": 2})
    assert (exc.value.status, exc.value.code) == (409, 54208)
    assert sync_map["taken"] == {"v": 1}
    assert sync_map.item("taken").revision == revision


@pytest.mark.parametrize(
    ("key", "data", "status", "code"),
    [
        ("", {}, 400, 54209),
        ("x" * 321, {}, 400, 54209),
        ("k", "hello", 400, 54008),
        ("k", [1, 2], 400, 54008),
        ("k", '{"a": NaN}', 400, 54008),
        # 16 KiB of compact UTF-8 JSON: '{"d":"' + n + '"}' is n + 8 bytes.
        ("k", {"d": "x" * (16 * 1024 - 7)}, 413, 54006),
        ("k", {"d": "é" * (8 * 1024)}, 413, 54006),
        ("k", None, 400, 20001),
        ("k", {}, None, None),
        ("x" * 320, {}, None, None),
        ("é" * 320, {}, None, None),  # characters, not bytes
        ("é" * 321, {}, 400, 54209),
        ("k", {"d": "x" * (16 * 1024 - 8)}, None, None),
    ],
    ids=[
        "empty-key",
        "key-321",
        "data-not-json",
        "data-array",
        "data-nan",
        "data-16KiB-plus-1",
        "data-too-big-utf8",
        "data-missing",
        "empty-object-ok",
        "key-320-ok",
        "key-320-chars-ok",
        "key-321-chars",
        "data-exactly-16KiB-ok",
    ],
)
def test_create_item_validation(twilio_client, sync_map, key, data, status, code):
    items = items_of(twilio_client, sync_map)
    if status is None:
        assert items.create(key=key, data=data).key == key
        assert key in sync_map
        return
    with pytest.raises(TwilioRestException) as exc:
        items.create(key=key, data=data)
    assert (exc.value.status, exc.value.code) == (status, code)
    assert len(sync_map) == 0


# ================================================================= I3 fetch
@pytest.mark.sync_map(items={"a": {"x": 1}, "b": {"y": [1, 2]}})
def test_fetch_item(twilio_client, sync_map, sync_server):
    item = items_of(twilio_client, sync_map)("b").fetch()
    response = last_response(twilio_client)
    assert response.status_code == 200
    assert response.headers["ETag"] == item.revision == format(sync_map.item("b").revision, "x")
    assert item.key == "b"
    assert item.data == {"y": [1, 2]}
    assert item.created_by == "system"
    assert_recent(item.date_created)
    assert_recent(item.date_updated)
    assert item.date_expires is None
    assert item.url == f"{sync_map.url}/Items/b"
    assert item.url.startswith(sync_server.url + "/")


def test_fetch_missing_item_is_404_54201(twilio_client, sync_map):
    with pytest.raises(TwilioRestException) as exc:
        items_of(twilio_client, sync_map)("ghost").fetch()
    assert (exc.value.status, exc.value.code) == (404, 54201)


# ================================================================ I4 update
@pytest.mark.sync_map(items={"k": {"a": 1, "nested": {"x": 1}}})
def test_update_replaces_data(twilio_client, sync_map):
    ctx = items_of(twilio_client, sync_map)("k")
    before = ctx.fetch()
    updated = ctx.update(data={"b": 2})
    response = last_response(twilio_client)
    assert response.status_code == 200
    assert updated.data == {"b": 2}  # replaced, not merged
    assert response.headers["ETag"] == updated.revision
    assert int(updated.revision, 16) > int(before.revision, 16)
    assert updated.date_created == before.date_created
    assert updated.date_updated >= before.date_updated
    assert updated.date_expires is None
    assert ctx.fetch().data == {"b": 2}
    assert sync_map["k"] == {"b": 2}
    # The object returned by create() can update itself (it carries its key).
    created = items_of(twilio_client, sync_map).create(key="other", data={"v": 1})
    assert created.update(data={"v": 2}).data == {"v": 2}
    assert sync_map["other"] == {"v": 2}


@pytest.mark.sync_map(items={"k": {"keep": True}})
def test_update_ttl_only_keeps_data(twilio_client, sync_map):
    ctx = items_of(twilio_client, sync_map)("k")
    with_ttl = ctx.update(ttl=90)
    assert with_ttl.data == {"keep": True}
    assert with_ttl.date_expires - with_ttl.date_updated == timedelta(seconds=90)
    # A TTL is fixed: a data update does not move the expiry.
    data_only = ctx.update(data={"keep": False})
    assert data_only.date_expires == with_ttl.date_expires
    cleared = ctx.update(item_ttl=0)
    assert cleared.date_expires is None
    assert cleared.data == {"keep": False}
    assert sync_map.item("k").date_expires is None


@pytest.mark.sync_map(items={"k": {"v": 1}})
@pytest.mark.parametrize(
    ("params", "code"),
    [({}, 54010), ({"collection_ttl": 60}, 54010), ({"ttl": 31_536_001}, 54011)],
    ids=["nothing", "collection-ttl-alone", "ttl-too-big"],
)
def test_update_invalid(twilio_client, sync_map, params, code):
    revision = sync_map.item("k").revision
    with pytest.raises(TwilioRestException) as exc:
        items_of(twilio_client, sync_map)("k").update(**params)
    assert (exc.value.status, exc.value.code) == (400, code)
    assert sync_map.item("k").revision == revision


def test_update_missing_item_is_404_54201(twilio_client, sync_map):
    with pytest.raises(TwilioRestException) as exc:
        items_of(twilio_client, sync_map)("ghost").update(data={"v": 1})
    assert (exc.value.status, exc.value.code) == (404, 54201)
    assert "ghost" not in sync_map


# ================================================================ I5 delete
@pytest.mark.sync_map(items={"a": {"v": 1}, "b": {"v": 2}})
def test_delete_item(twilio_client, sync_map):
    ctx = items_of(twilio_client, sync_map)("a")
    assert ctx.delete() is True
    assert last_response(twilio_client).status_code == 204
    assert last_response(twilio_client).text == ""
    assert "a" not in sync_map
    assert dict(sync_map) == {"b": {"v": 2}}
    for call in (ctx.fetch, ctx.delete):
        with pytest.raises(TwilioRestException) as exc:
            call()
        assert (exc.value.status, exc.value.code) == (404, 54201)


def test_deleted_key_can_be_created_again_with_a_newer_revision(twilio_client, sync_map):
    items = items_of(twilio_client, sync_map)
    first = items.create(key="k", data={"v": 1})
    assert items("k").delete() is True
    second = items.create(key="k", data={"v": 2})
    assert int(second.revision, 16) > int(first.revision, 16)
    # A stale revision from the old incarnation cannot match the new one.
    with pytest.raises(TwilioRestException) as exc:
        items("k").update(if_match=first.revision, data={"v": 3})
    assert (exc.value.status, exc.value.code) == (412, 54205)


# ===================================================================== async
def test_items_async_round_trip(twilio_async_client, sync_map, sync_server):
    items = items_of(twilio_async_client, sync_map)

    async def scenario() -> None:
        created = await items.create_async(key="k", data={"a": 1})
        response = last_response(twilio_async_client)
        assert response.status_code == 201
        assert response.headers["ETag"] == created.revision
        assert created.created_by == "system"
        assert_recent(created.date_created)
        assert created.url == f"{sync_map.url}/Items/k"
        fetched = await items("k").fetch_async()
        assert last_response(twilio_async_client).headers["ETag"] == fetched.revision
        assert fetched.data == {"a": 1}
        updated = await items("k").update_async(data={"b": 2}, if_match=fetched.revision)
        assert updated.data == {"b": 2}
        assert last_response(twilio_async_client).headers["ETag"] == updated.revision
        with pytest.raises(TwilioRestException) as exc:
            await items("k").update_async(data={"c": 3}, if_match=fetched.revision)
        assert (exc.value.status, exc.value.code) == (412, 54205)
        with pytest.raises(TwilioRestException) as exc:
            await items.create_async(key="k", data={})
        assert (exc.value.status, exc.value.code) == (409, 54208)
        assert await items("k").delete_async() is True
        assert last_response(twilio_async_client).status_code == 204
        with pytest.raises(TwilioRestException) as exc:
            await items("k").fetch_async()
        assert (exc.value.status, exc.value.code) == (404, 54201)

    asyncio.run(scenario())
    assert len(sync_map) == 0


@pytest.mark.sync_map(items=KEYS_20)
def test_items_async_paging(twilio_async_client, sync_map):
    items = items_of(twilio_async_client, sync_map)

    async def scenario() -> None:
        listed = await items.list_async(page_size=3)
        assert [i.key for i in listed] == sorted(KEYS_20)
        streamed = [i.key async for i in await items.stream_async(order="desc", page_size=6)]
        assert streamed == sorted(KEYS_20, reverse=True)
        page = await items.page_async(from_="k05", bounds="exclusive", page_size=4)
        assert [i.key for i in page] == ["k06", "k07", "k08", "k09"]
        page = await page.next_page_async()
        assert [i.key for i in page] == ["k10", "k11", "k12", "k13"]
        page = await page.previous_page_async()
        assert [i.key for i in page] == ["k06", "k07", "k08", "k09"]

    asyncio.run(scenario())


def test_async_delete_drops_if_match_too(twilio_async_client, sync_map, exchanges):
    sync_map.put("k", {"v": 1})

    async def scenario() -> bool:
        return await items_of(twilio_async_client, sync_map)("k").delete_async(if_match="ffff")

    assert asyncio.run(scenario()) is True
    assert "k" not in sync_map
    (delete,) = [e for e in exchanges if e.operation == "DeleteSyncMapItem"]
    assert "If-Match" not in delete.headers


# ================================================================== If-Match
@pytest.mark.sync_map(items={"k": {"v": 0}})
def test_update_with_current_revision_succeeds(twilio_client, sync_map, exchanges):
    ctx = items_of(twilio_client, sync_map)("k")
    revision = ctx.fetch().revision
    for n in range(1, 4):
        updated = ctx.update(if_match=revision, data={"v": n})
        assert updated.data == {"v": n}
        assert updated.revision != revision
        revision = updated.revision
    assert sync_map["k"] == {"v": 3}
    sent = [e.headers.get("If-Match") for e in exchanges if e.operation == "UpdateSyncMapItem"]
    assert len(sent) == 3
    assert all(sent)


@pytest.mark.sync_map(items={"k": {"v": 0}})
def test_update_with_stale_revision_is_412_54205(twilio_client, sync_map):
    ctx = items_of(twilio_client, sync_map)("k")
    stale = ctx.fetch().revision
    current = ctx.update(data={"v": 1})
    with pytest.raises(TwilioRestException) as exc:
        ctx.update(if_match=stale, data={"v": 2})
    assert (exc.value.status, exc.value.code) == (412, 54205)
    after = ctx.fetch()
    assert after.data == {"v": 1}
    assert after.revision == current.revision
    assert after.date_updated == current.date_updated
    assert sync_map.item("k").revision == int(current.revision, 16)


@pytest.mark.sync_map(items={"k": {"v": 0}})
@pytest.mark.parametrize(
    ("template", "matches"),
    [
        ("{rev}", True),
        ('"{rev}"', True),
        ('W/"{rev}"', True),
        ("*", True),
        ('"{stale}"', False),
        ('W/"{stale}"', False),
    ],
    ids=["bare", "quoted", "weak", "star", "quoted-stale", "weak-stale"],
)
def test_update_if_match_forms(sync_server, sync_map, template, matches):
    record = sync_map.item("k")
    assert record.revision == 1  # the first write to a fresh Map
    rev = format(record.revision, "x")
    header = template.format(rev=rev, stale=format(record.revision + 7, "x"))
    response = raw(
        sync_server,
        "POST",
        item_url(sync_map, "k"),
        data={"Data": json.dumps({"v": 1})},
        headers={"If-Match": header},
    )
    if matches:
        assert response.status_code == 200
        assert response.json()["data"] == {"v": 1}
        assert response.headers["ETag"] == response.json()["revision"]
        assert sync_map["k"] == {"v": 1}
    else:
        assert response.status_code == 412
        assert response.json()["code"] == 54205
        assert response.json()["status"] == 412
        assert sync_map["k"] == {"v": 0}
        assert sync_map.item("k").revision == record.revision


@pytest.mark.sync_map(items={"k": {"v": 0}})
@pytest.mark.parametrize(
    ("method", "path", "form", "status"),
    [
        ("GET", "/Items/k", None, 200),
        ("GET", "/Items", None, 200),
        ("POST", "/Items", {"Key": "new", "Data": "{}"}, 201),
        ("GET", "", None, 200),
        ("POST", "", {"Ttl": "60"}, 200),
    ],
    ids=["fetch-item", "list-items", "create-item", "fetch-map", "update-map"],
)
@pytest.mark.parametrize("header", ["not a revision!", "999"])
def test_if_match_is_ignored_where_twilio_does_not_read_it(
    sync_server, sync_map, method, path, form, status, header
):
    """Only item update and delete read If-Match; elsewhere any value is ignored."""
    url = sync_map.url + path
    kwargs: dict[str, Any] = {"headers": {"If-Match": header}}
    if form is not None:
        kwargs["data"] = form
    response = raw(sync_server, method, url, **kwargs)
    assert response.status_code == status, response.text
    assert sync_map["k"] == {"v": 0}


@pytest.mark.sync_map(items={"k": {"v": 0}})
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_malformed_if_match_is_400_54003(sync_server, sync_map, method):
    kwargs: dict[str, Any] = {"headers": {"If-Match": "not a revision!"}}
    if method == "POST":
        kwargs["data"] = {"Data": "{}"}
    response = raw(sync_server, method, item_url(sync_map, "k"), **kwargs)
    assert response.status_code == 400
    assert response.json()["code"] == 54003
    assert sync_map["k"] == {"v": 0}


@pytest.mark.sync_map(items={"k": {"v": 0}})
@pytest.mark.parametrize("template", ["{rev}", '"{rev}"', 'W/"{rev}"'])
def test_conditional_delete_with_matching_revision(sync_server, sync_map, template):
    rev = format(sync_map.item("k").revision, "x")
    response = raw(
        sync_server,
        "DELETE",
        item_url(sync_map, "k"),
        headers={"If-Match": template.format(rev=rev)},
    )
    assert response.status_code == 204
    assert response.content == b""
    assert "k" not in sync_map


@pytest.mark.sync_map(items={"k": {"v": 0}})
def test_conditional_delete_with_stale_revision_is_412(sync_server, sync_map):
    stale = format(sync_map.item("k").revision, "x")
    sync_map.put("k", {"v": 1})
    response = raw(sync_server, "DELETE", item_url(sync_map, "k"), headers={"If-Match": stale})
    assert response.status_code == 412
    assert response.json()["code"] == 54205
    assert sync_map["k"] == {"v": 1}


@pytest.mark.sync_map(items={"k": {"v": 0}})
def test_client_delete_drops_if_match(twilio_client, sync_map, exchanges):
    """twilio-python 9.13 builds the If-Match header for delete and then discards it.

    So a conditional delete through the client is unconditional: a stale revision
    still deletes the item. This documents the client bug (CLIENTS.md 0, SYNC_API.md
    Q13); the emulator's 412 path is covered above with plain HTTP.
    """
    sync_map.put("k", {"v": 1})
    assert items_of(twilio_client, sync_map)("k").delete(if_match="stale") is True
    assert "k" not in sync_map
    (delete,) = [e for e in exchanges if e.operation == "DeleteSyncMapItem"]
    assert delete.status == 204
    assert "If-Match" not in delete.headers


# ==================================================================== paging
ORDER_CASES = [
    # (order, From, Bounds) -> expected keys of KEYS_23
    ("asc", None, None),
    ("desc", None, None),
    ("asc", "k10", "inclusive"),
    ("asc", "k10", "exclusive"),
    ("desc", "k10", "inclusive"),
    ("desc", "k10", "exclusive"),
    ("asc", "k10", None),  # Bounds defaults to inclusive
    ("asc", "k10a", "inclusive"),  # From need not be an existing key
    ("desc", "k10a", "exclusive"),
    ("asc", "z", "inclusive"),
    ("desc", "z", "inclusive"),
    ("desc", "a", "inclusive"),
]
KEYS_23 = {f"k{i:02d}": {"i": i} for i in range(23)}


def expected_keys(keys: list[str], order: str, start: str | None, bounds: str | None) -> list[str]:
    inclusive = bounds != "exclusive"
    if order == "asc":
        return sorted(k for k in keys if start is None or k > start or (inclusive and k == start))
    return sorted(
        (k for k in keys if start is None or k < start or (inclusive and k == start)), reverse=True
    )


@pytest.mark.sync_map(items=KEYS_23)
@pytest.mark.parametrize(("order", "start", "bounds"), ORDER_CASES)
def test_list_order_from_bounds(twilio_client, sync_map, exchanges, order, start, bounds):
    params: dict[str, Any] = {"order": order, "page_size": 5}
    if start is not None:
        params["from_"] = start
    if bounds is not None:
        params["bounds"] = bounds
    keys = [i.key for i in items_of(twilio_client, sync_map).list(**params)]
    expected = expected_keys(list(KEYS_23), order, start, bounds)
    assert keys == expected
    # One request per page, and no trailing empty page even when 5 divides the count.
    pages = list_requests(exchanges)
    assert len(pages) == max(1, math.ceil(len(expected) / 5))
    for exchange in pages:
        body = json.loads(exchange.body)
        assert body["items"] or len(pages) == 1
        assert body["meta"]["page_size"] == 5
    assert json.loads(pages[-1].body)["meta"]["next_page_url"] is None


def test_list_limit_500_over_250_items_clamps_page_size(twilio_client, sync_map, exchanges):
    for i in range(250):
        sync_map.put(f"item-{i:03d}", {"i": i})
    listed = items_of(twilio_client, sync_map).list(limit=500)
    assert [i.key for i in listed] == [f"item-{i:03d}" for i in range(250)]
    assert [i.data["i"] for i in listed] == list(range(250))
    pages = list_requests(exchanges)
    assert len(pages) == 3
    assert pages[0].query["PageSize"] == "500"  # what twilio-python sends for limit=500
    bodies = [json.loads(p.body) for p in pages]
    assert [len(b["items"]) for b in bodies] == [100, 100, 50]
    assert [b["meta"]["page_size"] for b in bodies] == [100, 100, 100]
    assert [b["meta"]["page"] for b in bodies] == [0, 1, 2]


@pytest.mark.sync_map(items={f"s{i:02d}": {"i": i} for i in range(30)})
def test_stream_page_size_7(twilio_client, sync_map, exchanges):
    items = items_of(twilio_client, sync_map)
    streamed = items.stream(page_size=7)
    assert not isinstance(streamed, list)
    assert [i.key for i in streamed] == [f"s{i:02d}" for i in range(30)]
    assert len(list_requests(exchanges)) == 5
    exchanges.clear()
    assert [i.key for i in items.stream(limit=10, page_size=7)] == [f"s{i:02d}" for i in range(10)]
    assert len(list_requests(exchanges)) == 2


@pytest.mark.sync_map(items={f"k{i}": {"i": i} for i in range(10)})
def test_page_next_and_previous(twilio_client, sync_map):
    items = items_of(twilio_client, sync_map)
    first = items.page(page_size=4)
    assert [i.key for i in first] == ["k0", "k1", "k2", "k3"]
    assert first.previous_page() is None
    second = first.next_page()
    assert [i.key for i in second] == ["k4", "k5", "k6", "k7"]
    third = second.next_page()
    assert [i.key for i in third] == ["k8", "k9"]
    assert third.next_page() is None
    back = third.previous_page()
    assert [i.key for i in back] == ["k4", "k5", "k6", "k7"]
    start = back.previous_page()
    assert [i.key for i in start] == ["k0", "k1", "k2", "k3"]
    assert start.previous_page() is None
    desc = items.page(order="desc", page_size=4).next_page()
    assert [i.key for i in desc] == ["k5", "k4", "k3", "k2"]
    assert [i.key for i in desc.previous_page()] == ["k9", "k8", "k7", "k6"]


MUTATION_CASES = [
    pytest.param(
        "asc",
        (["k04", "k07"], ["k04a", "k00a", "k05"]),
        ["k04a", "k05", "k06", "k08", "k09"],
        (["k10"], ["k21", "k02a"]),
        ["k11", "k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19", "k21"],
        id="asc",
    ),
    pytest.param(
        "desc",
        (["k15", "k12"], ["k14a", "k19a", "k14"]),
        ["k14a", "k14", "k13", "k11", "k10"],
        (["k09"], ["a", "k17a"]),
        ["k08", "k07", "k06", "k05", "k04", "k03", "k02", "k01", "k00", "a"],
        id="desc",
    ),
]


@pytest.mark.sync_map(items=KEYS_20)
@pytest.mark.parametrize(
    ("order", "first_change", "page2", "second_change", "rest"), MUTATION_CASES
)
def test_changes_between_pages_neither_repeat_nor_skip(
    twilio_client, sync_map, order, first_change, page2, second_change, rest
):
    def apply(change: tuple[list[str], list[str]]) -> None:
        removed, written = change
        for key in removed:
            sync_map.delete(key)
        for key in written:
            sync_map.put(key, {"new": key})

    page = items_of(twilio_client, sync_map).page(order=order, page_size=5)
    seen = [i.key for i in page]
    assert seen == sorted(KEYS_20, reverse=order == "desc")[:5]
    # Remove the cursor key itself and a key ahead; write keys ahead and behind the
    # cursor, and rewrite a key ahead (page2[1]).
    apply(first_change)
    page = page.next_page()
    got = list(page)
    assert [i.key for i in got] == page2
    assert got[1].data == {"new": page2[1]}
    seen += page2
    apply(second_change)
    later: list[str] = []
    while (page := page.next_page()) is not None:
        keys = [i.key for i in page]
        assert keys, "an empty page was served with a next_page_url"
        later += keys
    assert later == rest
    seen += later
    assert len(seen) == len(set(seen))


@pytest.mark.sync_map(items={f"k{i}": {"i": i} for i in range(7)})
def test_items_removed_after_a_page_end_the_listing(twilio_client, sync_map):
    page = items_of(twilio_client, sync_map).page(page_size=5)
    assert [i.key for i in page] == ["k0", "k1", "k2", "k3", "k4"]
    assert page.next_page_url is not None
    sync_map.delete("k5")
    sync_map.delete("k6")
    last = page.next_page()
    assert list(last) == []
    assert last.next_page_url is None


@pytest.mark.sync_map(items={f"k{i}": {"i": i} for i in range(7)})
def test_empty_page_after_removals_still_links_back(twilio_client, sync_map):
    page = items_of(twilio_client, sync_map).page(page_size=5)
    assert len(list(page)) == 5
    sync_map.delete("k5")
    sync_map.delete("k6")
    last = page.next_page()
    assert list(last) == []
    assert last.previous_page_url is not None
    assert [i.key for i in last.previous_page()] == ["k0", "k1", "k2", "k3", "k4"]


@pytest.mark.parametrize("pages", [1, 2, 3])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_exact_multiple_of_page_size_has_no_empty_last_page(sync_server, sync_map, pages, order):
    for i in range(pages * 4):
        sync_map.put(f"k{i:02d}", {"i": i})
    url: str | None = f"{sync_map.url}/Items?Order={order}&PageSize=4"
    sizes, keys = [], []
    while url is not None:
        response = raw(sync_server, "GET", url)
        assert response.status_code == 200
        body = response.json()
        sizes.append(len(body["items"]))
        keys += [i["key"] for i in body["items"]]
        url = body["meta"]["next_page_url"]
        assert len(sizes) <= pages, "followed a next_page_url past the last item"
    assert sizes == [4] * pages
    assert keys == sorted(keys, reverse=order == "desc")
    assert len(keys) == pages * 4


def test_empty_map_page(sync_server, sync_map, twilio_client):
    body = raw(sync_server, "GET", f"{sync_map.url}/Items").json()
    assert body["items"] == []
    assert body["meta"]["next_page_url"] is None
    assert body["meta"]["previous_page_url"] is None
    assert body["meta"]["page_size"] == 50
    assert body["meta"]["page"] == 0
    assert items_of(twilio_client, sync_map).list() == []


@pytest.mark.sync_map(items={f"k{i:02d}": {"i": i} for i in range(10)})
def test_meta_block(sync_server, sync_map):
    items_url = f"{sync_map.url}/Items"
    emulator = urlsplit(sync_server.url)
    filters = {"Order": "desc", "From": "k07", "Bounds": "exclusive"}
    response = raw(sync_server, "GET", items_url, params={**filters, "PageSize": "3"})
    assert response.status_code == 200
    assert "ETag" not in response.headers
    body = response.json()
    meta = body["meta"]
    assert set(body) == {"items", "meta"}
    assert [i["key"] for i in body["items"]] == ["k06", "k05", "k04"]
    assert all(i["url"] == f"{items_url}/{i['key']}" for i in body["items"])
    assert meta["key"] == "items"
    assert meta["page"] == 0
    assert meta["page_size"] == 3
    assert meta["previous_page_url"] is None
    for name in ("url", "first_page_url", "next_page_url"):
        parts = urlsplit(meta[name])
        assert (parts.scheme, parts.netloc) == (emulator.scheme, emulator.netloc), name
        assert parts.path == urlsplit(items_url).path, name
    assert query_of(meta["first_page_url"]) == {**filters, "PageSize": "3", "Page": "0"}
    assert query_of(meta["url"]) == {**filters, "PageSize": "3", "Page": "0"}
    next_query = query_of(meta["next_page_url"])
    token = next_query.pop("PageToken")
    assert token
    assert next_query == {**filters, "PageSize": "3", "Page": "1"}

    second = raw(sync_server, "GET", meta["next_page_url"]).json()
    assert [i["key"] for i in second["items"]] == ["k03", "k02", "k01"]
    assert second["meta"]["page"] == 1
    assert second["meta"]["first_page_url"] == meta["first_page_url"]
    assert query_of(second["meta"]["url"]) == {**next_query, "PageToken": token}
    prev_query = query_of(second["meta"]["previous_page_url"])
    assert prev_query.pop("PageToken")
    assert prev_query == {**filters, "PageSize": "3", "Page": "0"}

    third = raw(sync_server, "GET", second["meta"]["next_page_url"]).json()
    assert [i["key"] for i in third["items"]] == ["k00"]
    assert third["meta"]["page"] == 2
    assert third["meta"]["next_page_url"] is None
    back = raw(sync_server, "GET", third["meta"]["previous_page_url"]).json()
    assert [i["key"] for i in back["items"]] == ["k03", "k02", "k01"]
    assert back["meta"]["page"] == 1


@pytest.mark.sync_map(unique_name="roster", items={f"k{i}": {"i": i} for i in range(5)})
def test_meta_urls_echo_unique_name_path(sync_server, sync_map, twilio_client):
    base = f"{sync_server.url}/v1/Services/{sync_map.service_sid}/Maps/roster/Items"
    body = raw(sync_server, "GET", base, params={"PageSize": "2"}).json()
    assert body["meta"]["url"].startswith(base + "?")
    assert body["meta"]["next_page_url"].startswith(base + "?")
    assert body["items"][0]["url"] == f"{sync_map.url}/Items/k0"  # canonical SID
    by_name = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps("roster")
    assert [i.key for i in by_name.sync_map_items.list(page_size=2)] == [f"k{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"PageSize": "0"}, 54454),
        ({"PageSize": "abc"}, 54454),
        ({"Order": "sideways"}, 54451),
        ({"Bounds": "both"}, 54452),
        ({"PageToken": "not-a-token"}, 54453),
        ({"Page": "x"}, 20001),
    ],
    ids=["page-size-0", "page-size-text", "order", "bounds", "page-token", "page"],
)
def test_invalid_list_parameters_are_400_with_sync_codes(sync_server, sync_map, query, code):
    response = raw(sync_server, "GET", f"{sync_map.url}/Items", params=query)
    assert response.status_code == 400
    assert response.json()["code"] == code


# ====================================================================== keys
ADDRESSABLE_KEYS = [
    "with space",
    "ünïcødé ✓",
    "a+b",
    "100%",
    "a/b",
    "a//b",
    "/lead",
    "emoji 🎉",
    "a=b&c",
]
#: Key -> the code the client's fetch gets: it lands on another key (54201), or
#: urllib3 resolves "../" and the path is no longer an item path (20404).
UNADDRESSABLE_KEYS = {
    "pct%2Fenc": 54201,
    "q?x=1": 54201,
    "h#frag": 54201,
    "trail/": 54201,
    "50%25": 54201,
    "x/.": 54201,
    "../x": 20404,
}


@pytest.mark.parametrize("key", ADDRESSABLE_KEYS)
def test_special_keys_through_the_client(twilio_client, sync_server, sync_map, key):
    items = items_of(twilio_client, sync_map)
    created = items.create(key=key, data={"key": key})
    assert created.key == key
    assert created.url == item_url(sync_map, key)
    fetched = items(key).fetch()
    assert (fetched.key, fetched.data) == (key, {"key": key})
    assert items(key).update(data={"v": 2}).data == {"v": 2}
    response = raw(sync_server, "GET", created.url)
    assert response.status_code == 200
    assert response.json()["key"] == key
    assert items(key).delete() is True
    assert key not in sync_map


@pytest.mark.parametrize(("key", "code"), UNADDRESSABLE_KEYS.items())
def test_special_keys_the_client_cannot_address(twilio_client, sync_server, sync_map, key, code):
    """twilio-python puts keys in paths unescaped (CLIENTS.md 7): use percent-encoding."""
    items = items_of(twilio_client, sync_map)
    created = items.create(key=key, data={"key": key})
    assert created.key == key
    assert created.url == item_url(sync_map, key)
    with pytest.raises(TwilioRestException) as exc:
        items(key).fetch()
    assert (exc.value.status, exc.value.code) == (404, code)
    fetched = raw(sync_server, "GET", item_url(sync_map, key))
    assert fetched.status_code == 200
    assert fetched.json()["key"] == key
    assert fetched.headers["ETag"] == created.revision
    updated = raw(sync_server, "POST", item_url(sync_map, key), data={"Data": '{"v": 2}'})
    assert updated.status_code == 200
    assert sync_map[key] == {"v": 2}
    deleted = raw(sync_server, "DELETE", item_url(sync_map, key))
    assert deleted.status_code == 204
    assert key not in sync_map


ODD_KEYS = ["b", "a", "ä", "Z", "a b", "a+b", "a/b", "é", "10", "9", "~", "a%20b"]


def test_keys_listed_in_code_point_order(twilio_client, sync_map):
    items = items_of(twilio_client, sync_map)
    for key in ODD_KEYS:
        items.create(key=key, data={})
    assert [i.key for i in items.list()] == sorted(ODD_KEYS)
    assert [i.key for i in items.list(order="desc", page_size=3)] == sorted(ODD_KEYS, reverse=True)


@pytest.mark.sync_map(items={k: {} for k in ODD_KEYS})
@pytest.mark.parametrize("start", ["a b", "a+b", "ä", "a/b", "a%20b"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_from_with_special_characters_survives_paging(twilio_client, sync_map, start, order):
    """From is echoed in next_page_url; it must come back as the same key."""
    listed = items_of(twilio_client, sync_map).list(
        order=order, from_=start, bounds="exclusive", page_size=2
    )
    assert [i.key for i in listed] == expected_keys(ODD_KEYS, order, start, "exclusive")


# ============================================================ spec validator
def test_spec_observer_sees_every_answer(spec_validator, twilio_client, sync_map):
    before = spec_validator.checked
    items = items_of(twilio_client, sync_map)
    items.create(key="k", data={"v": 1})
    items("k").fetch()
    with pytest.raises(TwilioRestException):
        items("missing").fetch()
    assert spec_validator.checked >= before + 3


def test_spec_validator_catches_a_typo(spec_validator, sync_server, sync_map):
    sync_map.put("k", {"v": 1})
    body = raw(sync_server, "GET", item_url(sync_map, "k")).json()
    spec_validator.validate_success("FetchSyncMapItem", 200, body)
    typo = {("date_crated" if k == "date_created" else k): v for k, v in body.items()}
    with pytest.raises(AssertionError, match="date_crated"):
        spec_validator.validate_success("FetchSyncMapItem", 200, typo)
    with pytest.raises(AssertionError, match=r"Additional properties|required"):
        spec_validator.validate_success("FetchSyncMapItem", 200, {**body, "sid": "x"})
    with pytest.raises(AssertionError):
        spec_validator.validate_success(
            "FetchSyncMapItem", 200, {**body, "date_created": "2024-01-02T03:04:05.123Z"}
        )
    with pytest.raises(AssertionError, match="declares only"):
        spec_validator.validate_success("FetchSyncMapItem", 201, body)
    with pytest.raises(AssertionError):
        spec_validator.validate_error(404, {"code": 20404, "message": "x", "status": 404})
    with pytest.raises(AssertionError, match="status"):
        spec_validator.validate_error(
            404, {"code": 1, "message": "x", "more_info": "https://x.io/1", "status": 400}
        )


def test_spec_validator_checks_etag(spec_validator, sync_server, sync_map):
    sync_map.put("k", {"v": 1})
    response = raw(sync_server, "GET", item_url(sync_map, "k"))

    def exchange(headers: dict[str, str]) -> Exchange:
        return Exchange(
            method="GET",
            path=urlsplit(response.url).path,
            query={},
            form={},
            headers={},
            operation="FetchSyncMapItem",
            status=200,
            body=response.content,
            response_headers={"Content-Type": "application/json", **headers},
        )

    spec_validator.check_exchange(exchange({"ETag": response.headers["ETag"]}))
    with pytest.raises(AssertionError, match="no ETag"):
        spec_validator.check_exchange(exchange({}))
    with pytest.raises(AssertionError, match="ETag"):
        spec_validator.check_exchange(exchange({"ETag": '"' + response.headers["ETag"] + '"'}))
