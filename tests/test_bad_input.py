"""Bad input of every kind: each answer is a Twilio JSON error and nothing is stored.

Most requests are plain ``requests`` calls against the emulator, so the test controls
the exact bytes on the wire; a few go through the official twilio client to show what
user code sees. Every error case checks the HTTP status, the Twilio body ``{code,
message, more_info, status}`` (JSON, never HTML, never a 500) and that the Map, its
items and the Service's list of Maps are exactly as they were before the request.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from pytest_syncmap import DEFAULT_CHOICES
from pytest_syncmap.http.app import MAX_BODY_BYTES

#: Every test starts with this one item in its Map, so "unchanged" has content.
EXISTING = {"existing": {"v": 1, "s": "é"}}
pytestmark = pytest.mark.sync_map(items=EXISTING)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TIMEOUT = 10


# ------------------------------------------------------------------ helpers
#: Sync's codes for a bad query parameter of a listing (``choices.query_error_codes``).
QUERY_CODES = {"Order": 54451, "Bounds": 54452, "PageToken": 54453, "PageSize": 54454}


def assert_twilio_error(
    resp: requests.Response, status: int, code: int, message: str | None = None
) -> dict[str, Any]:
    """``resp`` is Twilio's JSON error with this status and code (and message part)."""
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    assert resp.headers.get("Content-Type") == "application/json"
    assert not resp.text.lstrip().startswith("<")
    body = resp.json()
    assert set(body) == {"code", "message", "more_info", "status"}, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    if message is not None:
        assert message in body["message"], body["message"]
    return body


def snapshot(sync_map: Any) -> tuple[Any, ...]:
    """Everything a bad request could have changed: items, Map record, the Service's Maps."""
    store = sync_map.server.store
    return (
        dict(sync_map),
        sync_map.record.revision,
        sync_map.record,
        store.all_items(sync_map.service_sid, sync_map.sid),
        store.list_maps(sync_map.service_sid, limit=100).records,
    )


@contextlib.contextmanager
def unchanged(sync_map: Any) -> Iterator[None]:
    """Assert that the block leaves the emulator's state exactly as it found it."""
    before = snapshot(sync_map)
    yield
    assert snapshot(sync_map) == before


def post(url: str, server: Any, data: Any = None, **kwargs: Any) -> requests.Response:
    return requests.post(url, data=data, auth=server.auth, timeout=TIMEOUT, **kwargs)


def get(url: str, server: Any, **params: str) -> requests.Response:
    return requests.get(url, params=params, auth=server.auth, timeout=TIMEOUT)


def maps_url(sync_map: Any) -> str:
    return f"{sync_map.server.url}/v1/Services/{sync_map.service_sid}/Maps"


def item_url(sync_map: Any, key: str) -> str:
    return f"{sync_map.items_url}/{quote(key, safe='')}"


def compact_size(data: Any) -> int:
    """Size the 16 KiB limit measures: compact JSON, raw UTF-8."""
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def data_of_size(size: int) -> dict[str, str]:
    """An object whose compact UTF-8 serialisation is exactly ``size`` bytes.

    It is mostly ``é`` (2 bytes raw, 6 bytes as Python's ``\\u00e9`` escape), so the
    text a Python client sends is about three times larger than what is measured.
    """
    room = size - len('{"s":""}')
    data = {"s": "é" * (room // 2) + "a" * (room % 2)}
    assert compact_size(data) == size
    return data


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["PageToken"][0]


def raw_exchange(server: Any, payload: bytes) -> bytes:
    """Send raw bytes to the emulator and read until it closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[int | None, bytes]:
    """(status from the status line, or None when the server sent none; body)."""
    if not raw.startswith(b"HTTP/"):
        return None, raw
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# ============================================================ item create: Key
@pytest.mark.parametrize(
    ("form", "status", "code", "message"),
    [
        pytest.param({"Data": "{}"}, 400, 20001, "Key", id="missing-key"),
        pytest.param({"Key": "", "Data": "{}"}, 400, 54209, "1-320", id="empty-key"),
        pytest.param({"Key": "k" * 321, "Data": "{}"}, 400, 54209, "1-320", id="key-321"),
        pytest.param({"Key": "é" * 321, "Data": "{}"}, 400, 54209, "1-320", id="key-321-chars"),
        pytest.param({"Key": "existing", "Data": "{}"}, 409, 54208, None, id="duplicate-key"),
        pytest.param({}, 400, 20001, "Key", id="empty-body"),
    ],
)
def test_create_item_bad_key(sync_server, sync_map, form, status, code, message):
    with unchanged(sync_map):
        resp = post(sync_map.items_url, sync_server, form)
        assert_twilio_error(resp, status, code, message)


@pytest.mark.parametrize("key", ["k" * 320, "é" * 320, "😀" * 320])
def test_create_item_key_of_320_characters_is_accepted(sync_server, sync_map, key):
    resp = post(sync_map.items_url, sync_server, {"Key": key, "Data": '{"ok": true}'})
    assert resp.status_code == 201, resp.text
    assert resp.json()["key"] == key
    fetched = get(item_url(sync_map, key), sync_server)
    assert fetched.status_code == 200
    assert fetched.json()["key"] == key
    assert sync_map[key] == {"ok": True}


# =========================================================== item create: Data
DEEP = "[" * 100_000


@pytest.mark.parametrize(
    ("data", "status", "code", "message"),
    [
        pytest.param(None, 400, 20001, "Data", id="missing"),
        pytest.param("", 400, 54008, None, id="empty"),
        pytest.param("not json", 400, 54008, None, id="not-json"),
        pytest.param("{", 400, 54008, None, id="truncated"),
        pytest.param("{'a': 1}", 400, 54008, None, id="single-quotes"),
        pytest.param('{"a": 1} trailing', 400, 54008, None, id="trailing-garbage"),
        pytest.param("[1,2]", 400, 54008, None, id="array"),
        pytest.param('"str"', 400, 54008, None, id="string"),
        pytest.param("5", 400, 54008, None, id="number"),
        pytest.param("true", 400, 54008, None, id="boolean"),
        pytest.param("null", 400, 54008, None, id="null"),
        pytest.param("NaN", 400, 54008, None, id="nan"),
        pytest.param('{"a": NaN}', 400, 54008, None, id="nan-inside"),
        pytest.param('{"a": -Infinity}', 400, 54008, None, id="infinity-inside"),
        pytest.param('{"a": 1e999}', 400, 54008, None, id="float-overflow"),
        pytest.param('{"a": ' + "1" * 5000 + "}", 400, 54008, None, id="huge-integer"),
        pytest.param(DEEP, 400, 54008, None, id="deep-array"),
        pytest.param('{"a": ' + DEEP, 400, 54008, None, id="deep-in-object"),
        pytest.param(
            '{"a": ' + "[" * 5000 + "]" * 5000 + "}", 400, 54008, None, id="deep-but-well-formed"
        ),
    ],
)
def test_create_item_bad_data(sync_server, sync_map, data, status, code, message):
    form = {"Key": "new"}
    if data is not None:
        form["Data"] = data
    with unchanged(sync_map):
        resp = post(sync_map.items_url, sync_server, form)
        assert_twilio_error(resp, status, code, message)


@pytest.mark.parametrize("data", ['{"a": "\\ud800"}', '{"\\udfff": 1}'])
def test_create_item_data_with_lone_surrogate_is_rejected(sync_server, sync_map, data):
    with unchanged(sync_map):
        resp = post(sync_map.items_url, sync_server, {"Key": "new", "Data": data})
        assert_twilio_error(resp, 400, 54008)


@pytest.mark.parametrize("compact", [False, True], ids=["python-escaped", "compact-utf8"])
def test_data_limit_counts_compact_utf8(sync_server, sync_map, compact):
    """16384 bytes is accepted and 16385 is 413/54006, however the client spelled the JSON."""
    limit = DEFAULT_CHOICES.data_max_bytes
    assert limit == 16384

    def encode(data: Any) -> str:
        if compact:
            return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return json.dumps(data)  # ", " separators, \u00e9 escapes: ~49 KB on the wire

    at_limit = data_of_size(limit)
    if not compact:
        assert len(encode(at_limit)) > 2 * limit
    resp = post(sync_map.items_url, sync_server, {"Key": "at", "Data": encode(at_limit)})
    assert resp.status_code == 201, resp.text
    assert resp.json()["data"] == at_limit
    assert sync_map["at"] == at_limit

    with unchanged(sync_map):
        over = data_of_size(limit + 1)
        resp = post(sync_map.items_url, sync_server, {"Key": "over", "Data": encode(over)})
        assert_twilio_error(resp, 413, 54006, "16385")
        resp = post(
            item_url(sync_map, "existing"), sync_server, {"Data": encode(over)}
        )  # the same limit applies to an update
        assert_twilio_error(resp, 413, 54006)


def test_data_limit_through_twilio_client(twilio_client, sync_map):
    items = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
    with unchanged(sync_map), pytest.raises(TwilioRestException) as info:
        items.sync_map_items.create(key="big", data=data_of_size(16385))
    assert (info.value.status, info.value.code) == (413, 54006)
    created = items.sync_map_items.create(key="fits", data=data_of_size(16384))
    assert created.data == data_of_size(16384)


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        pytest.param({"key": "", "data": {}}, 400, 54209, id="empty-key"),
        pytest.param({"key": "k" * 321, "data": {}}, 400, 54209, id="long-key"),
        pytest.param({"key": "k", "data": [1, 2]}, 400, 54008, id="array-data"),
        pytest.param({"key": "k", "data": "not json"}, 400, 54008, id="string-data"),
        pytest.param({"key": "existing", "data": {}}, 409, 54208, id="duplicate"),
        pytest.param({"key": "k", "data": {}, "ttl": -1}, 400, 54011, id="negative-ttl"),
    ],
)
def test_bad_create_through_twilio_client(twilio_client, sync_map, kwargs, status, code):
    items = (
        twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid).sync_map_items
    )
    with unchanged(sync_map), pytest.raises(TwilioRestException) as info:
        items.create(**kwargs)
    assert (info.value.status, info.value.code) == (status, code)
    assert info.value.msg


# ====================================================== keys with odd characters
ODD_KEYS = [
    "with space",
    "ünïcødé",
    "😀 emoji",
    "a+b",
    "100%",
    "50%25off",
    "a/b",
    "a//b",
    "/lead",
    "trail/",
    "q?x=1",
    "h#frag",
    "amp&eq=",
    "tab\tnew\nline",
    "quote\"'",
    "back\\slash",
    "Items",
]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_odd_keys_round_trip(sync_server, sync_map, key):
    created = post(sync_map.items_url, sync_server, {"Key": key, "Data": '{"n": 1}'})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"] == key
    assert body["url"] == item_url(sync_map, key)

    fetched = get(item_url(sync_map, key), sync_server)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["key"] == key
    assert fetched.json()["data"] == {"n": 1}
    assert fetched.headers["ETag"] == body["revision"]
    # The resource's own url addresses it too.
    assert get(body["url"], sync_server).json()["key"] == key

    updated = post(item_url(sync_map, key), sync_server, {"Data": '{"n": 2}'})
    assert updated.status_code == 200, updated.text
    assert sync_map[key] == {"n": 2}
    listed = get(sync_map.items_url, sync_server).json()["items"]
    assert key in [item["key"] for item in listed]

    deleted = requests.delete(item_url(sync_map, key), auth=sync_server.auth, timeout=TIMEOUT)
    assert deleted.status_code == 204
    assert key not in sync_map
    assert sync_map["existing"] == EXISTING["existing"]


def test_plus_in_path_is_a_plus_not_a_space(sync_server, sync_map):
    sync_map.put("a b", {"space": True})
    sync_map.put("a+b", {"plus": True})
    assert get(f"{sync_map.items_url}/a+b", sync_server).json()["data"] == {"plus": True}
    assert get(f"{sync_map.items_url}/a%2Bb", sync_server).json()["data"] == {"plus": True}
    assert get(f"{sync_map.items_url}/a%20b", sync_server).json()["data"] == {"space": True}
    sync_map.delete("a+b")
    assert_twilio_error(get(f"{sync_map.items_url}/a+b", sync_server), 404, 54201)


def test_slash_key_addressed_raw_or_encoded(sync_server, sync_map):
    """``Items/a/b`` (twilio-python) and ``Items/a%2Fb`` (CLI) both mean key ``a/b``."""
    sync_map.put("a/b", {"x": 1})
    for path in ("a/b", "a%2Fb", "a%2fb"):
        resp = get(f"{sync_map.items_url}/{path}", sync_server)
        assert resp.status_code == 200, path
        assert resp.json()["key"] == "a/b"


# ===================================================================== listing
@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "1e2", " ", "0x10", "٣"])
def test_bad_page_size(sync_server, sync_map, value):
    with unchanged(sync_map):
        resp = get(sync_map.items_url, sync_server, PageSize=value)
        assert_twilio_error(resp, 400, QUERY_CODES["PageSize"], "PageSize")


@pytest.mark.parametrize("value", ["101", "1000", "999999999999"])
def test_page_size_over_max_is_clamped(sync_server, sync_map, value):
    for i in range(3):
        sync_map.put(f"k{i}", {})
    body = get(sync_map.items_url, sync_server, PageSize=value).json()
    assert body["meta"]["page_size"] == 100
    assert "PageSize=100" in body["meta"]["url"]
    assert len(body["items"]) == 4


def test_huge_page_size_is_clamped(sync_server, sync_map):
    resp = get(sync_map.items_url, sync_server, PageSize=str(2**63 - 1))
    assert resp.status_code == 200, resp.text
    assert resp.json()["meta"]["page_size"] == 100


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Order", "ASC"),
        ("Order", "descending"),
        ("Bounds", "INCLUSIVE"),
        ("Bounds", "incl"),
        ("Bounds", "open"),
        ("Page", "-1"),
        ("Page", "abc"),
    ],
)
def test_bad_list_enum_or_page(sync_server, sync_map, name, value):
    with unchanged(sync_map):
        resp = get(sync_map.items_url, sync_server, **{name: value})
        assert_twilio_error(resp, 400, QUERY_CODES.get(name, 20001), name)


@pytest.mark.parametrize(
    ("name", "value"), [("Order", "up"), ("Bounds", "open"), ("PageSize", "0"), ("PageToken", "x")]
)
def test_generic_query_codes_when_chosen(name, value):
    """``Choices(query_error_codes="generic")`` answers Twilio's generic 20001 instead."""
    from pytest_syncmap import Choices, SyncServer

    with SyncServer(choices=Choices(query_error_codes="generic")) as server:
        service = server.store.create_service().sid
        sid = server.store.maps.create(service).sid
        url = f"{server.url}/v1/Services/{service}/Maps/{sid}/Items"
        resp = requests.get(url, params={name: value}, auth=server.auth, timeout=TIMEOUT)
        assert_twilio_error(resp, 400, 20001, name)


@pytest.mark.sync_map(items={"a": {}, "b": {}, "c": {}})
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_empty_list_parameters_count_as_not_sent(sync_server, sync_map, order):
    """``From=``, ``Bounds=`` and ``Order=`` sent empty mean what leaving them out means."""
    expected = ["a", "b", "c"] if order == "asc" else ["c", "b", "a"]
    resp = get(sync_map.items_url, sync_server, Order=order, From="", Bounds="")
    assert resp.status_code == 200, resp.text
    assert [item["key"] for item in resp.json()["items"]] == expected
    assert "From=" not in resp.json()["meta"]["url"]
    resp = get(sync_map.items_url, sync_server, Order="")
    assert [item["key"] for item in resp.json()["items"]] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "PTxxxx",
        "PT",
        "PT!!!!",
        "PA" + base64.urlsafe_b64encode(b'["n", "a"]').decode(),
        "PT" + base64.urlsafe_b64encode(b'["x", "a"]').decode(),
        "PT" + base64.urlsafe_b64encode(b'["n", 5]').decode(),
        "PT" + base64.urlsafe_b64encode(b'{"n": "a"}').decode(),
        "PT" + base64.urlsafe_b64encode(b'["n", "a", "b"]').decode(),
        "PT" + base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "PT" + base64.urlsafe_b64encode(b"[" * 10_000).decode(),
    ],
)
def test_forged_page_token(sync_server, sync_map, token):
    with unchanged(sync_map):
        resp = get(sync_map.items_url, sync_server, PageToken=token)
        assert_twilio_error(resp, 400, QUERY_CODES["PageToken"], "PageToken")


def test_page_token_of_another_listing_is_rejected(sync_server, sync_map):
    store = sync_server.store
    store.create_map(sync_map.service_sid)
    store.create_map(sync_map.service_sid)
    sync_map.put("second", {})
    maps_page = get(maps_url(sync_map), sync_server, PageSize="1").json()
    items_page = get(sync_map.items_url, sync_server, PageSize="1").json()
    map_token = token_of(maps_page["meta"]["next_page_url"])
    item_token = token_of(items_page["meta"]["next_page_url"])
    with unchanged(sync_map):
        bad_token = QUERY_CODES["PageToken"]
        assert_twilio_error(
            get(sync_map.items_url, sync_server, PageToken=map_token), 400, bad_token, "PageToken"
        )
        assert_twilio_error(
            get(maps_url(sync_map), sync_server, PageToken=item_token), 400, bad_token, "PageToken"
        )
    # Each token still works where it was issued.
    assert get(maps_url(sync_map), sync_server, PageToken=map_token).status_code == 200
    assert get(sync_map.items_url, sync_server, PageToken=item_token).status_code == 200


@pytest.mark.sync_map(items={k: {"k": k} for k in "abcdef"})
def test_stale_page_token_still_works(sync_server, sync_map):
    first = get(sync_map.items_url, sync_server, PageSize="2").json()
    assert [i["key"] for i in first["items"]] == ["a", "b"]
    next_url = first["meta"]["next_page_url"]
    # The key the cursor points after disappears, and so does the next one.
    sync_map.delete("b")
    sync_map.delete("c")
    resp = requests.get(next_url, auth=sync_server.auth, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert [i["key"] for i in second["items"]] == ["d", "e"]
    third = requests.get(second["meta"]["next_page_url"], auth=sync_server.auth, timeout=TIMEOUT)
    assert [i["key"] for i in third.json()["items"]] == ["f"]
    assert third.json()["meta"]["next_page_url"] is None


def test_unknown_query_parameters_are_ignored(sync_server, sync_map):
    resp = get(sync_map.items_url, sync_server, Foo="bar", pagesize="0", order="bogus")
    assert resp.status_code == 200
    assert resp.json()["meta"]["page_size"] == 50
    assert [i["key"] for i in resp.json()["items"]] == ["existing"]


# ========================================================================= TTL
BAD_TTLS = ["abc", "-1", "31536001", "1.5", "1e3", "0x10", "99999999999999"]


def _ttl_target(sync_map: Any, target: str) -> tuple[str, dict[str, str]]:
    """URL and the rest of a valid form for each place a TTL may be sent."""
    return {
        "item-create": (sync_map.items_url, {"Key": "new", "Data": "{}"}),
        "item-update": (item_url(sync_map, "existing"), {"Data": '{"v": 2}'}),
        "map-create": (maps_url(sync_map), {"UniqueName": "fresh"}),
        "map-update": (sync_map.url, {}),
    }[target]


@pytest.mark.parametrize("value", BAD_TTLS)
@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("item-create", "Ttl"),
        ("item-create", "ItemTtl"),
        ("item-create", "CollectionTtl"),
        ("item-update", "Ttl"),
        ("item-update", "ItemTtl"),
        ("item-update", "CollectionTtl"),
        ("map-create", "Ttl"),
        ("map-create", "CollectionTtl"),
        ("map-update", "Ttl"),
        ("map-update", "CollectionTtl"),
    ],
)
def test_bad_ttl(sync_server, sync_map, target, name, value):
    url, form = _ttl_target(sync_map, target)
    with unchanged(sync_map):
        resp = post(url, sync_server, {**form, name: value})
        assert_twilio_error(resp, 400, 54011, "31 536 000")


@pytest.mark.parametrize("value", ["0", "31536000"])
def test_ttl_bounds_are_accepted(sync_server, sync_map, value):
    resp = post(sync_map.items_url, sync_server, {"Key": "t", "Data": "{}", "ItemTtl": value})
    assert resp.status_code == 201, resp.text
    record = sync_map.item("t")
    assert record is not None
    if value == "0":
        assert record.date_expires is None
    else:
        assert record.date_expires - record.date_created == timedelta(seconds=int(value))


@pytest.mark.parametrize(
    ("target", "form", "expected"),
    [
        ("item-create", {"Ttl": "abc", "ItemTtl": "60"}, 60),
        ("item-create", {"Ttl": "120", "ItemTtl": "60"}, 60),
        ("item-create", {"Ttl": "-1", "ItemTtl": "0"}, None),
        ("item-update", {"Ttl": "abc", "ItemTtl": "60"}, 60),
        ("item-update", {"Ttl": "31536001", "ItemTtl": "90"}, 90),
        ("map-create", {"Ttl": "abc", "CollectionTtl": "60"}, 60),
        ("map-create", {"Ttl": "120", "CollectionTtl": "60"}, 60),
        ("map-update", {"Ttl": "1.5", "CollectionTtl": "30"}, 30),
    ],
)
def test_specific_ttl_wins_over_alias(sync_server, sync_map, target, form, expected):
    """``Ttl`` is an alias ignored, not even validated, when the specific name is sent."""
    url, base = _ttl_target(sync_map, target)
    resp = post(url, sync_server, {**base, **form})
    assert resp.status_code in (200, 201), resp.text
    if target.startswith("item"):
        record = sync_map.item(resp.json()["key"])
    else:
        record = sync_server.store.get_map(sync_map.service_sid, resp.json()["sid"])
    assert record is not None
    if expected is None:
        assert record.date_expires is None
        assert resp.json()["date_expires"] is None
    else:
        assert record.date_expires - record.date_updated == timedelta(seconds=expected)


def test_unknown_form_parameters_are_ignored(sync_server, sync_map):
    form = {
        "Key": "k",
        "Data": '{"a": 1}',
        "Bogus": "1",
        "key": "lower-case-is-another-name",
        "data": "not json",
        "ttl": "abc",
        "If-Match": "zz!",
        "Sid": "MP" + "0" * 32,
    }
    resp = post(sync_map.items_url, sync_server, form)
    assert resp.status_code == 201, resp.text
    assert resp.json()["key"] == "k"
    assert resp.json()["date_expires"] is None
    assert dict(sync_map) == {**EXISTING, "k": {"a": 1}}
    resp = post(item_url(sync_map, "k"), sync_server, {"Data": '{"a": 2}', "Whatever": "x"})
    assert resp.status_code == 200
    assert sync_map["k"] == {"a": 2}


# ====================================================================== update
@pytest.mark.parametrize(
    ("form", "code"),
    [
        pytest.param({}, 54010, id="nothing"),
        pytest.param({"Bogus": "1"}, 54010, id="only-unknown"),
        pytest.param({"Ttl": ""}, 54010, id="empty-ttl"),
        pytest.param(
            {"CollectionTtl": "60"},
            DEFAULT_CHOICES.collection_ttl_alone_code,
            id="collection-ttl-alone",
        ),
    ],
)
def test_update_item_without_changes(sync_server, sync_map, form, code):
    with unchanged(sync_map):
        resp = post(item_url(sync_map, "existing"), sync_server, form)
        assert_twilio_error(resp, 400, code)


def test_update_map_without_changes(sync_server, sync_map):
    with unchanged(sync_map):
        assert_twilio_error(post(sync_map.url, sync_server, {}), 400, 54010)


def test_update_without_changes_through_twilio_client(twilio_client, sync_map):
    item = (
        twilio_client.sync.v1.services(sync_map.service_sid)
        .sync_maps(sync_map.sid)
        .sync_map_items("existing")
    )
    with unchanged(sync_map), pytest.raises(TwilioRestException) as info:
        item.update()
    assert (info.value.status, info.value.code) == (400, 54010)
    with unchanged(sync_map), pytest.raises(TwilioRestException) as info:
        item.update(collection_ttl=60)
    assert (info.value.status, info.value.code) == (400, DEFAULT_CHOICES.collection_ttl_alone_code)


@pytest.mark.parametrize("value", ["zz!", "g1", "1 2", '"', '"1', "W/", '""', "1a,2b", "f" * 33])
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_malformed_if_match(sync_server, sync_map, method, value):
    with unchanged(sync_map):
        resp = requests.request(
            method,
            item_url(sync_map, "existing"),
            data={"Data": '{"v": 2}'} if method == "POST" else None,
            headers={"If-Match": value},
            auth=sync_server.auth,
            timeout=TIMEOUT,
        )
        assert_twilio_error(resp, 400, 54003, "If-Match")


def test_stale_if_match_is_a_precondition_failure(sync_server, sync_map):
    stale = format(sync_map.item("existing").revision + 7, "x")
    with unchanged(sync_map):
        resp = post(
            item_url(sync_map, "existing"), sync_server, {"Data": "{}"}, headers={"If-Match": stale}
        )
        assert_twilio_error(resp, 412, DEFAULT_CHOICES.revision_mismatch_code)


# =================================================================== body size
def test_huge_body_is_refused_and_server_keeps_serving(sync_server, sync_map):
    body = b"Key=big&Data=" + b"x" * (8 * 1024 * 1024)
    with unchanged(sync_map):
        resp = post(sync_map.items_url, sync_server, body, headers=FORM)
        assert_twilio_error(resp, 413, 54006)
    # The same server answers the next request normally.
    resp = get(item_url(sync_map, "existing"), sync_server)
    assert resp.status_code == 200
    assert resp.json()["data"] == EXISTING["existing"]


class _BigBody:
    """A ``wsgi.input`` that produces ``size`` bytes on demand and records each read."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.reads: list[int] = []

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            n = self.left
        n = min(n, self.left)
        self.reads.append(n)
        self.left -= n
        return b"x" * n


def test_huge_body_is_never_held_in_memory(sync_server, sync_map):
    """The 413 is decided from Content-Length; not one byte of the body is read."""
    size = 8 * 1024 * 1024
    assert size > MAX_BODY_BYTES
    stream = _BigBody(size)
    token = base64.b64encode(":".join(sync_server.auth).encode()).decode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": urlsplit(sync_map.items_url).path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": FORM["Content-Type"],
        "CONTENT_LENGTH": str(size),
        "HTTP_AUTHORIZATION": f"Basic {token}",
        "HTTP_HOST": f"{sync_server.host}:{sync_server.port}",
        "SERVER_NAME": sync_server.host,
        "SERVER_PORT": str(sync_server.port),
        "wsgi.input": stream,
        "wsgi.url_scheme": "http",
    }
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.append(status)

    with unchanged(sync_map):
        tracemalloc.start()
        try:
            chunks = list(sync_server.app(environ, start_response))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert seen == ["413 Request Entity Too Large"]
    assert json.loads(b"".join(chunks))["code"] == 54006
    assert stream.reads == [], "the 413 is decided from Content-Length, nothing is read"
    # tracemalloc counts every thread's allocations; half the body is a safe bound that
    # still proves the 8 MiB body was never held whole.
    assert peak < size // 2, f"peak {peak} bytes while refusing an 8 MiB body"


def test_bad_content_length(sync_server, sync_map):
    with unchanged(sync_map):
        raw = raw_exchange(
            sync_server,
            (
                f"POST {urlsplit(sync_map.items_url).path} HTTP/1.1\r\n"
                f"Host: {sync_server.host}\r\nContent-Length: abc\r\n\r\n"
            ).encode(),
        )
    status, body = split_response(raw)
    assert status == 400
    assert json.loads(body)["code"] == 20001


# ============================================================== authentication
def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def _bad_auth_cases(server: Any) -> dict[str, dict[str, Any]]:
    sid, token = server.auth
    return {
        "wrong-token": {"auth": (sid, token + "x")},
        "wrong-sid": {"auth": ("AC" + "0" * 32, token)},
        "swapped": {"auth": (token, sid)},
        "empty-pair": {"auth": ("", "")},
        "missing": {},
        "not-base64": {"headers": {"Authorization": "Basic !!!not-base64!!!"}},
        "scheme-only": {"headers": {"Authorization": "Basic"}},
        "bearer": {"headers": {"Authorization": f"Bearer {token}"}},
        "no-colon": {"headers": {"Authorization": _basic(f"{sid}{token}".encode())}},
        "not-utf8": {"headers": {"Authorization": _basic(b"\xff\xfe:\xfd")}},
        "token-prefix": {"headers": {"Authorization": _basic(f"{sid}:{token[:-1]}".encode())}},
        "extra-colon": {"headers": {"Authorization": _basic(f"{sid}:{token}:".encode())}},
    }


@pytest.mark.parametrize(
    "case",
    [
        "wrong-token",
        "wrong-sid",
        "swapped",
        "empty-pair",
        "missing",
        "not-base64",
        "scheme-only",
        "bearer",
        "no-colon",
        "not-utf8",
        "token-prefix",
        "extra-colon",
    ],
)
def test_bad_credentials(sync_server, sync_map, case):
    kwargs = _bad_auth_cases(sync_server)[case]
    with unchanged(sync_map):
        for method, url, data in (
            ("POST", sync_map.items_url, {"Key": "new", "Data": "{}"}),
            ("GET", item_url(sync_map, "existing"), None),
            ("DELETE", item_url(sync_map, "existing"), None),
            ("GET", f"{sync_server.url}/v1/Services", None),
        ):
            resp = requests.request(method, url, data=data, timeout=TIMEOUT, **kwargs)
            body = assert_twilio_error(resp, 401, 20003)
            assert body["message"].startswith("Authenticate: ")
            assert sync_server.auth_token not in body["message"]
            assert resp.headers["WWW-Authenticate"].startswith("Basic")


def test_non_ascii_authorization_header(sync_server, sync_map):
    with unchanged(sync_map):
        resp = requests.get(
            sync_map.items_url, headers={"Authorization": "Basic \xe9t\xe9"}, timeout=TIMEOUT
        )
        body = assert_twilio_error(resp, 401, 20003)
        assert body["message"].startswith("Authenticate: ")


def test_lowercase_basic_scheme_is_accepted(sync_server, sync_map):
    header = "basic " + base64.b64encode(":".join(sync_server.auth).encode()).decode()
    resp = requests.get(sync_map.items_url, headers={"Authorization": header}, timeout=TIMEOUT)
    assert resp.status_code == 200


# ================================================================== encodings
@pytest.mark.parametrize(
    "body",
    [
        b"Key=%ff&Data=%7B%7D",
        b"Key=\xff",
        b"Key=k&Data=\xc3",
        b"Key=k&Data=%7B%22a%22%3A%22%ED%A0%80%22%7D",  # an encoded UTF-16 surrogate
        b"K%FFey=k&Data=%7B%7D",
    ],
)
def test_non_utf8_form_values(sync_server, sync_map, body):
    with unchanged(sync_map):
        resp = post(sync_map.items_url, sync_server, body, headers=FORM)
        assert_twilio_error(resp, 400, 20001, "UTF-8")


def test_non_utf8_form_on_update(sync_server, sync_map):
    with unchanged(sync_map):
        resp = post(item_url(sync_map, "existing"), sync_server, b"Data=%ff", headers=FORM)
        assert_twilio_error(resp, 400, 20001)


def test_non_utf8_query(sync_server, sync_map):
    with unchanged(sync_map):
        resp = requests.get(
            f"{sync_map.items_url}?From=%ff", auth=sync_server.auth, timeout=TIMEOUT
        )
        assert_twilio_error(resp, 400, 20001)


def test_non_utf8_path(sync_server, sync_map):
    with unchanged(sync_map):
        resp = requests.get(f"{sync_map.items_url}/%ff", auth=sync_server.auth, timeout=TIMEOUT)
        assert resp.status_code == 404
        assert_twilio_error(resp, 404, resp.json()["code"])
        resp = requests.get(
            f"{sync_server.url}/v1/Services/%ff%fe", auth=sync_server.auth, timeout=TIMEOUT
        )
        assert_twilio_error(resp, 404, 20404)


def test_non_utf8_path_is_not_a_replacement_character(sync_server, sync_map):
    sync_map.put("\ufffd", {"replacement": True})
    with unchanged(sync_map):
        resp = requests.get(f"{sync_map.items_url}/%ff", auth=sync_server.auth, timeout=TIMEOUT)
        assert_twilio_error(resp, 404, 20404)


def test_json_body_instead_of_form(sync_server, sync_map):
    with unchanged(sync_map):
        resp = requests.post(
            sync_map.items_url,
            json={"Key": "k", "Data": {}},
            auth=sync_server.auth,
            timeout=TIMEOUT,
        )
        assert_twilio_error(resp, 400, 20001, "Key")


# ============================================================ routes, methods
#: Paths no operation matches; ``{svc}`` and ``{map}`` stand for this test's SIDs.
UNKNOWN_PATHS = [
    "/v1/Services//Maps//Items",
    "/v1/Services/{svc}/Maps//Items",
    "/v1/Services/{svc}/Maps/{map}/Items/",
    "/v1/Services/{svc}/Maps/{map}/Things",
    "/v1/Services/{svc}/Documents/",
    "/v1/Services/{svc}/Documents/d/Items",
    "/v1/Services/{svc}/Lists/ES00000000000000000000000000000000/Items/1/2",
    "/v1/Services/{svc}/Lists/l/Items/",
    "/v1/Services/{svc}/Streams/s/Messages/TZ00000000000000000000000000000000",
    "/v1/Services/{svc}/Streams/s/Permissions",
    "/v1/Services/{svc}/Maps/{map}/Permissions/",
    "/v1/Services/",
    "/v1/Maps",
    "/v1/Foo",
    "/v1",
    "/v2/Services",
    "/",
    "/v1/services",
]


@pytest.mark.parametrize("template", UNKNOWN_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_route(sync_server, sync_map, method, template):
    path = template.format(svc=sync_map.service_sid, map=sync_map.sid)
    with unchanged(sync_map):
        resp = requests.request(
            method,
            sync_server.url + path,
            data={"Key": "k", "Data": "{}"} if method == "POST" else None,
            auth=sync_server.auth,
            timeout=TIMEOUT,
        )
        body = assert_twilio_error(resp, 404, 20404)
    shown = path[3:] if path.startswith("/v1/") else path
    assert body["message"] == f"The requested resource {shown} was not found"


def test_unknown_route_message_example(sync_server):
    resp = get(f"{sync_server.url}/v1/Services//Maps//Items", sync_server)
    body = assert_twilio_error(resp, 404, 20404)
    assert body["message"] == "The requested resource /Services//Maps//Items was not found"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("target", ["services", "service", "maps", "map", "items", "item"])
def test_wrong_method(sync_server, sync_map, method, target):
    url = {
        "services": f"{sync_server.url}/v1/Services",
        "service": f"{sync_server.url}/v1/Services/{sync_map.service_sid}",
        "maps": maps_url(sync_map),
        "map": sync_map.url,
        "items": sync_map.items_url,
        "item": item_url(sync_map, "existing"),
    }[target]
    with unchanged(sync_map):
        resp = requests.request(
            method,
            url,
            data={"Key": "new", "Data": '{"v": 9}', "CollectionTtl": "5"},
            auth=sync_server.auth,
            timeout=TIMEOUT,
        )
        assert_twilio_error(resp, 405, 20004)


@pytest.mark.parametrize("target", ["services", "maps", "items"])
def test_delete_on_a_collection_is_not_allowed(sync_server, sync_map, target):
    url = {
        "services": f"{sync_server.url}/v1/Services",
        "maps": maps_url(sync_map),
        "items": sync_map.items_url,
    }[target]
    with unchanged(sync_map):
        resp = requests.delete(url, auth=sync_server.auth, timeout=TIMEOUT)
        assert_twilio_error(resp, 405, 20004)


# ======================================================== malformed HTTP itself
MALFORMED_REQUESTS = {
    "garbage-line": (b"GARBAGE\r\n\r\n", 400),
    "bad-version": (b"GET /v1/Services HTTP/9.9\r\n\r\n", 505),
    "not-http": (b"GET /v1/Services FTP/1.0\r\n\r\n", 400),
    "four-words": (b"GET /v1/Services HTTP/1.1 extra\r\n\r\n", 400),
    "binary": (b"\x00\x01\x02 \xff\xfe \x80\r\n\r\n", 400),
    "uri-too-long": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    "header-too-long": (
        b"GET /v1/Services HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
        431,
    ),
    "too-many-headers": (
        b"GET /v1/Services HTTP/1.1\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(150))
        + b"\r\n",
        431,
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED_REQUESTS))
def test_malformed_http_gets_a_json_error(sync_server, sync_map, case):
    payload, status = MALFORMED_REQUESTS[case]
    with unchanged(sync_map):
        raw = raw_exchange(sync_server, payload)
    assert b"<html" not in raw.lower()
    assert b"<!doctype" not in raw.lower()
    line_status, body = split_response(raw)
    error = json.loads(body)
    assert set(error) == {"code", "message", "more_info", "status"}
    assert error["status"] == status
    assert error["code"] == {400: 20001}.get(status, 20000 + status)
    assert error["more_info"].endswith(f"/{error['code']}")
    if line_status is not None:
        assert line_status == status
    # The server is unharmed.
    assert get(item_url(sync_map, "existing"), sync_server).status_code == 200


@pytest.mark.parametrize("case", ["garbage-line", "bad-version", "four-words"])
def test_malformed_request_line_gets_a_status_line(sync_server, case):
    payload, status = MALFORMED_REQUESTS[case]
    line_status, _ = split_response(raw_exchange(sync_server, payload))
    assert line_status == status
