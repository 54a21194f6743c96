"""TTL expiry of Map Items and Maps, seen through the official twilio client.

SYNC_API.md 3.6: ``date_expires`` is the write time plus the TTL, 0 means "never",
``Ttl`` is an alias that loses to ``ItemTtl`` (items) / ``CollectionTtl`` (maps), and
from ``now >= date_expires`` the object is gone for every operation. Time is moved
with the ``sync_clock`` fixture, or with freezegun / time-machine used directly.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import freezegun
import pytest
import requests
import time_machine
from twilio.base.exceptions import TwilioException, TwilioRestException

START = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
START_ISO = "2030-01-01T12:00:00Z"
TWILIO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

pytestmark = pytest.mark.filterwarnings(
    # aiohttp 3.12+ deprecates the BasicAuth the twilio async client passes.
    "ignore::DeprecationWarning:twilio.http.async_http_client",
    "ignore::DeprecationWarning:twilio.base.client_base",
)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def maps_api(client: Any, service_sid: str) -> Any:
    return client.sync.v1.services(service_sid).sync_maps


def items_api(client: Any, sync_map: Any) -> Any:
    return maps_api(client, sync_map.service_sid)(sync_map.sid).sync_map_items


def listed_keys(items: Any) -> list[str]:
    return [item.key for item in items.list()]


def rev(value: str) -> int:
    """Revisions are opaque strings; ours are hex counters, compared as numbers."""
    return int(value, 16)


def assert_twilio_404(call: Callable[[], Any], code: int) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as info:
        call()
    assert (info.value.status, info.value.code) == (404, code), info.value
    return info.value


def assert_list_404(call: Callable[[], Any], code: int) -> None:
    """twilio-python raises a bare TwilioException (with the response) for a list page."""
    with pytest.raises(TwilioException) as info:
        call()
    response = info.value.args[1]
    assert response.status_code == 404
    assert json.loads(response.text)["code"] == code


async def assert_twilio_404_async(call: Callable[[], Any], code: int) -> None:
    with pytest.raises(TwilioRestException) as info:
        await call()
    assert (info.value.status, info.value.code) == (404, code), info.value


# --------------------------------------------------------------- item TTL basics
@pytest.mark.sync_clock(START_ISO)
def test_item_lives_for_its_ttl_then_is_gone(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    created = items.create(key="k", data={"v": 1}, ttl=60)
    items.create(key="z", data={"v": 2})
    assert created.date_expires == at(60)

    sync_clock.advance(59)
    assert items("k").fetch().data == {"v": 1}
    assert listed_keys(items) == ["k", "z"]
    sync_map.assert_alive("k", for_at_least=1)

    sync_clock.advance(1)
    assert_twilio_404(items("k").fetch, 54201)
    assert listed_keys(items) == ["z"]
    assert "k" not in sync_map
    sync_map.assert_expired("k")


@pytest.mark.sync_clock(START_ISO)
def test_item_ttl_through_the_async_client(sync_clock, twilio_async_client, sync_map):
    items = items_api(twilio_async_client, sync_map)

    async def scenario() -> None:
        created = await items.create_async(key="k", data={"v": 1}, ttl=60)
        assert created.date_expires == at(60)
        await items.create_async(key="z", data={"v": 2})

        sync_clock.advance(59)
        assert (await items("k").fetch_async()).data == {"v": 1}
        assert [i.key for i in await items.list_async()] == ["k", "z"]

        sync_clock.advance(1)
        await assert_twilio_404_async(items("k").fetch_async, 54201)
        assert [i.key for i in await items.list_async()] == ["z"]

    asyncio.run(scenario())


@pytest.mark.sync_clock(START_ISO)
def test_expiry_boundary_is_exact_to_the_second(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    items.create(key="k", data={}, item_ttl=1)

    sync_clock.advance(0.999)
    assert items("k").fetch().key == "k"
    sync_clock.advance(0.001)
    assert_twilio_404(items("k").fetch, 54201)


# ------------------------------------------------- freezegun / time-machine direct
@freezegun.freeze_time(START_ISO)
def test_freezegun_decorator_moves_the_emulator_clock(twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    assert items.create(key="k", data={}, ttl=60).date_expires == at(60)
    items.create(key="z", data={})

    with freezegun.freeze_time(at(59)):
        assert items("k").fetch().date_expires == at(60)
        assert listed_keys(items) == ["k", "z"]
    with freezegun.freeze_time(at(60)):
        assert_twilio_404(items("k").fetch, 54201)
        assert listed_keys(items) == ["z"]


def test_freezegun_context_manager_tick_and_move_to(twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    with freezegun.freeze_time(START) as frozen:
        items.create(key="ticked", data={}, ttl=60)
        items.create(key="moved", data={}, ttl=120)
        items.create(key="z", data={})

        frozen.tick(59)
        assert listed_keys(items) == ["moved", "ticked", "z"]
        assert items("ticked").fetch().date_expires == at(60)

        frozen.tick(timedelta(seconds=1))
        assert_twilio_404(items("ticked").fetch, 54201)
        assert listed_keys(items) == ["moved", "z"]

        frozen.move_to(at(119))
        assert items("moved").fetch().date_expires == at(120)
        frozen.move_to(at(120))
        assert_twilio_404(items("moved").fetch, 54201)
        assert listed_keys(items) == ["z"]


def test_time_machine_travel_without_tick_moves_the_emulator_clock(twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    with time_machine.travel(START, tick=False) as traveller:
        assert items.create(key="k", data={}, ttl=60).date_expires == at(60)
        items.create(key="m", data={}, ttl=90)
        items.create(key="z", data={})

        traveller.shift(59)
        assert items("k").fetch().key == "k"
        assert listed_keys(items) == ["k", "m", "z"]

        traveller.shift(1)
        assert_twilio_404(items("k").fetch, 54201)
        assert listed_keys(items) == ["m", "z"]

        traveller.move_to(at(90))
        assert_twilio_404(items("m").fetch, 54201)
        assert listed_keys(items) == ["z"]


@time_machine.travel(START, tick=False)
def test_time_machine_decorator_moves_the_emulator_clock(twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    assert items.create(key="k", data={}, ttl=60).date_expires == at(60)
    with time_machine.travel(at(59), tick=False):
        assert listed_keys(items) == ["k"]
    with time_machine.travel(at(60), tick=False):
        assert_twilio_404(items("k").fetch, 54201)
        assert listed_keys(items) == []


# ------------------------------------------------------------- Map (collection) TTL
@pytest.mark.sync_clock(START_ISO)
def test_collection_ttl_on_map_create_takes_the_items_with_it(
    sync_clock, twilio_client, sync_service
):
    maps = maps_api(twilio_client, sync_service.sid)
    created = maps.create(unique_name="session", collection_ttl=60)
    assert created.date_expires == at(60)
    items = maps(created.sid).sync_map_items
    items.create(key="a", data={"x": 1})
    items.create(key="b", data={"x": 2}, ttl=3600)

    sync_clock.advance(59)
    assert maps("session").fetch().sid == created.sid
    assert listed_keys(items) == ["a", "b"]
    assert [m.sid for m in maps.list()] == [created.sid]

    sync_clock.advance(1)
    assert_twilio_404(maps(created.sid).fetch, 20404)
    assert_twilio_404(maps("session").fetch, 54300)
    assert_twilio_404(items("a").fetch, 20404)
    assert_twilio_404(maps("session").sync_map_items("b").fetch, 54300)
    assert_list_404(items.list, 20404)
    assert maps.list() == []
    # The unique name is free again, and the new Map starts empty.
    again = maps.create(unique_name="session")
    assert again.sid != created.sid
    assert again.date_expires is None
    assert listed_keys(maps(again.sid).sync_map_items) == []


@pytest.mark.sync_clock(START_ISO)
def test_ttl_is_an_alias_of_collection_ttl_on_maps(sync_clock, twilio_client, sync_service):
    maps = maps_api(twilio_client, sync_service.sid)
    by_alias = maps.create(unique_name="alias", ttl=30)
    both = maps.create(unique_name="both", ttl=10, collection_ttl=100)
    assert by_alias.date_expires == at(30)
    assert both.date_expires == at(100)  # the alias is ignored when both are sent

    sync_clock.advance(30)
    assert_twilio_404(maps("alias").fetch, 54300)
    assert maps("both").fetch().date_expires == at(100)


@pytest.mark.sync_map(unique_name="marked", ttl=60, items={"a": {"x": 1}})
@pytest.mark.sync_clock(START_ISO)
def test_sync_map_marker_ttl_expires_the_fixture_map(sync_clock, twilio_client, sync_map):
    maps = maps_api(twilio_client, sync_map.service_sid)
    assert maps("marked").fetch().date_expires == at(60)

    sync_clock.advance(59)
    assert listed_keys(items_api(twilio_client, sync_map)) == ["a"]
    sync_clock.advance(1)
    assert_twilio_404(maps("marked").fetch, 54300)
    assert_twilio_404(items_api(twilio_client, sync_map)("a").fetch, 20404)


@pytest.mark.sync_clock(START_ISO)
def test_an_ignored_ttl_alias_is_not_even_validated(sync_server, sync_clock, sync_map):
    auth = sync_server.auth
    item = requests.post(
        sync_map.items_url,
        data={"Key": "k", "Data": "{}", "Ttl": "soon", "ItemTtl": "60"},
        auth=auth,
    )
    assert item.status_code == 201, item.text
    assert item.json()["date_expires"] == "2030-01-01T12:01:00Z"
    updated = requests.post(sync_map.url, data={"Ttl": "-1", "CollectionTtl": "90"}, auth=auth)
    assert updated.status_code == 200, updated.text
    assert updated.json()["date_expires"] == "2030-01-01T12:01:30Z"
    alone = requests.post(sync_map.url, data={"Ttl": "-1"}, auth=auth)
    assert (alone.status_code, alone.json()["code"]) == (400, 54011)


@pytest.mark.sync_clock(START_ISO)
def test_map_update_sets_refreshes_and_removes_the_collection_ttl(
    sync_clock, twilio_client, sync_service
):
    maps = maps_api(twilio_client, sync_service.sid)
    plain = maps.create(unique_name="plain")
    assert plain.date_expires is None

    sync_clock.advance(10)
    assert maps("plain").update(collection_ttl=60).date_expires == at(70)
    sync_clock.advance(30)
    assert maps("plain").update(ttl=60).date_expires == at(100)  # via the alias
    assert maps("plain").update(ttl=5, collection_ttl=90).date_expires == at(130)

    sync_clock.advance(89)
    assert maps("plain").fetch().sid == plain.sid
    assert maps("plain").update(collection_ttl=0).date_expires is None
    sync_clock.advance(days=400)
    assert maps("plain").fetch().date_expires is None


@pytest.mark.sync_clock(START_ISO)
def test_collection_ttl_on_item_create_sets_the_map_expiry(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    made = items.create(key="a", data={}, collection_ttl=30)
    assert made.date_expires is None  # the item has no TTL of its own
    assert maps_api(twilio_client, sync_map.service_sid)(sync_map.sid).fetch().date_expires == at(
        30
    )
    assert sync_map.record.date_expires == at(30)

    sync_clock.advance(29)
    assert listed_keys(items) == ["a"]
    sync_clock.advance(1)
    assert_twilio_404(items("a").fetch, 20404)
    assert_list_404(items.list, 20404)


@pytest.mark.sync_clock(START_ISO)
def test_collection_ttl_on_item_update_refreshes_the_map_expiry(
    sync_clock, twilio_client, sync_map
):
    items = items_api(twilio_client, sync_map)
    items.create(key="a", data={"v": 1}, collection_ttl=30)

    sync_clock.advance(20)
    updated = items("a").update(data={"v": 2}, collection_ttl=30)
    assert updated.date_expires is None
    assert sync_map.record.date_expires == at(50)
    sync_clock.advance(20)
    items("a").update(item_ttl=100, collection_ttl=60)  # with a TTL change, no data
    assert sync_map.record.date_expires == at(100)
    assert items("a").fetch().date_expires == at(140)

    sync_clock.advance(59)
    assert items("a").fetch().data == {"v": 2}
    sync_clock.advance(1)
    assert_twilio_404(items("a").fetch, 20404)


@pytest.mark.sync_clock(START_ISO)
def test_collection_ttl_alone_on_item_update_is_rejected(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    items.create(key="a", data={"v": 1}, ttl=60)

    with pytest.raises(TwilioRestException) as info:
        items("a").update(collection_ttl=30)
    assert (info.value.status, info.value.code) == (400, 54010)
    assert sync_map.record.date_expires is None
    assert items("a").fetch().date_expires == at(60)


@pytest.mark.sync_clock(START_ISO)
def test_collection_ttl_through_the_async_client(sync_clock, twilio_async_client, sync_service):
    maps = maps_api(twilio_async_client, sync_service.sid)

    async def scenario() -> None:
        made = await maps.create_async(unique_name="m", collection_ttl=60)
        assert made.date_expires == at(60)
        items = maps("m").sync_map_items
        await items.create_async(key="a", data={}, collection_ttl=90)
        assert (await maps("m").fetch_async()).date_expires == at(90)

        sync_clock.advance(89)
        assert [i.key for i in await items.list_async()] == ["a"]
        sync_clock.advance(1)
        await assert_twilio_404_async(maps("m").fetch_async, 54300)
        await assert_twilio_404_async(maps(made.sid).sync_map_items("a").fetch_async, 20404)

    asyncio.run(scenario())


# ------------------------------------------------------ item TTL: aliases, 0, refresh
@pytest.mark.sync_clock(START_ISO)
def test_item_ttl_wins_over_the_ttl_alias(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    assert items.create(key="alias", data={}, ttl=10).date_expires == at(10)
    assert items.create(key="both", data={}, ttl=10, item_ttl=100).date_expires == at(100)
    assert items.create(key="specific", data={}, item_ttl=20).date_expires == at(20)

    sync_clock.advance(5)
    assert items("both").update(ttl=1000, item_ttl=50).date_expires == at(55)
    assert items("specific").update(ttl=30).date_expires == at(35)

    sync_clock.advance(5)
    assert listed_keys(items) == ["both", "specific"]
    sync_clock.advance(25)
    assert listed_keys(items) == ["both"]
    sync_clock.advance(20)
    assert listed_keys(items) == []


@pytest.mark.sync_clock(START_ISO)
def test_ttl_zero_means_no_expiry(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    assert items.create(key="zero", data={}, ttl=0).date_expires is None
    assert items.create(key="item-zero", data={}, item_ttl=0).date_expires is None

    sync_clock.advance(days=400)  # longer than the largest TTL
    assert listed_keys(items) == ["item-zero", "zero"]
    sync_map.assert_alive("zero", for_at_least=timedelta(days=3650))


@pytest.mark.sync_clock(START_ISO)
def test_update_with_ttl_zero_removes_an_existing_expiry(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    items.create(key="a", data={"v": 1}, ttl=60)
    items.create(key="b", data={"v": 1}, item_ttl=60)

    sync_clock.advance(30)
    assert items("a").update(ttl=0).date_expires is None
    assert items("b").update(data={"v": 2}, item_ttl=0).date_expires is None

    sync_clock.advance(3600)
    assert items("a").fetch().data == {"v": 1}
    assert items("b").fetch().data == {"v": 2}
    assert listed_keys(items) == ["a", "b"]


@pytest.mark.sync_clock(START_ISO)
def test_data_only_update_does_not_refresh_the_ttl(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    items.create(key="k", data={"v": 1}, ttl=60)

    sync_clock.advance(30)
    updated = items("k").update(data={"v": 2})
    assert updated.date_expires == at(60)
    assert updated.date_updated == at(30)

    sync_clock.advance(29)
    assert items("k").fetch().data == {"v": 2}
    sync_clock.advance(1)
    assert_twilio_404(items("k").fetch, 54201)


@pytest.mark.sync_clock(START_ISO)
def test_update_with_a_new_ttl_refreshes_the_expiry(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    items.create(key="k", data={"v": 1}, ttl=60)
    items.create(key="shorter", data={}, ttl=60)

    sync_clock.advance(30)
    assert items("k").update(data={"v": 2}, ttl=60).date_expires == at(90)
    assert items("shorter").update(ttl=10).date_expires == at(40)

    sync_clock.advance(10)  # t=40: the shortened TTL counts, not the original one
    assert listed_keys(items) == ["k"]
    sync_clock.advance(20)  # t=60: the original expiry no longer applies
    assert items("k").fetch().data == {"v": 2}
    sync_map.assert_expires_at("k", at(90))
    sync_clock.advance(29)
    assert listed_keys(items) == ["k"]
    sync_clock.advance(1)
    assert listed_keys(items) == []


# ----------------------------------------------------------- after an item expired
@pytest.mark.sync_clock(START_ISO)
def test_create_with_the_same_key_after_expiry_succeeds(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    old = items.create(key="k", data={"v": "old"}, ttl=60)

    sync_clock.advance(60)
    new = items.create(key="k", data={"v": "new"})

    assert rev(new.revision) > rev(old.revision)
    assert new.date_created == at(60)
    assert new.date_expires is None
    assert items("k").fetch().data == {"v": "new"}
    sync_clock.advance(days=1)
    assert listed_keys(items) == ["k"]


@pytest.mark.sync_clock(START_ISO)
def test_update_and_delete_of_an_expired_item_are_404(sync_clock, twilio_client, sync_map):
    items = items_api(twilio_client, sync_map)
    created = items.create(key="k", data={"v": 1}, ttl=60)

    sync_clock.advance(60)
    assert_twilio_404(lambda: items("k").update(data={"v": 2}), 54201)
    assert_twilio_404(lambda: items("k").update(data={"v": 2}, if_match=created.revision), 54201)
    assert_twilio_404(lambda: items("k").update(ttl=600), 54201)
    assert_twilio_404(items("k").delete, 54201)
    # Nothing of the failed writes came back to life.
    assert listed_keys(items) == []
    assert sync_map.item("k") is None


@pytest.mark.sync_clock(START_ISO)
def test_expired_item_is_gone_for_the_async_client(sync_clock, twilio_async_client, sync_map):
    items = items_api(twilio_async_client, sync_map)

    async def scenario() -> None:
        old = await items.create_async(key="k", data={"v": 1}, ttl=60)
        sync_clock.advance(60)
        await assert_twilio_404_async(lambda: items("k").update_async(data={"v": 2}), 54201)
        await assert_twilio_404_async(items("k").delete_async, 54201)
        new = await items.create_async(key="k", data={"v": 3})
        assert rev(new.revision) > rev(old.revision)

    asyncio.run(scenario())


# ------------------------------------------------------------------------ lag mode
@pytest.mark.sync_clock(START_ISO)
def test_lag_mode_keeps_expired_items_readable_for_a_while(
    sync_server, sync_clock, twilio_client, sync_map
):
    assert sync_server.expiry_lag == 0
    sync_server.expiry_lag = 30
    assert sync_server.expiry_lag == 30
    items = items_api(twilio_client, sync_map)
    items.create(key="k", data={"v": 1}, ttl=60)

    sync_clock.advance(61)
    lingering = items("k").fetch()
    assert lingering.data == {"v": 1}
    assert lingering.date_expires == at(60)
    assert lingering.date_expires < sync_clock.now()
    assert listed_keys(items) == ["k"]
    sync_map.assert_expired("k")  # expired, though still readable

    sync_clock.advance(28)  # t=89
    assert items("k").fetch().date_expires == at(60)
    sync_clock.advance(1)  # t=90 = date_expires + lag
    assert_twilio_404(items("k").fetch, 54201)
    assert listed_keys(items) == []
    sync_map.assert_expired("k")


def test_lag_mode_is_reset_to_zero_in_the_next_test(sync_server, sync_clock, sync_map):
    # Runs after the test above (file order); under xdist it may not, and still holds.
    assert sync_server.expiry_lag == 0
    sync_map.put("k", {}, ttl=60)
    sync_clock.advance(60)
    assert "k" not in sync_map


def test_lag_mode_is_reset_to_the_configured_default_between_tests(pytester):
    pytester.makepyfile(
        """
        import pytest
        from pytest_syncmap.plugin import ServerConfig


        @pytest.fixture(scope="session")
        def sync_server_config():
            return ServerConfig(expiry_lag=5)


        def test_set_lag(sync_server):
            assert sync_server.expiry_lag == 5
            sync_server.expiry_lag = 30


        def test_lag_back_to_the_configured_default(sync_server, sync_clock, sync_map):
            assert sync_server.expiry_lag == 5
            sync_map.put("k", {}, ttl=60)
            sync_clock.advance(64)
            sync_map.assert_expired("k")
            assert "k" in sync_map  # lingering for the configured 5 s
            sync_clock.advance(1)
            assert "k" not in sync_map


        def test_set_lag_again(sync_server):
            sync_server.expiry_lag = 0
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_negative_lag_is_refused(sync_server):
    with pytest.raises(ValueError, match="expiry_lag cannot be negative"):
        sync_server.expiry_lag = -1
    assert sync_server.expiry_lag == 0


# ------------------------------------------------------------ paging during expiry
#: key -> TTL in seconds (None: never expires). Pages are fetched 10 s apart.
PAGING_TTLS: dict[str, int | None] = {
    "k00": None,
    "k01": 5,
    "k02": 15,
    "k03": 15,
    "k04": None,
    "k05": 25,
    "k06": 25,
    "k07": None,
    "k08": 35,
    "k09": 35,
    "k10": 35,
    "k11": 35,
}


def expected_pages(order: str, step: int, size: int) -> list[list[str]]:
    """What a key-cursor listing must return: after the cursor, the next live keys."""
    keys = sorted(PAGING_TTLS, reverse=order == "desc")
    pages: list[list[str]] = []
    cursor = -1
    t = 0
    while True:
        live = [
            i
            for i, k in enumerate(keys)
            if i > cursor and (PAGING_TTLS[k] is None or PAGING_TTLS[k] > t)
        ]
        pages.append([keys[i] for i in live[:size]])
        if len(live) <= size:
            return pages
        cursor = live[size - 1]
        t += step


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.sync_clock(START_ISO)
def test_paging_while_items_expire_between_pages(sync_clock, twilio_client, sync_map, order):
    items = items_api(twilio_client, sync_map)
    for key, ttl in PAGING_TTLS.items():
        if ttl is None:
            items.create(key=key, data={})
        else:
            items.create(key=key, data={}, ttl=ttl)

    pages: list[list[str]] = []
    page = items.page(page_size=2, order=order)
    while True:
        records = list(page)
        now = sync_clock.now()
        pages.append([r.key for r in records])
        assert all(r.date_expires is None or r.date_expires > now for r in records)
        assert records or page.next_page_url is None, "an empty page must be the last"
        if page.next_page_url is None:
            break
        sync_clock.advance(10)
        page = page.next_page()

    seen = [key for keys in pages for key in keys]
    assert len(seen) == len(set(seen)), f"repeated items: {pages}"
    assert {k for k, ttl in PAGING_TTLS.items() if ttl is None} <= set(seen)
    assert pages == expected_pages(order, step=10, size=2)
    if order == "asc":
        assert pages == [["k00", "k01"], ["k02", "k03"], ["k04", "k05"], ["k07", "k08"], []]


@pytest.mark.sync_clock(START_ISO)
def test_stream_across_pages_never_yields_expired_or_repeated_items(
    sync_clock, twilio_client, sync_map
):
    items = items_api(twilio_client, sync_map)
    for n in range(10):
        items.create(key=f"k{n}", data={}, ttl=5 if n % 2 else 0)
    sync_clock.advance(5)  # every odd item expires before the listing starts

    keys = [item.key for item in items.stream(page_size=2)]

    assert keys == ["k0", "k2", "k4", "k6", "k8"]


# -------------------------------------------------------------- time going backwards
@pytest.mark.sync_clock(START_ISO)
def test_time_moving_backwards_keeps_revisions_order_and_expiry(
    sync_clock, twilio_client, sync_map
):
    items = items_api(twilio_client, sync_map)
    revisions = [
        rev(items.create(key="b", data={}, ttl=300).revision),
        rev(items.create(key="a", data={}, ttl=30).revision),
        rev(items.create(key="c", data={}).revision),
    ]
    map_revision = rev(maps_api(twilio_client, sync_map.service_sid)(sync_map.sid).fetch().revision)

    sync_clock.advance(31)
    assert listed_keys(items) == ["b", "c"]
    earlier = START - timedelta(hours=1)
    assert sync_clock.move_to(earlier) == earlier

    # What expired stays gone; what did not keeps its absolute expiry.
    assert_twilio_404(items("a").fetch, 54201)
    assert listed_keys(items) == ["b", "c"]
    sync_map.assert_expired("a")
    assert items("b").fetch().date_expires == at(300)
    # Writes in the past still get ever larger revisions.
    revisions.append(rev(items("c").update(data={"v": 2}).revision))
    again = items.create(key="a", data={}, ttl=10)
    revisions.append(rev(again.revision))
    assert again.date_created == earlier
    assert again.date_expires == earlier + timedelta(seconds=10)
    assert revisions == sorted(revisions)
    assert len(set(revisions)) == len(revisions)
    new_map_revision = maps_api(twilio_client, sync_map.service_sid)(sync_map.sid).fetch().revision
    assert rev(new_map_revision) > map_revision
    assert listed_keys(items) == ["a", "b", "c"]
    assert [i.key for i in items.list(order="desc")] == ["c", "b", "a"]

    sync_clock.advance(10)
    assert listed_keys(items) == ["b", "c"]
    sync_clock.move_to(at(299))
    assert items("b").fetch().date_expires == at(300)
    sync_clock.advance(1)
    assert listed_keys(items) == ["c"]


@pytest.mark.sync_clock(START_ISO)
def test_a_map_that_expired_stays_gone_when_time_moves_back(
    sync_clock, twilio_client, sync_service
):
    maps = maps_api(twilio_client, sync_service.sid)
    maps.create(unique_name="short", collection_ttl=10)
    maps.create(unique_name="long", collection_ttl=100)

    sync_clock.advance(10)
    sync_clock.advance(-10)
    assert_twilio_404(maps("short").fetch, 54300)
    assert maps("long").fetch().date_expires == at(100)
    assert [m.unique_name for m in maps.list()] == ["long"]


# -------------------------------------------------------------------- raw JSON
@pytest.mark.sync_clock("2030-02-03T04:05:06Z")
def test_date_expires_is_twilio_formatted_in_raw_json(sync_server, sync_clock, sync_map):
    auth = sync_server.auth
    made = requests.post(
        sync_map.items_url, data={"Key": "k", "Data": "{}", "Ttl": "3600"}, auth=auth
    )
    assert made.status_code == 201
    requests.post(sync_map.items_url, data={"Key": "n", "Data": "{}"}, auth=auth)
    requests.post(sync_map.url, data={"CollectionTtl": "86400"}, auth=auth)

    item = requests.get(f"{sync_map.items_url}/k", auth=auth).json()
    listing = requests.get(sync_map.items_url, auth=auth).json()
    map_body = requests.get(sync_map.url, auth=auth).json()

    assert made.json()["date_expires"] == "2030-02-03T05:05:06Z"
    assert item["date_expires"] == "2030-02-03T05:05:06Z"
    assert [i["date_expires"] for i in listing["items"]] == ["2030-02-03T05:05:06Z", None]
    assert map_body["date_expires"] == "2030-02-04T04:05:06Z"
    for body in (item, map_body, *listing["items"]):
        for field in ("date_created", "date_updated", "date_expires"):
            assert body[field] is None or TWILIO_DATE.match(body[field]), (field, body[field])


def test_date_expires_has_no_fraction_when_written_at_a_fractional_instant(sync_server, sync_map):
    auth = sync_server.auth
    with freezegun.freeze_time("2030-02-03 04:05:06.789"):
        made = requests.post(
            sync_map.items_url, data={"Key": "k", "Data": "{}", "ItemTtl": "60"}, auth=auth
        ).json()
        fetched = requests.get(f"{sync_map.items_url}/k", auth=auth).json()

    for body in (made, fetched):
        assert TWILIO_DATE.match(body["date_expires"]), body["date_expires"]
        assert TWILIO_DATE.match(body["date_created"]), body["date_created"]
        parsed = datetime.strptime(body["date_expires"], "%Y-%m-%dT%H:%M:%SZ")
        assert abs(parsed - datetime(2030, 2, 3, 4, 6, 6, 789000)) < timedelta(seconds=1)
