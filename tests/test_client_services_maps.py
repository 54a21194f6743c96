"""Services (S1-S5) and Maps (M1-M5) through the official twilio client, sync and async.

Everything goes over HTTP to the emulator; the store is read only to check state that
the API itself cannot show (what is left after a delete).
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]

SERVICE_SID = re.compile(r"^IS[0-9a-f]{32}$")
MAP_SID = re.compile(r"^MP[0-9a-f]{32}$")
UNKNOWN_SERVICE = "IS" + "0" * 32
UNKNOWN_MAP = "MP" + "0" * 32


def last_status(client: Any) -> int:
    """HTTP status of the client's last answer."""
    status: int = client.http_client._test_only_last_response.status_code
    return status


def assert_now(moment: datetime, offset: timedelta = timedelta(0)) -> None:
    """``moment`` is an aware datetime (parsed by twilio) close to now + ``offset``."""
    assert isinstance(moment, datetime)
    assert moment.tzinfo is not None
    expected = datetime.now(timezone.utc) + offset
    assert abs(moment - expected) <= timedelta(seconds=5), (moment, expected)


def raw_get(server: Any, url: str, **params: str) -> requests.Response:
    return requests.get(url, params=params, auth=server.auth, timeout=10)


# ==================================================================== Services
def test_create_service_defaults(twilio_client, sync_server):
    svc = twilio_client.sync.v1.services.create()
    assert last_status(twilio_client) == 201
    assert SERVICE_SID.match(svc.sid)
    assert svc.account_sid == sync_server.account_sid
    assert svc.friendly_name is None
    assert svc.unique_name is None
    assert svc.webhook_url is None
    assert svc.acl_enabled is False
    assert svc.webhooks_from_rest_enabled is False
    assert svc.reachability_webhooks_enabled is False
    assert svc.reachability_debouncing_enabled is False
    assert svc.reachability_debouncing_window == 5000
    assert svc.url == f"{sync_server.url}/v1/Services/{svc.sid}"
    assert svc.links == {
        name: f"{svc.url}/{name.title()}" for name in ("documents", "lists", "maps", "streams")
    }
    assert_now(svc.date_created)
    assert svc.date_updated == svc.date_created


def test_create_service_with_every_parameter(twilio_client):
    svc = twilio_client.sync.v1.services.create(
        friendly_name="My Service ✓",
        webhook_url="https://example.com/hook?x=1",
        reachability_webhooks_enabled=True,
        acl_enabled=True,
        reachability_debouncing_enabled=True,
        reachability_debouncing_window=1000,
        webhooks_from_rest_enabled=True,
    )
    fetched = twilio_client.sync.v1.services(svc.sid).fetch()
    for got in (svc, fetched):
        assert got.friendly_name == "My Service ✓"
        assert got.webhook_url == "https://example.com/hook?x=1"
        assert got.reachability_webhooks_enabled is True
        assert got.acl_enabled is True
        assert got.reachability_debouncing_enabled is True
        assert got.reachability_debouncing_window == 1000
        assert got.webhooks_from_rest_enabled is True


def test_fetch_service(twilio_client, sync_service):
    svc = twilio_client.sync.v1.services(sync_service.sid).fetch()
    assert last_status(twilio_client) == 200
    assert svc.sid == sync_service.sid
    assert svc.friendly_name == sync_service.friendly_name


def test_update_service_changes_only_what_is_sent(twilio_client, sync_service):
    before = twilio_client.sync.v1.services(sync_service.sid).fetch()
    updated = twilio_client.sync.v1.services(sync_service.sid).update(
        friendly_name="renamed", acl_enabled=True, reachability_debouncing_window=30000
    )
    assert last_status(twilio_client) == 200
    assert updated.sid == sync_service.sid
    assert updated.friendly_name == "renamed"
    assert updated.acl_enabled is True
    assert updated.reachability_debouncing_window == 30000
    assert updated.webhooks_from_rest_enabled is False
    assert updated.date_created == before.date_created
    assert updated.date_updated >= before.date_updated
    assert twilio_client.sync.v1.services(sync_service.sid).fetch().friendly_name == "renamed"
    assert sync_service.friendly_name == "renamed"


@pytest.mark.parametrize(
    "params",
    [
        {"reachability_debouncing_window": 999},
        {"reachability_debouncing_window": 30001},
        {"webhook_url": "ftp://example.com/hook"},
    ],
    ids=["window-too-small", "window-too-big", "webhook-not-http"],
)
def test_invalid_service_parameters(twilio_client, sync_service, params):
    with pytest.raises(TwilioRestException) as exc:
        twilio_client.sync.v1.services.create(**params)
    assert (exc.value.status, exc.value.code) == (400, 20001)
    with pytest.raises(TwilioRestException) as exc:
        twilio_client.sync.v1.services(sync_service.sid).update(**params)
    assert (exc.value.status, exc.value.code) == (400, 20001)
    assert sync_service.record.reachability_debouncing_window == 5000


def test_list_services_pages_in_creation_order(twilio_client, sync_server):
    default_sid = sync_server.store.default_service_sid
    created = [twilio_client.sync.v1.services.create(friendly_name=f"s{i}").sid for i in range(5)]
    listed = [s.sid for s in twilio_client.sync.v1.services.list(page_size=2)]
    assert listed == [default_sid, *created]
    page = twilio_client.sync.v1.services.page(page_size=2)
    sizes = []
    while page is not None:
        sizes.append(len(list(page)))
        page = page.next_page()
    assert sizes == [2, 2, 2]
    assert [s.sid for s in twilio_client.sync.v1.services.list(limit=3)] == listed[:3]
    second = twilio_client.sync.v1.services.page(page_size=2).next_page()
    assert [s.sid for s in second] == created[1:3]
    assert [s.sid for s in second.previous_page()] == [default_sid, created[0]]


def test_delete_service(twilio_client):
    sid = twilio_client.sync.v1.services.create(friendly_name="doomed").sid
    assert twilio_client.sync.v1.services(sid).delete() is True
    assert last_status(twilio_client) == 204
    assert sid not in [s.sid for s in twilio_client.sync.v1.services.list()]
    for call in (
        lambda: twilio_client.sync.v1.services(sid).fetch(),
        lambda: twilio_client.sync.v1.services(sid).update(friendly_name="x"),
        lambda: twilio_client.sync.v1.services(sid).delete(),
    ):
        with pytest.raises(TwilioRestException) as exc:
            call()
        assert (exc.value.status, exc.value.code) == (404, 20404)


def test_delete_service_deletes_its_maps(twilio_client, sync_server):
    sid = twilio_client.sync.v1.services.create().sid
    maps = twilio_client.sync.v1.services(sid).sync_maps
    first = maps.create(unique_name="first")
    maps("first").sync_map_items.create(key="k", data={"v": 1})
    maps.create()
    assert twilio_client.sync.v1.services(sid).delete() is True
    for call in (
        maps(first.sid).fetch,
        maps("first").fetch,
        maps(first.sid).sync_map_items("k").fetch,
    ):
        with pytest.raises(TwilioRestException) as exc:
            call()
        assert (exc.value.status, exc.value.code) == (404, 20404)
    # twilio-python turns a failed list page into a plain TwilioException; its
    # second argument is the raw response.
    with pytest.raises(TwilioException) as page_exc:
        twilio_client.sync.v1.services(sid).sync_maps.list()
    assert page_exc.value.args[1].status_code == 404
    raw = raw_get(sync_server, f"{sync_server.url}/v1/Services/{sid}/Maps")
    assert raw.status_code == 404
    assert raw.json()["code"] == 20404
    # The unique name lived in the deleted Service only: another Service may use it.
    other = twilio_client.sync.v1.services.create().sid
    assert twilio_client.sync.v1.services(other).sync_maps.create(unique_name="first").sid


@pytest.mark.parametrize("method", ["fetch", "update", "delete"])
def test_unknown_service_is_404_20404(twilio_client, method):
    ctx = twilio_client.sync.v1.services(UNKNOWN_SERVICE)
    args = {"friendly_name": "x"} if method == "update" else {}
    with pytest.raises(TwilioRestException) as exc:
        getattr(ctx, method)(**args)
    assert (exc.value.status, exc.value.code) == (404, 20404)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.sync_maps.create(unique_name="m"),
        lambda s: s.sync_maps(UNKNOWN_MAP).fetch(),
        lambda s: s.sync_maps("by-name").fetch(),
        lambda s: s.sync_maps("by-name").sync_map_items.create(key="k", data={}),
        lambda s: s.sync_maps("by-name").sync_map_items("k").fetch(),
    ],
    ids=["create-map", "fetch-map-sid", "fetch-map-name", "create-item", "fetch-item"],
)
def test_unknown_service_below(twilio_client, call):
    with pytest.raises(TwilioRestException) as exc:
        call(twilio_client.sync.v1.services(UNKNOWN_SERVICE))
    assert (exc.value.status, exc.value.code) == (404, 20404)


def test_unknown_service_error_body(sync_server):
    raw = raw_get(sync_server, f"{sync_server.url}/v1/Services/{UNKNOWN_SERVICE}")
    assert raw.status_code == 404
    assert raw.headers["Content-Type"].startswith("application/json")
    assert raw.json() == {
        "code": 20404,
        "message": f"The requested resource /Services/{UNKNOWN_SERVICE} was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }


# -------------------------------------------------------------- default alias
def test_default_service_alias(twilio_client, sync_server):
    default_sid = sync_server.store.default_service_sid
    svc = twilio_client.sync.v1.services("default").fetch()
    assert svc.sid == default_sid
    assert svc.url == f"{sync_server.url}/v1/Services/{default_sid}"
    created = twilio_client.sync.v1.services("default").sync_maps.create(unique_name="via-alias")
    assert created.service_sid == default_sid
    assert created.url == f"{sync_server.url}/v1/Services/{default_sid}/Maps/{created.sid}"
    by_sid = twilio_client.sync.v1.services(default_sid).sync_maps("via-alias").fetch()
    assert by_sid.sid == created.sid
    twilio_client.sync.v1.services("default").sync_maps("via-alias").sync_map_items.create(
        key="k", data={"a": 1}
    )
    item = twilio_client.sync.v1.services(default_sid).sync_maps(created.sid).sync_map_items("k")
    assert item.fetch().data == {"a": 1}
    updated = twilio_client.sync.v1.services("default").update(friendly_name="Renamed default")
    assert updated.sid == default_sid
    assert twilio_client.sync.v1.services(default_sid).fetch().friendly_name == "Renamed default"


# ======================================================================== Maps
def test_create_map_without_unique_name(twilio_client, sync_service, sync_server):
    m = twilio_client.sync.v1.services(sync_service.sid).sync_maps.create()
    assert last_status(twilio_client) == 201
    assert MAP_SID.match(m.sid)
    assert m.unique_name is None
    assert m.service_sid == sync_service.sid
    assert m.account_sid == sync_server.account_sid
    assert m.created_by == "system"
    assert m.date_expires is None
    assert isinstance(m.revision, str)
    assert m.url == f"{sync_server.url}/v1/Services/{sync_service.sid}/Maps/{m.sid}"
    assert m.links == {"items": f"{m.url}/Items", "permissions": f"{m.url}/Permissions"}
    assert_now(m.date_created)
    assert m.date_updated == m.date_created
    assert sync_server.store.get_map(sync_service.sid, m.sid).unique_name is None


@pytest.mark.parametrize(
    "unique_name",
    ["players", "my map", "ünïcødé", "x" * 320, "mp" + "a" * 32, "MP" + "A" * 32, "a+b"],
    ids=["plain", "space", "unicode", "320-chars", "lowercase-sid", "uppercase-hex", "plus"],
)
def test_create_and_fetch_map_by_unique_name(twilio_client, sync_service, sync_server, unique_name):
    maps = twilio_client.sync.v1.services(sync_service.sid).sync_maps
    created = maps.create(unique_name=unique_name)
    assert created.unique_name == unique_name
    by_name = maps(unique_name).fetch()
    by_sid = maps(created.sid).fetch()
    assert by_name.sid == by_sid.sid == created.sid
    assert by_name.unique_name == by_sid.unique_name == unique_name
    # The body always shows the canonical SID, even when addressed by unique name.
    assert by_name.url == f"{sync_server.url}/v1/Services/{sync_service.sid}/Maps/{created.sid}"


@pytest.mark.parametrize(
    ("params", "ttl"),
    [
        ({"ttl": 3600}, 3600),
        ({"collection_ttl": 120}, 120),
        ({"ttl": 3600, "collection_ttl": 120}, 120),  # Ttl is ignored when both are sent
        ({"ttl": 0}, None),
        ({"collection_ttl": 31_536_000}, 31_536_000),
    ],
    ids=["ttl", "collection-ttl", "both", "zero", "one-year"],
)
def test_create_map_with_ttl(twilio_client, sync_service, params, ttl):
    maps = twilio_client.sync.v1.services(sync_service.sid).sync_maps
    m = maps.create(**params)
    fetched = maps(m.sid).fetch()
    if ttl is None:
        assert m.date_expires is None
        assert fetched.date_expires is None
    else:
        assert_now(m.date_expires, timedelta(seconds=ttl))
        assert fetched.date_expires == m.date_expires
        assert m.date_expires - m.date_created == timedelta(seconds=ttl)


@pytest.mark.parametrize("params", [{"ttl": 31_536_001}, {"collection_ttl": -1}])
def test_create_map_with_invalid_ttl(twilio_client, sync_service, params):
    maps = twilio_client.sync.v1.services(sync_service.sid).sync_maps
    with pytest.raises(TwilioRestException) as exc:
        maps.create(unique_name="never", **params)
    assert (exc.value.status, exc.value.code) == (400, 54011)
    with pytest.raises(TwilioRestException) as exc:
        maps("never").fetch()
    assert (exc.value.status, exc.value.code) == (404, 54300)


def test_update_map_ttl(twilio_client, sync_map):
    ctx = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
    before = ctx.fetch()
    assert before.date_expires is None
    updated = ctx.update(ttl=600)
    assert last_status(twilio_client) == 200
    assert updated.sid == sync_map.sid
    assert_now(updated.date_expires, timedelta(seconds=600))
    assert updated.revision != before.revision
    assert updated.date_created == before.date_created
    assert ctx.fetch().date_expires == updated.date_expires
    assert sync_map.record.date_expires.replace(microsecond=0) == updated.date_expires
    again = ctx.update(collection_ttl=60, ttl=600)
    assert_now(again.date_expires, timedelta(seconds=60))
    cleared = ctx.update(ttl=0)
    assert cleared.date_expires is None
    assert ctx.fetch().date_expires is None


@pytest.mark.sync_map(unique_name="scores")
def test_update_map_by_unique_name(twilio_client, sync_map):
    ctx = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps("scores")
    updated = ctx.update(collection_ttl=30)
    assert updated.sid == sync_map.sid
    assert updated.unique_name == "scores"
    assert_now(updated.date_expires, timedelta(seconds=30))


def test_update_map_without_parameters(twilio_client, sync_map):
    ctx = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
    with pytest.raises(TwilioRestException) as exc:
        ctx.update()
    assert (exc.value.status, exc.value.code) == (400, 54010)


def test_list_maps_with_paging(twilio_client, sync_service, sync_server):
    maps = twilio_client.sync.v1.services(sync_service.sid).sync_maps
    created = [maps.create(unique_name=f"m{i}").sid for i in range(7)]
    assert [m.sid for m in maps.list(page_size=3)] == created
    assert [m.sid for m in maps.stream(page_size=2)] == created
    assert [m.sid for m in maps.list(limit=4, page_size=3)] == created[:4]
    page = maps.page(page_size=3)
    seen, sizes = [], []
    while page is not None:
        records = list(page)
        sizes.append(len(records))
        seen += [m.sid for m in records]
        page = page.next_page()
    assert sizes == [3, 3, 1]
    assert seen == created
    last = maps.page(page_size=3).next_page().next_page()
    assert [m.sid for m in last] == created[6:]
    assert last.next_page_url is None
    assert [m.sid for m in last.previous_page()] == created[3:6]
    first = raw_get(sync_server, f"{sync_server.url}/v1/Services/{sync_service.sid}/Maps",
                    PageSize="3").json()  # fmt: skip
    assert first["meta"]["key"] == "maps"
    assert first["meta"]["page_size"] == 3
    assert first["meta"]["page"] == 0
    assert first["meta"]["previous_page_url"] is None
    assert first["meta"]["next_page_url"].startswith(
        f"{sync_server.url}/v1/Services/{sync_service.sid}/Maps?"
    )
    assert [m["sid"] for m in first["maps"]] == created[:3]


def test_list_maps_of_empty_service(twilio_client, sync_service, sync_server):
    assert twilio_client.sync.v1.services(sync_service.sid).sync_maps.list() == []
    body = raw_get(sync_server, f"{sync_server.url}/v1/Services/{sync_service.sid}/Maps").json()
    assert body["maps"] == []
    assert body["meta"]["next_page_url"] is None
    assert body["meta"]["page_size"] == 50


def test_delete_map_deletes_its_items(twilio_client, sync_service, sync_server):
    maps = twilio_client.sync.v1.services(sync_service.sid).sync_maps
    old = maps.create(unique_name="cart")
    for i in range(3):
        maps("cart").sync_map_items.create(key=f"k{i}", data={"i": i})
    assert maps("cart").delete() is True
    assert last_status(twilio_client) == 204
    for call in (
        lambda: maps(old.sid).fetch(),
        lambda: maps(old.sid).sync_map_items("k0").fetch(),
        lambda: maps(old.sid).delete(),
    ):
        with pytest.raises(TwilioRestException) as exc:
            call()
        assert (exc.value.status, exc.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as exc:
        maps("cart").fetch()
    assert (exc.value.status, exc.value.code) == (404, 54300)
    # The unique name is free again, and the new Map starts empty.
    new = maps.create(unique_name="cart")
    assert new.sid != old.sid
    assert maps("cart").sync_map_items.list() == []
    assert sync_server.store.item_count(sync_service.sid, new.sid) == 0
    assert [m.sid for m in maps.list()] == [new.sid]


def test_duplicate_unique_name_is_409_54301(twilio_client, sync_service):
    maps = twilio_client.sync.v1.services(sync_service.sid).sync_maps
    first = maps.create(unique_name="dup")
    with pytest.raises(TwilioRestException) as exc:
        maps.create(unique_name="dup")
    assert (exc.value.status, exc.value.code) == (409, 54301)
    assert [m.sid for m in maps.list()] == [first.sid]


@pytest.mark.parametrize(
    "unique_name",
    ["", "x" * 321, "MP" + "a" * 32, "IS" + "0123456789abcdef" * 2, "a/b", "/"],
    ids=["empty", "321-chars", "map-sid-shaped", "service-sid-shaped", "slash", "only-slash"],
)
def test_invalid_unique_name_is_400_54302(twilio_client, sync_service, unique_name):
    maps = twilio_client.sync.v1.services(sync_service.sid).sync_maps
    with pytest.raises(TwilioRestException) as exc:
        maps.create(unique_name=unique_name)
    assert (exc.value.status, exc.value.code) == (400, 54302)
    assert maps.list() == []
    if "/" in unique_name:
        assert "'/'" in exc.value.msg  # says why a name Twilio might take is refused


def test_unique_name_with_slash_is_stored_when_the_choice_allows_it():
    """``Choices(unique_name_slash="allow")`` stores the name; only the SID addresses it."""
    from pytest_syncmap import Choices, SyncServer

    with SyncServer(choices=Choices(unique_name_slash="allow")) as server:
        record = server.store.create_map("default", unique_name="a/b")
        assert record.unique_name == "a/b"
        assert server.store.get_map("default", record.sid).unique_name == "a/b"


@pytest.mark.parametrize("method", ["fetch", "update", "delete"])
def test_unknown_map_unique_name_is_404_54300(twilio_client, sync_service, method):
    ctx = twilio_client.sync.v1.services(sync_service.sid).sync_maps("no-such-map")
    args = {"ttl": 5} if method == "update" else {}
    with pytest.raises(TwilioRestException) as exc:
        getattr(ctx, method)(**args)
    assert (exc.value.status, exc.value.code) == (404, 54300)


@pytest.mark.parametrize("method", ["fetch", "update", "delete"])
def test_unknown_map_sid_is_404_20404(twilio_client, sync_service, method):
    ctx = twilio_client.sync.v1.services(sync_service.sid).sync_maps(UNKNOWN_MAP)
    args = {"ttl": 5} if method == "update" else {}
    with pytest.raises(TwilioRestException) as exc:
        getattr(ctx, method)(**args)
    assert (exc.value.status, exc.value.code) == (404, 20404)


def test_unknown_map_below(twilio_client, sync_service, sync_server):
    items = twilio_client.sync.v1.services(sync_service.sid).sync_maps("nope").sync_map_items
    with pytest.raises(TwilioRestException) as exc:
        items.create(key="k", data={})
    assert (exc.value.status, exc.value.code) == (404, 54300)
    with pytest.raises(TwilioRestException) as exc:
        items("k").fetch()
    assert (exc.value.status, exc.value.code) == (404, 54300)
    base = f"{sync_server.url}/v1/Services/{sync_service.sid}/Maps"
    raw = raw_get(sync_server, f"{base}/{UNKNOWN_MAP}/Items")
    assert (raw.status_code, raw.json()["code"]) == (404, 20404)
    raw = raw_get(sync_server, f"{base}/nope/Items")
    assert (raw.status_code, raw.json()["code"]) == (404, 54300)


def test_map_of_another_service_is_not_found(twilio_client, sync_map):
    other = twilio_client.sync.v1.services.create().sid
    with pytest.raises(TwilioRestException) as exc:
        twilio_client.sync.v1.services(other).sync_maps(sync_map.sid).fetch()
    assert (exc.value.status, exc.value.code) == (404, 20404)


def test_unique_names_are_per_service(twilio_client):
    a = twilio_client.sync.v1.services.create().sid
    b = twilio_client.sync.v1.services.create().sid
    in_a = twilio_client.sync.v1.services(a).sync_maps.create(unique_name="same")
    in_b = twilio_client.sync.v1.services(b).sync_maps.create(unique_name="same")
    assert in_a.sid != in_b.sid
    assert twilio_client.sync.v1.services(a).sync_maps("same").fetch().sid == in_a.sid
    assert twilio_client.sync.v1.services(b).sync_maps("same").fetch().sid == in_b.sid


# ======================================================================= async
def test_services_async(twilio_async_client, sync_server):
    services = twilio_async_client.sync.v1.services

    async def scenario() -> None:
        svc = await services.create_async(friendly_name="async", acl_enabled=True)
        assert last_status(twilio_async_client) == 201
        assert SERVICE_SID.match(svc.sid)
        assert svc.acl_enabled is True
        fetched = await services(svc.sid).fetch_async()
        assert fetched.friendly_name == "async"
        assert_now(fetched.date_created)
        updated = await services(svc.sid).update_async(friendly_name="renamed")
        assert updated.friendly_name == "renamed"
        listed = [s.sid async for s in await services.stream_async(page_size=1)]
        assert listed == [sync_server.store.default_service_sid, svc.sid]
        assert await services(svc.sid).delete_async() is True
        assert last_status(twilio_async_client) == 204
        with pytest.raises(TwilioRestException) as exc:
            await services(svc.sid).fetch_async()
        assert (exc.value.status, exc.value.code) == (404, 20404)

    asyncio.run(scenario())


def test_maps_async(twilio_async_client, sync_service, sync_server):
    maps = twilio_async_client.sync.v1.services(sync_service.sid).sync_maps

    async def scenario() -> None:
        # Sequential on purpose: twilio 9.13's AsyncTwilioHttpClient.request returns the
        # shared ``self._test_only_last_response``, so concurrent requests on one client
        # (asyncio.gather) can get each other's answers.
        created = [await maps.create_async(unique_name=f"m{i}") for i in range(5)]
        assert [m.unique_name for m in created] == [f"m{i}" for i in range(5)]
        by_name = await maps("m3").fetch_async()
        assert by_name.sid == next(m.sid for m in created if m.unique_name == "m3")
        updated = await maps("m3").update_async(ttl=90)
        assert_now(updated.date_expires, timedelta(seconds=90))
        listed = await maps.list_async(page_size=2)
        assert [m.sid for m in listed] == [m.sid for m in created]
        with pytest.raises(TwilioRestException) as exc:
            await maps.create_async(unique_name="m0")
        assert (exc.value.status, exc.value.code) == (409, 54301)
        with pytest.raises(TwilioRestException) as exc:
            await maps.create_async(unique_name="MP" + "a" * 32)
        assert (exc.value.status, exc.value.code) == (400, 54302)
        assert await maps("m3").delete_async() is True
        with pytest.raises(TwilioRestException) as exc:
            await maps("m3").fetch_async()
        assert (exc.value.status, exc.value.code) == (404, 54300)
        with pytest.raises(TwilioRestException) as exc:
            await maps(by_name.sid).fetch_async()
        assert (exc.value.status, exc.value.code) == (404, 20404)

    asyncio.run(scenario())
    names = [m.unique_name for m in sync_server.store.list_maps(sync_service.sid, limit=10).records]
    assert names == ["m0", "m1", "m2", "m4"]
