"""Persistent connections: every client that asks keeps one, and they stay bounded.

* ``requests``, the official twilio client (sync and async), aiohttp and twilio-node
  each send many requests over **one** connection (counted by the server);
* ``Connection: close`` and HTTP/1.0 are honoured, pipelined requests are answered in
  order, answers are sent with ``TCP_NODELAY``;
* transport faults still break the connection they fire on, and only that one; a
  ``malformed`` answer is complete, so the connection carries the next request;
* idle connections are closed after the idle timeout, closed early to make room when
  the cap is reached, and a stopped server leaves no connection thread behind;
* a request that sleeps (a ``delay`` fault) holds its own connection only.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
from node_setup import twilio_node_modules
from twilio.rest import Client
from wire_helpers import TIMEOUT, Reader, connect, request_bytes

from pytest_syncmap import SyncServer, TransportLimits

ITEM = {"v": 1}


@pytest.fixture
def private() -> Iterator[SyncServer]:
    """A private emulator (exact connection counts) holding one Map with item ``k``."""
    with SyncServer() as server:
        service = server.store.create_service(friendly_name="ka").sid
        map_sid = server.store.create_map(service, unique_name="ka").sid
        server.store.put_item(service, map_sid, "k", ITEM)
        server.item_path = f"/v1/Services/{service}/Maps/{map_sid}/Items/k"  # type: ignore[attr-defined]
        server.ids = (service, map_sid)  # type: ignore[attr-defined]
        yield server


def accepted(server: SyncServer) -> int:
    assert server.transport is not None
    return server.transport.accepted


def connection_threads(server: SyncServer) -> list[threading.Thread]:
    name = f"pytest-syncmap:{server.port}:connection"
    return [t for t in threading.enumerate() if t.name == name]


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def twilio_item(client: Client, server: SyncServer):
    service, map_sid = server.ids  # type: ignore[attr-defined]
    return client.sync.v1.services(service).sync_maps(map_sid).sync_map_items("k")


# ================================================================ one connection
def test_requests_session_uses_one_connection(private):
    before = accepted(private)
    with requests.Session() as session:
        session.auth = private.auth
        for _ in range(50):
            answer = session.get(private.url + private.item_path, timeout=TIMEOUT)
            assert answer.status_code == 200
            assert answer.json()["data"] == ITEM
            assert "close" not in answer.headers.get("Connection", "")
            assert answer.headers["Keep-Alive"] == "timeout=5"
    assert accepted(private) - before == 1


def test_official_client_uses_one_connection(private):
    client = Client(private.account_sid, private.auth_token)
    client.region = client.edge = None
    client.sync.base_url = private.url
    before = accepted(private)
    for i in range(30):
        item = twilio_item(client, private).update(data={"v": i})
        assert item.data == {"v": i}
        assert twilio_item(client, private).fetch().data == {"v": i}
    assert accepted(private) - before == 1


def test_official_async_client_uses_one_connection(private):
    from twilio.http.async_http_client import AsyncTwilioHttpClient

    async def scenario() -> list[dict]:
        http = AsyncTwilioHttpClient()
        client = Client(private.account_sid, private.auth_token, http_client=http)
        client.region = client.edge = None
        client.sync.base_url = private.url
        try:
            seen = []
            for i in range(20):
                await twilio_item(client, private).update_async(data={"v": i})
                seen.append((await twilio_item(client, private).fetch_async()).data)
            return seen
        finally:
            await http.close()

    before = accepted(private)
    assert asyncio.run(scenario()) == [{"v": i} for i in range(20)]
    assert accepted(private) - before == 1


def test_aiohttp_session_uses_one_connection(private):
    async def scenario() -> list[int]:
        auth = aiohttp.BasicAuth(*private.auth)
        async with aiohttp.ClientSession(auth=auth) as session:
            statuses = []
            for _ in range(30):
                async with session.get(private.url + private.item_path) as answer:
                    statuses.append(answer.status)
                    assert (await answer.json())["data"] == ITEM
            return statuses

    before = accepted(private)
    assert asyncio.run(scenario()) == [200] * 30
    assert accepted(private) - before == 1


NODE_SCRIPT = """
const twilio = require("twilio");
const { BASE_URL, ACCOUNT_SID, AUTH_TOKEN, SERVICE, MAP } = process.env;
(async () => {
  const client = twilio(ACCOUNT_SID, AUTH_TOKEN);
  client.sync.baseUrl = BASE_URL;
  const item = () => client.sync.v1.services(SERVICE).syncMaps(MAP).syncMapItems("k");
  const seen = [];
  for (let i = 0; i < 20; i++) {
    await item().update({ data: { v: i } });
    seen.push((await item().fetch()).data.v);
  }
  console.log(JSON.stringify(seen));
})().catch((err) => { console.error(err); process.exit(1); });
"""


def test_node_client_uses_one_connection(private, tmp_path: Path):
    modules = str(twilio_node_modules())  # skips, naming the npm step, without it
    script = tmp_path / "keepalive.js"
    script.write_text(NODE_SCRIPT)
    service, map_sid = private.ids
    env = {
        **os.environ,
        "NODE_PATH": modules,
        "BASE_URL": private.url,
        "ACCOUNT_SID": private.account_sid,
        "AUTH_TOKEN": private.auth_token,
        "SERVICE": service,
        "MAP": map_sid,
    }
    env.pop("NODE_OPTIONS", None)
    before = accepted(private)
    done = subprocess.run(
        ["node", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == list(range(20))
    assert accepted(private) - before == 1


# ============================================================ HTTP semantics
def test_connection_close_is_honoured(private):
    with connect(private) as sock:
        sock.sendall(
            request_bytes(private, "GET", private.item_path, headers={"Connection": "close"})
        )
        reader = Reader(sock)
        answer = reader.answer()
        assert answer.status == 200
        assert answer.headers["connection"] == "close"
        assert reader.closed()


def test_http10_closes_unless_asked_to_keep_alive(private):
    with connect(private) as sock:
        sock.sendall(request_bytes(private, "GET", private.item_path, version="HTTP/1.0"))
        reader = Reader(sock)
        assert reader.answer().status == 200
        assert reader.closed()
    with connect(private) as sock:
        reader = Reader(sock)
        for _ in range(3):
            sock.sendall(
                request_bytes(
                    private,
                    "GET",
                    private.item_path,
                    version="HTTP/1.0",
                    headers={"Connection": "keep-alive"},
                )
            )
            answer = reader.answer()
            assert answer.status == 200
            assert answer.headers["connection"] == "keep-alive"
        assert not reader.closed(timeout=0.2)


def test_pipelined_requests_are_answered_in_order(private):
    service, map_sid = private.ids
    items = f"/v1/Services/{service}/Maps/{map_sid}/Items"
    with connect(private) as sock:
        sock.sendall(
            request_bytes(private, "POST", items, b"Key=p1&Data=%7B%22n%22%3A1%7D")
            + request_bytes(private, "GET", private.item_path)
            + request_bytes(private, "POST", items, b"Key=p2&Data=%7B%7D")
            + request_bytes(private, "GET", items + "/p1")
        )
        reader = Reader(sock)
        answers = [reader.answer() for _ in range(4)]
    assert [a.status for a in answers] == [201, 200, 201, 200]
    assert answers[1].json()["key"] == "k"
    assert answers[3].json()["data"] == {"n": 1}
    assert accepted(private) == 1


def test_answers_go_out_with_tcp_nodelay(private):
    with connect(private) as sock:
        sock.sendall(request_bytes(private, "GET", private.item_path))
        assert Reader(sock).answer().status == 200
        transport = private.transport
        assert transport is not None
        (conn,) = transport._connections
        assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


# ============================================================ transport faults
def read_to_end(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def fault_server(server: SyncServer, kind: str) -> None:
    server.faults.add(kind, key="k", operation="fetch")


def test_reset_breaks_its_connection_only(private):
    fault_server(private, "reset")
    with connect(private) as sock:
        sock.sendall(request_bytes(private, "GET", private.item_path))
        with pytest.raises(ConnectionResetError):
            read_to_end(sock)
    with requests.Session() as session:
        session.auth = private.auth
        assert session.get(private.url + private.item_path).status_code == 200


def test_empty_response_closes_without_a_byte(private):
    fault_server(private, "empty_response")
    with connect(private) as sock:
        sock.sendall(request_bytes(private, "GET", private.item_path))
        assert sock.recv(65536) == b""


def test_truncated_promises_more_than_it_sends(private):
    fault_server(private, "truncated")
    with connect(private) as sock:
        sock.sendall(request_bytes(private, "GET", private.item_path))
        data = read_to_end(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    promised = int(lengths[0].split(b":")[1])
    assert 0 < len(body) < promised


def test_malformed_answer_is_complete_and_the_connection_goes_on(private):
    fault_server(private, "malformed")
    with connect(private) as sock:
        reader = Reader(sock)
        sock.sendall(request_bytes(private, "GET", private.item_path))
        bad = reader.answer()
        assert bad.status == 200
        with pytest.raises(ValueError):
            bad.json()
        sock.sendall(request_bytes(private, "GET", private.item_path))
        good = reader.answer()
        assert good.status == 200
        assert good.json()["data"] == ITEM
    assert accepted(private) == 1


def test_session_recovers_after_each_breaking_fault(private):
    with requests.Session() as session:
        session.auth = private.auth
        url = private.url + private.item_path
        assert session.get(url).status_code == 200
        for kind in ("reset", "empty_response", "truncated"):
            fault_server(private, kind)
            with pytest.raises(
                (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
            ):
                session.get(url, timeout=TIMEOUT)
            assert session.get(url, timeout=TIMEOUT).json()["data"] == ITEM


# ================================================================== bounds
def bounded_server(**limits: float) -> SyncServer:
    server = SyncServer()
    server.limits = TransportLimits(**limits)  # type: ignore[arg-type]
    server.start()
    return server


def test_idle_connection_is_closed_after_the_idle_timeout():
    server = bounded_server(idle_timeout=0.6, idle_grace=0.3)
    try:
        with connect(server) as sock:
            sock.sendall(request_bytes(server, "GET", "/v1/Services"))
            reader = Reader(sock)
            answer = reader.answer()
            assert answer.status == 200
            assert "keep-alive" not in answer.headers  # under a second: no hint
            started = time.monotonic()
            assert reader.closed(timeout=5)
            assert 0.3 <= time.monotonic() - started < 4
        assert wait_until(lambda: not connection_threads(server))
    finally:
        server.stop()


def test_stalled_request_is_dropped_after_the_read_timeout():
    server = bounded_server(read_timeout=0.3)
    try:
        with connect(server) as sock:
            sock.sendall(b"GET /v1/Services HTTP/1.1\r\nHost: x\r\n")  # head never finished
            reader = Reader(sock)
            assert reader.closed(timeout=5)
    finally:
        server.stop()


def test_pooled_idle_connections_never_pile_up():
    """Forty abandoned pooled connections: at most the cap stay open, all requests work."""
    cap = 4
    server = bounded_server(max_connections=cap, idle_grace=0.05, idle_timeout=30)
    sessions = []
    try:
        for _ in range(40):
            session = requests.Session()
            session.auth = server.auth
            answer = session.get(f"{server.url}/v1/Services", timeout=TIMEOUT)
            assert answer.status_code == 200
            sessions.append(session)  # kept: its connection stays pooled, idle
            transport = server.transport
            assert transport is not None
            # A connection closed to make room ends its thread a moment later; on a
            # busy machine that moment can outlast the next request.
            assert wait_until(lambda t=transport: t.open_connections <= cap + 1)
            assert wait_until(lambda: len(connection_threads(server)) <= cap + 1)
        assert wait_until(lambda: len(connection_threads(server)) <= cap)
    finally:
        for session in sessions:
            session.close()
        server.stop()
    assert connection_threads(server) == []


def test_busy_connections_make_newcomers_wait_not_fail():
    """At the cap with every connection busy, a new client waits in the backlog."""
    server = bounded_server(max_connections=2)
    try:
        server.faults.add("delay", seconds=0.5, times=2, operation="ListService")
        results: list[int] = []

        def call() -> None:
            answer = requests.get(f"{server.url}/v1/Services", auth=server.auth, timeout=TIMEOUT)
            results.append(answer.status_code)

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.1)
        started = time.monotonic()
        answer = requests.get(f"{server.url}/v1/Services", auth=server.auth, timeout=TIMEOUT)
        assert answer.status_code == 200
        assert time.monotonic() - started < 5
        for t in threads:
            t.join()
        assert results == [200, 200]
    finally:
        server.stop()


def test_a_delayed_request_does_not_hold_up_other_clients(private):
    private.faults.add("delay", seconds=1.5, times=1, operation="ListService")
    slow = threading.Thread(
        target=requests.get, args=(f"{private.url}/v1/Services",), kwargs={"auth": private.auth}
    )
    slow.start()
    try:
        time.sleep(0.1)
        started = time.monotonic()
        for _ in range(5):
            assert (
                requests.get(private.url + private.item_path, auth=private.auth).status_code == 200
            )
        assert time.monotonic() - started < 1.2
    finally:
        slow.join()


def test_stop_closes_every_connection_and_its_thread():
    server = SyncServer()
    server.start()
    sessions = []
    for _ in range(5):
        session = requests.Session()
        session.auth = server.auth
        assert session.get(f"{server.url}/v1/Services").status_code == 200
        sessions.append(session)
    assert len(connection_threads(server)) == 5
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1
    assert connection_threads(server) == []
    for session in sessions:
        session.close()


# ============================================================ canned answers
def test_canned_answers_share_the_connection_with_the_emulator(private):
    """pytest-httpserver's API on a keep-alive connection: a canned answer reads its
    body, the next request on the same connection reaches the emulator."""
    private.expect_oneshot_request("/canned", method="POST", data=b"hello").respond_with_json(
        {"canned": True}
    )
    with requests.Session() as session:
        session.auth = private.auth
        canned = session.post(private.url_for("/canned"), data=b"hello", timeout=TIMEOUT)
        assert canned.json() == {"canned": True}
        assert session.get(private.url + private.item_path).json()["data"] == ITEM
    private.check()
    assert accepted(private) == 1
