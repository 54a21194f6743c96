"""Request bodies and request lines on raw sockets: nothing half-read is ever processed.

Each case sends exact bytes to the emulator and checks the answer (a Twilio JSON body,
never a 500), what the connection does afterwards, and that the emulator's state is
exactly what it was:

* a body shorter than its ``Content-Length`` (client half-closed or vanished) is a 400
  and is not stored, however many clients do it;
* malformed or truncated chunked bodies are a 400; a valid chunked body works;
* credentials are checked before a body is read, an oversized body is refused (413)
  without being read and the connection closed; ``Expect: 100-continue`` is answered
  only for a request that will read its body;
* ambiguous framing (``Content-Length`` with ``Transfer-Encoding``, conflicting
  lengths) is refused;
* an absolute-form request target (as sent through a proxy) yields valid ``meta`` URLs;
* raw UTF-8 bytes in the request line address the same key as their percent-encoded
  form, and invalid UTF-8 is refused the same way in both forms.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from wire_helpers import TIMEOUT, Answer, Reader, connect, exchange, request_bytes

from pytest_syncmap.http.app import MAX_BODY_BYTES

EXISTING = {"existing": {"v": 1}}
pytestmark = pytest.mark.sync_map(items=EXISTING)
CREATE = b"Key=cut&Data=%7B%22n%22%3A1%7D&Ttl=3600"


def snapshot(server: Any) -> tuple[Any, ...]:
    """Every Service, Map and item of the emulator."""
    store = server.store
    services = store.list_services(limit=1000).records
    maps = {s.sid: store.list_maps(s.sid, limit=1000).records for s in services}
    items = {(s, m.sid): store.all_items(s, m.sid) for s, records in maps.items() for m in records}
    return services, maps, items


@contextlib.contextmanager
def unchanged(server: Any) -> Iterator[None]:
    before = snapshot(server)
    yield
    assert snapshot(server) == before


def items_path(sync_map: Any) -> str:
    return urlsplit(sync_map.items_url).path


def assert_twilio_error(answer: Answer, status: int, code: int) -> dict[str, Any]:
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["status"], body["code"]) == (status, code), body
    return body


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


# ============================================================ short bodies
def test_body_cut_short_by_a_half_close_is_not_processed(sync_server, sync_map):
    with unchanged(sync_server), connect(sync_server) as sock:
        sock.sendall(
            request_bytes(
                sync_server, "POST", items_path(sync_map), CREATE[:-2], length=len(CREATE)
            )
        )
        sock.shutdown(socket.SHUT_WR)  # the client has nothing more to send
        reader = Reader(sock)
        body = assert_twilio_error(reader.answer(), 400, 20001)
        assert "body" in body["message"]
        assert reader.closed()
    assert "cut" not in sync_map


def test_fifty_vanishing_clients_leave_no_phantom_services(sync_server):
    form = b"FriendlyName=phantom&ReachabilityWebhooksEnabled=true"
    with unchanged(sync_server):
        for _ in range(50):
            with connect(sync_server) as sock:
                sock.sendall(
                    request_bytes(sync_server, "POST", "/v1/Services", form[:20], length=len(form))
                )
        wait_for(lambda: len(sync_server.journal.find(path="/v1/Services", status=400)) == 50)
    assert not sync_server.journal.find(operation="CreateService", status=201)


# ================================================================= chunked
def chunked(*chunks: bytes, end: bytes = b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + end


CHUNKED = {"Transfer-Encoding": "chunked"}


def test_valid_chunked_body_is_read_exactly(sync_server, sync_map):
    body = chunked(b"Key=chunky&Da", b"ta=%7B%22n%22%3A", b"2%7D")
    with connect(sync_server) as sock:
        reader = Reader(sock)
        sock.sendall(
            request_bytes(sync_server, "POST", items_path(sync_map), body, headers=CHUNKED)
            + request_bytes(sync_server, "GET", items_path(sync_map) + "/chunky")
        )
        assert reader.answer().status == 201
        fetched = reader.answer()
    assert fetched.status == 200
    assert fetched.json()["data"] == {"n": 2}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"zz\r\nKey=k\r\n0\r\n\r\n", id="bad-size"),
        pytest.param(b"-5\r\nKey=k\r\n0\r\n\r\n", id="negative-size"),
        pytest.param(b"5\r\nKey=kXX0\r\n\r\n", id="no-crlf-after-data"),
        pytest.param(b"3\r\nKey=k&Data=%7B%7D\r\n0\r\n\r\n", id="size-too-small"),
        pytest.param(b"ffffffffffffffffffff\r\n", id="absurd-size"),
        pytest.param(b"5\r\nKey=k", id="truncated-data"),
        pytest.param(b"5\r\nKey=k\r\n", id="no-last-chunk"),
        pytest.param(b"5\r\nKey=k\r\n0\r\n", id="no-final-crlf"),
    ],
)
def test_malformed_or_truncated_chunked_body_is_a_400(sync_server, sync_map, body):
    with unchanged(sync_server), connect(sync_server) as sock:
        sock.sendall(
            request_bytes(sync_server, "POST", items_path(sync_map), body, headers=CHUNKED)
        )
        sock.shutdown(socket.SHUT_WR)
        reader = Reader(sock)
        assert_twilio_error(reader.answer(), 400, 20001)
        assert reader.closed()
    assert not sync_server.take_errors()


def test_chunked_body_over_the_limit_is_a_413(sync_server, sync_map):
    piece = b"x" * 65536
    with unchanged(sync_server), connect(sync_server) as sock:
        sock.sendall(request_bytes(sync_server, "POST", items_path(sync_map), b"", headers=CHUNKED))
        reader = Reader(sock)
        with contextlib.suppress(OSError):  # the server may close before it all went
            for _ in range(MAX_BODY_BYTES // len(piece) + 2):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        assert_twilio_error(reader.answer(), 413, 54006)


def test_chunked_body_just_over_the_limit_is_a_413_and_the_connection_goes_on(
    sync_server, sync_map
):
    """What is left after the limit is drained (it is short): the next request is served."""
    body = b"%x\r\n%s\r\n" % (MAX_BODY_BYTES, b"x" * MAX_BODY_BYTES) + b"10\r\n" + b"y" * 16
    body += b"\r\n0\r\n\r\n"
    head = request_bytes(sync_server, "POST", items_path(sync_map), b"", headers=CHUNKED)
    with unchanged(sync_server), connect(sync_server) as sock:
        reader = Reader(sock)
        sock.sendall(head + body)
        assert_twilio_error(reader.answer(), 413, 54006)
        sock.sendall(request_bytes(sync_server, "GET", items_path(sync_map) + "/existing"))
        assert reader.answer().json()["data"] == {"v": 1}


def test_chunked_body_far_over_the_limit_is_a_413_and_the_connection_closed(sync_server, sync_map):
    """More than 64 KiB left after the limit: not drained, the connection is closed."""
    rest = 256 * 1024
    body = b"%x\r\n%s\r\n" % (MAX_BODY_BYTES + rest, b"x" * (MAX_BODY_BYTES + rest))
    head = request_bytes(sync_server, "POST", items_path(sync_map), b"", headers=CHUNKED)
    with unchanged(sync_server), connect(sync_server) as sock:
        reader = Reader(sock)
        with contextlib.suppress(OSError):  # the server may close before it all went
            sock.sendall(head + body)
        assert_twilio_error(reader.answer(), 413, 54006)
        assert reader.closed()


# ============================================================ refused unread
def test_credentials_are_checked_before_the_body_is_read(sync_server, sync_map):
    payload = request_bytes(sync_server, "POST", items_path(sync_map), b"", length=100)
    payload = payload.replace(b"Authorization: Basic ", b"Authorization: Basic x")
    with unchanged(sync_server), connect(sync_server) as sock:
        sock.sendall(payload)  # the promised 100 bytes never come
        reader = Reader(sock)
        started = time.monotonic()
        assert_twilio_error(reader.answer(), 401, 20003)
        assert time.monotonic() - started < 3
        assert reader.closed()


def test_refused_request_with_its_body_sent_keeps_the_connection(sync_server, sync_map):
    refused = request_bytes(sync_server, "POST", items_path(sync_map), CREATE, auth=False)
    with unchanged(sync_server), connect(sync_server) as sock:
        reader = Reader(sock)
        sock.sendall(refused)
        assert_twilio_error(reader.answer(), 401, 20003)
        sock.sendall(request_bytes(sync_server, "GET", items_path(sync_map) + "/existing"))
        assert reader.answer().json()["data"] == {"v": 1}


def test_oversized_body_is_refused_unread_and_the_connection_closed(sync_server, sync_map):
    payload = request_bytes(
        sync_server, "POST", items_path(sync_map), b"", length=2 * MAX_BODY_BYTES
    )
    with unchanged(sync_server), connect(sync_server) as sock:
        sock.sendall(payload)  # no body at all: the answer cannot depend on it
        reader = Reader(sock)
        started = time.monotonic()
        assert_twilio_error(reader.answer(), 413, 54006)
        assert time.monotonic() - started < 3
        assert reader.closed()


def test_expect_continue_is_answered_only_when_the_body_is_wanted(sync_server, sync_map):
    head = request_bytes(
        sync_server,
        "POST",
        items_path(sync_map),
        b"",
        length=len(b"Key=c100&Data=%7B%7D"),
        headers={"Expect": "100-continue"},
    )
    with connect(sync_server) as sock:
        sock.sendall(head)
        reader = Reader(sock)
        interim = reader.answer()
        assert interim.status == 100
        sock.sendall(b"Key=c100&Data=%7B%7D")
        assert reader.answer().status == 201
    with unchanged(sync_server), connect(sync_server) as sock:
        sock.sendall(head.replace(b"Authorization: Basic ", b"Authorization: Basic x"))
        reader = Reader(sock)
        assert_twilio_error(reader.answer(), 401, 20003)  # no 100 Continue first
        assert reader.closed()


# ================================================================= framing
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Length": "5", "Transfer-Encoding": "chunked"}, id="cl-and-te"),
        pytest.param({"Content-Length": "5, 6"}, id="conflicting-lengths"),
        pytest.param({"Content-Length": "-1"}, id="negative-length"),
        pytest.param({"Content-Length": "+5"}, id="signed-length"),
        pytest.param({"Transfer-Encoding": "gzip"}, id="te-not-chunked"),
    ],
)
def test_ambiguous_framing_is_refused_and_closed(sync_server, sync_map, headers):
    payload = request_bytes(sync_server, "POST", items_path(sync_map), headers=headers)
    with unchanged(sync_server):
        answer, closed = exchange(sync_server, payload + b"Key=k&Data=%7B%7D")
    assert_twilio_error(answer, 400, 20001)
    assert closed


# ======================================================== request targets
def test_absolute_form_target_yields_valid_meta_urls(sync_server, sync_map):
    maps_path = f"/v1/Services/{sync_map.service_sid}/Maps"
    answer = requests.get(
        f"{sync_server.url}{maps_path}",
        auth=sync_server.auth,
        proxies={"http": sync_server.url},  # requests sends the absolute form to a proxy
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200
    meta = answer.json()["meta"]
    assert meta["url"] == f"{sync_server.url}{maps_path}?PageSize=50&Page=0"
    assert meta["first_page_url"].startswith(f"{sync_server.url}{maps_path}?")
    raw, _ = exchange(
        sync_server,
        request_bytes(sync_server, "GET", sync_server.url + maps_path),
        check_close=False,
    )
    assert raw.json()["meta"]["url"] == meta["url"]
    assert raw.json()["maps"][0]["url"] == sync_map.url


def test_raw_utf8_in_the_request_line_is_the_same_key_as_percent_encoded(sync_server, sync_map):
    sync_map.put("clé/ß", {"accent": True})
    raw_target = f"{items_path(sync_map)}/clé/ß".encode()
    encoded_target = f"{items_path(sync_map)}/{quote('clé/ß', safe='')}".encode()
    answers = []
    for target in (raw_target, encoded_target):
        payload = request_bytes(sync_server, "GET", "TARGET").replace(b"TARGET", target)
        answer, _ = exchange(sync_server, payload, check_close=False)
        assert answer.status == 200, answer.body
        answers.append(answer.json())
    assert answers[0]["key"] == answers[1]["key"] == "clé/ß"
    assert answers[0]["data"] == {"accent": True}
    assert answers[0]["url"].isascii()


@pytest.mark.parametrize("bad", [b"\xff", b"%ff", b"\xc3", b"%c3", b"\xed\xa0\x80", b"%ed%a0%80"])
def test_invalid_utf8_is_refused_the_same_way_raw_or_encoded(sync_server, sync_map, bad):
    sync_map.put("\ufffd", {"replacement": True})
    target = items_path(sync_map).encode() + b"/" + bad
    with unchanged(sync_server):
        answer, _ = exchange(
            sync_server,
            request_bytes(sync_server, "GET", "TARGET").replace(b"TARGET", target),
            check_close=False,
        )
    assert_twilio_error(answer, 404, 20404)


def test_raw_utf8_in_the_query_is_the_same_as_percent_encoded(sync_server, sync_map):
    for key in ("a", "é", "z"):
        sync_map.put(key, {})
    base = items_path(sync_map).encode() + b"?PageSize=50&From="
    keys = []
    for value in ("é".encode(), b"%C3%A9"):
        payload = request_bytes(sync_server, "GET", "TARGET").replace(b"TARGET", base + value)
        answer, _ = exchange(sync_server, payload, check_close=False)
        assert answer.status == 200, answer.body
        keys.append([item["key"] for item in answer.json()["items"]])
    assert keys[0] == keys[1] == ["é"]
