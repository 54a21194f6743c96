"""Streams (T1-T5) and Stream Messages (TM1) through the official twilio client and HTTP.

A Stream has no revision and no data; messages are published and never stored, so
the only Stream Message operation is create. The store is read to check what the API
cannot show (a deleted Stream is gone, a refused publish changed nothing).
"""

from __future__ import annotations

import asyncio
import json
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
    raw,
    rest_error,
    service_url,
    unchanged,
)
from twilio.base.exceptions import TwilioRestException

from pytest_syncmap import Choices, SyncServer

pytestmark = CLIENT_WARNINGS

STREAM_SID = re.compile(r"^TO[0-9a-f]{32}$")
MESSAGE_SID = re.compile(r"^TZ[0-9a-f]{32}$")
UNKNOWN_STREAM = "TO" + "0" * 32


def streams(client: Any, service: str) -> Any:
    return client.sync.v1.services(service).sync_streams


def streams_url(server: Any, service: str) -> str:
    return f"{service_url(server, service)}/Streams"


# ==================================================================== Streams
def test_create_stream(twilio_client, sync_server, sync_service):
    created = streams(twilio_client, sync_service.sid).create(unique_name="typing", ttl=60)
    response = last_response(twilio_client)
    assert response.status_code == 201
    assert "ETag" not in response.headers
    assert STREAM_SID.match(created.sid)
    assert created.unique_name == "typing"
    assert created.account_sid == sync_server.account_sid
    assert created.service_sid == sync_service.sid
    assert created.created_by == "system"
    assert_recent(created.date_created)
    assert created.date_expires - created.date_created == timedelta(seconds=60)
    assert created.url == f"{streams_url(sync_server, sync_service.sid)}/{created.sid}"
    assert created.links == {"messages": f"{created.url}/Messages"}
    assert sync_server.store.streams.get(sync_service.sid, "typing").sid == created.sid


def test_stream_body_has_exactly_the_spec_keys_in_order(sync_server, sync_service):
    body = raw(sync_server, "POST", streams_url(sync_server, sync_service.sid)).json()
    assert list(body) == [
        "sid",
        "unique_name",
        "account_sid",
        "service_sid",
        "url",
        "links",
        "date_expires",
        "date_created",
        "date_updated",
        "created_by",
    ]
    assert (body["unique_name"], body["date_expires"]) == (None, None)


def test_fetch_stream_by_sid_and_name(twilio_client, sync_server, sync_service):
    record = sync_server.store.streams.create(sync_service.sid, unique_name="s")
    for ref in (record.sid, "s"):
        fetched = streams(twilio_client, sync_service.sid)(ref).fetch()
        assert (fetched.sid, fetched.unique_name) == (record.sid, "s")
        assert fetched.url.endswith(f"/Streams/{record.sid}")


def test_update_stream_changes_only_its_expiry(
    twilio_client, sync_server, sync_service, sync_clock
):
    record = sync_server.store.streams.create(sync_service.sid, unique_name="s")
    sync_clock.advance(seconds=10)
    updated = streams(twilio_client, sync_service.sid)("s").update(ttl=300)
    assert last_response(twilio_client).status_code == 200
    assert updated.date_updated - updated.date_created == timedelta(seconds=10)
    assert updated.date_expires - updated.date_updated == timedelta(seconds=300)
    assert updated.sid == record.sid
    cleared = streams(twilio_client, sync_service.sid)("s").update(ttl=0)
    assert cleared.date_expires is None


def test_delete_stream(twilio_client, sync_server, sync_service):
    record = sync_server.store.streams.create(sync_service.sid, unique_name="s")
    ctx = streams(twilio_client, sync_service.sid)
    assert ctx(record.sid).delete() is True
    assert last_response(twilio_client).status_code == 204
    assert rest_error(ctx(record.sid).fetch) == (404, 54250)
    assert rest_error(ctx("s").fetch) == (404, 54300)
    assert rest_error(ctx(record.sid).delete) == (404, 54250)
    assert rest_error(lambda: ctx(record.sid).stream_messages.create(data={})) == (404, 54250)
    assert ctx.create(unique_name="s").sid != record.sid


def test_list_streams_in_creation_order(twilio_client, sync_server, sync_service):
    sids = [sync_server.store.streams.create(sync_service.sid).sid for _ in range(5)]
    ctx = streams(twilio_client, sync_service.sid)
    assert [s.sid for s in ctx.list(page_size=2)] == sids
    page = ctx.page(page_size=2).next_page()
    assert [s.sid for s in page] == sids[2:4]
    assert [s.sid for s in page.previous_page()] == sids[:2]
    body = raw(
        sync_server, "GET", streams_url(sync_server, sync_service.sid), params={"PageSize": "9"}
    ).json()
    assert list(body) == ["streams", "meta"]
    assert body["meta"]["key"] == "streams"
    assert body["meta"]["page_size"] == 9


def test_stream_expires(twilio_client, sync_service, sync_clock):
    ctx = streams(twilio_client, sync_service.sid)
    created = ctx.create(unique_name="s", ttl=30)
    sync_clock.advance(seconds=30)
    assert rest_error(ctx(created.sid).fetch) == (404, 54250)
    assert rest_error(lambda: ctx("s").stream_messages.create(data={})) == (404, 54300)
    assert ctx.list() == []


def test_streams_in_the_default_service(twilio_client, sync_server):
    created = streams(twilio_client, "default").create(unique_name="s")
    assert created.service_sid == sync_server.store.default_service_sid
    message = streams(twilio_client, "default")("s").stream_messages.create(data={"v": 1})
    assert message.data == {"v": 1}


# ============================================================ Stream Messages
def test_publish_message(twilio_client, sync_server, sync_service):
    sync_server.store.streams.create(sync_service.sid, unique_name="s")
    data = {"typing": True, "who": "ådå", "n": [1, 2.5, None]}
    sent = streams(twilio_client, sync_service.sid)("s").stream_messages.create(data=data)
    response = last_response(twilio_client)
    assert response.status_code == 201
    assert "ETag" not in response.headers
    assert MESSAGE_SID.match(sent.sid)
    assert sent.data == data
    assert list(json.loads(response.text)) == ["sid", "data"]


def test_every_message_gets_a_fresh_sid(twilio_client, sync_server, sync_service):
    record = sync_server.store.streams.create(sync_service.sid)
    messages = streams(twilio_client, sync_service.sid)(record.sid).stream_messages
    sids = {messages.create(data={"i": i}).sid for i in range(5)}
    assert len(sids) == 5


def test_publishing_leaves_the_stream_as_it_was(twilio_client, sync_server, sync_service):
    record = sync_server.store.streams.create(sync_service.sid, unique_name="s")
    streams(twilio_client, sync_service.sid)("s").stream_messages.create(data={})
    assert sync_server.store.streams.get(sync_service.sid, "s") == record


def test_message_limit_is_4_kib(twilio_client, sync_server, sync_service):
    """SYNC_OTHER Q4: 4,096 bytes of compact JSON pass; 4,097 and 5,000 do not."""
    sync_server.store.streams.create(sync_service.sid, unique_name="s")
    messages = streams(twilio_client, sync_service.sid)("s").stream_messages
    overhead = len(json.dumps({"x": ""}, separators=(",", ":")))

    def of_size(size: int) -> dict[str, str]:
        return {"x": "a" * (size - overhead)}

    assert messages.create(data=of_size(4000)).data == of_size(4000)
    assert messages.create(data=of_size(4096)).data == of_size(4096)
    with unchanged(sync_server, sync_service.sid):
        assert rest_error(lambda: messages.create(data=of_size(4097))) == (413, 54006)
        assert rest_error(lambda: messages.create(data=of_size(5000))) == (413, 54006)


@pytest.mark.parametrize(
    "form", [{}, {"Data": ""}, {"Data": "null"}], ids=["missing", "empty", "null"]
)
def test_message_without_data_is_400_54251(sync_server, sync_service, form):
    sync_server.store.streams.create(sync_service.sid, unique_name="s")
    url = f"{streams_url(sync_server, sync_service.sid)}/s/Messages"
    assert_twilio_error(raw(sync_server, "POST", url, data=form), 400, 54251, "cannot be null")


@pytest.mark.parametrize("data", ["{nope", "[1]", "1", '"s"', "Infinity"], ids=str)
def test_message_data_not_a_json_object_is_400_54008(sync_server, sync_service, data):
    sync_server.store.streams.create(sync_service.sid, unique_name="s")
    url = f"{streams_url(sync_server, sync_service.sid)}/s/Messages"
    assert_twilio_error(raw(sync_server, "POST", url, data={"Data": data}), 400, 54008)


@pytest.mark.parametrize(
    ("method", "suffix", "status"),
    [
        ("GET", "/s/Messages", 405),
        ("DELETE", "/s/Messages", 405),
        ("GET", "/s/Messages/TZ" + "0" * 32, 404),
        ("DELETE", "/s/Messages/TZ" + "0" * 32, 404),
        ("GET", "/s/Permissions", 404),
        ("PUT", "/s", 405),
        ("DELETE", "", 405),
    ],
)
def test_messages_are_publish_only(sync_server, sync_service, method, suffix, status):
    sync_server.store.streams.create(sync_service.sid, unique_name="s")
    with unchanged(sync_server, sync_service.sid):
        resp = raw(sync_server, method, streams_url(sync_server, sync_service.sid) + suffix)
        assert_twilio_error(resp, status, 20004 if status == 405 else 20404)
    if status == 405:
        assert resp.headers["Allow"]


# ===================================================================== async
def test_streams_async(twilio_async_client, sync_server, sync_service):
    ctx = streams(twilio_async_client, sync_service.sid)

    async def scenario() -> None:
        created = await ctx.create_async(unique_name="s")
        sent = await ctx("s").stream_messages.create_async(data={"a": 1})
        assert MESSAGE_SID.match(sent.sid)
        assert sent.data == {"a": 1}
        assert (await ctx(created.sid).fetch_async()).unique_name == "s"
        assert (await ctx("s").update_async(ttl=10)).date_expires is not None
        assert [s.sid for s in await ctx.list_async()] == [created.sid]
        assert await ctx("s").delete_async() is True
        with pytest.raises(TwilioRestException) as exc:
            await ctx("s").stream_messages.create_async(data={})
        assert (exc.value.status, exc.value.code) == (404, 54300)

    asyncio.run(scenario())
    assert sync_server.store.streams.page(sync_service.sid, limit=10).records == []


# ==================================================================== errors
def test_unknown_stream_name_is_404_54300(twilio_client, sync_service):
    ctx = streams(twilio_client, sync_service.sid)("nope")
    assert rest_error(ctx.fetch) == (404, 54300)
    assert rest_error(lambda: ctx.update(ttl=1)) == (404, 54300)
    assert rest_error(ctx.delete) == (404, 54300)
    assert rest_error(lambda: ctx.stream_messages.create(data={})) == (404, 54300)


def test_unknown_stream_sid_is_404_54250(twilio_client, sync_service):
    ctx = streams(twilio_client, sync_service.sid)(UNKNOWN_STREAM)
    assert rest_error(ctx.fetch) == (404, 54250)
    assert rest_error(lambda: ctx.update(ttl=1)) == (404, 54250)
    assert rest_error(ctx.delete) == (404, 54250)
    assert rest_error(lambda: ctx.stream_messages.create(data={})) == (404, 54250)


def test_unknown_service(twilio_client):
    ctx = streams(twilio_client, "IS" + "0" * 32)
    assert rest_error(lambda: ctx.create()) == (404, 20404)
    assert page_error(ctx.list) == (404, 20404)


def test_duplicate_stream_name_is_409_54301(twilio_client, sync_server, sync_service):
    sync_server.store.streams.create(sync_service.sid, unique_name="s")
    with unchanged(sync_server, sync_service.sid):
        assert rest_error(
            lambda: streams(twilio_client, sync_service.sid).create(unique_name="s")
        ) == (
            409,
            54301,
        )


@pytest.mark.parametrize(
    "name", ["", "x" * 321, "TO" + "c" * 32, "a/b"], ids=["empty", "321", "sid", "slash"]
)
def test_invalid_stream_name_is_400_54302(sync_server, sync_service, name):
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server,
            "POST",
            streams_url(sync_server, sync_service.sid),
            data={"UniqueName": name},
        )
        assert_twilio_error(resp, 400, 54302)


@pytest.mark.parametrize("target", ["create", "update"])
@pytest.mark.parametrize("ttl", ["-1", "31536001", "x"])
def test_invalid_stream_ttl_is_400_54011(sync_server, sync_service, target, ttl):
    sync_server.store.streams.create(sync_service.sid, unique_name="s")
    url = streams_url(sync_server, sync_service.sid) + ("" if target == "create" else "/s")
    with unchanged(sync_server, sync_service.sid):
        assert_twilio_error(raw(sync_server, "POST", url, data={"Ttl": ttl}), 400, 54011)


@pytest.mark.parametrize("form", [{}, {"Ttl": ""}, {"UniqueName": "x"}], ids=str)
def test_update_with_nothing_to_change_is_400_54010(sync_server, sync_service, form):
    sync_server.store.streams.create(sync_service.sid, unique_name="s")
    with unchanged(sync_server, sync_service.sid):
        resp = raw(
            sync_server, "POST", streams_url(sync_server, sync_service.sid) + "/s", data=form
        )
        assert_twilio_error(resp, 400, 54010)


def test_bad_page_token_is_400_54453(sync_server, sync_service):
    resp = raw(
        sync_server,
        "GET",
        streams_url(sync_server, sync_service.sid),
        params={"PageToken": "garbage"},
    )
    assert_twilio_error(resp, 400, 54453)


def test_choice_changes_the_missing_data_code():
    with SyncServer(choices=Choices(missing_stream_message_data_code=20001)) as server:
        server.store.streams.create("default", unique_name="s")
        url = f"{streams_url(server, 'default')}/s/Messages"
        assert_twilio_error(
            raw(server, "POST", url, data={"Data": "null"}), 400, 20001, "Missing required"
        )
