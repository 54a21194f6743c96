"""The server host: lifecycle, errors raised inside it, and the standalone mode.

* A private :class:`SyncServer` starts and stops in milliseconds on a port the OS
  picks, and stopping never waits on a poll interval or an idle client.
* An exception inside the emulator answers the client with a Twilio 500 and is kept
  for the test; through the plugin it fails the test that caused it, in the call
  phase, with the original traceback.
* ``python -m pytest_syncmap`` prints its address first, serves with default or given
  credentials, and exits 0 on SIGTERM or SIGINT.
"""

from __future__ import annotations

import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pytest_httpserver.httpserver import HTTPServerError

from pytest_syncmap import ACCOUNT_SID, AUTH_TOKEN, SyncServer

TIMEOUT = 10


def port_is_closed(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return False
    except OSError:
        return True


def stop_within(server: SyncServer, seconds: float) -> float:
    """Stop ``server`` from another thread; fail (instead of hanging) if it takes too long."""
    took: list[float] = []

    def run() -> None:
        started = time.perf_counter()
        server.stop()
        took.append(time.perf_counter() - started)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"stop() did not return within {seconds} s"
    assert took, "stop() raised"
    return took[0]


@pytest.fixture
def private_server() -> Iterator[SyncServer]:
    with SyncServer() as server:
        yield server


# =================================================================== lifecycle
def test_start_stop_cycles_are_fast():
    """A loose bound (the benchmark lives elsewhere): well under 0.2 s per cycle."""
    durations = []
    for _ in range(10):
        started = time.perf_counter()
        server = SyncServer()
        server.start()
        port = server.port
        assert server.is_running()
        server.stop()
        durations.append(time.perf_counter() - started)
        assert port != 0
        assert not server.is_running()
        assert port_is_closed("127.0.0.1", port)
    # The median: one cycle preempted on a loaded 2-core machine took 0.27 s once.
    assert sorted(durations)[len(durations) // 2] < 0.2, durations


def test_ports_are_os_assigned_and_distinct():
    with SyncServer() as first, SyncServer() as second:
        assert first.port != 0
        assert second.port != 0
        assert first.port != second.port
        assert first.url == f"http://127.0.0.1:{first.port}"
        # Each serves its own state.
        created = requests.post(
            f"{first.url}/v1/Services",
            data={"FriendlyName": "only-in-first"},
            auth=first.auth,
            timeout=TIMEOUT,
        )
        assert created.status_code == 201
        sid = created.json()["sid"]
        assert requests.get(f"{first.url}/v1/Services/{sid}", auth=first.auth).status_code == 200
        missing = requests.get(f"{second.url}/v1/Services/{sid}", auth=second.auth)
        assert missing.status_code == 404


@pytest.mark.parametrize("port", [65536, 70000, -1])
def test_a_port_out_of_range_is_refused_not_wrapped(port):
    """getaddrinfo() takes 70000 as 4464 (and 65536 as 0, any port): the server
    listened somewhere else than asked."""
    server = SyncServer(port=port)
    with pytest.raises(ValueError, match="port must be an integer from 0 to 65535"):
        server.start()


@pytest.mark.parametrize("lag", [float("inf"), float("nan"), 1e20, -1])
def test_an_expiry_lag_that_cannot_be_a_duration_is_refused(lag):
    with pytest.raises(ValueError, match="expiry_lag"):
        SyncServer(expiry_lag=lag)
    server = SyncServer()
    with pytest.raises(ValueError, match="expiry_lag"):
        server.expiry_lag = lag
    assert server.expiry_lag == 0


def test_context_manager_runs_and_stops():
    with SyncServer() as server:
        assert server.is_running()
        port = server.port
        resp = requests.get(f"{server.url}/v1/Services", auth=server.auth, timeout=TIMEOUT)
        assert resp.status_code == 200
    assert not server.is_running()
    assert port_is_closed("127.0.0.1", port)


def test_start_twice_and_stop_twice_are_errors():
    server = SyncServer()
    with pytest.raises(HTTPServerError):
        server.stop()
    server.start()
    try:
        with pytest.raises(HTTPServerError):
            server.start()
    finally:
        server.stop()
    with pytest.raises(HTTPServerError):
        server.stop()


def test_stop_while_idle_does_not_hang():
    server = SyncServer()
    server.start()
    time.sleep(0.3)  # the serve loop is now blocked waiting for a connection
    assert stop_within(server, 2) < 0.2
    assert port_is_closed("127.0.0.1", server.port)


def test_stop_with_an_idle_client_connection_does_not_hang():
    server = SyncServer()
    server.start()
    idle = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    partial = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    try:
        partial.sendall(b"GET /v1/Services HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        time.sleep(0.1)
        assert stop_within(server, 2) < 0.5
    finally:
        idle.close()
        partial.close()


def test_stop_after_serving_requests_does_not_hang():
    server = SyncServer()
    server.start()
    for _ in range(5):
        resp = requests.get(f"{server.url}/v1/Services", auth=server.auth, timeout=TIMEOUT)
        assert resp.status_code == 200
    assert stop_within(server, 2) < 0.2


# =========================================================== errors inside it
def test_exception_in_handler_is_a_twilio_500_and_kept(private_server, monkeypatch):
    server = private_server
    service = server.store.create_service().sid
    map_sid = server.store.create_map(service).sid
    server.store.create_item(service, map_sid, "k", {"a": 1})
    item_url = f"{server.url}/v1/Services/{service}/Maps/{map_sid}/Items/k"
    boom = RuntimeError("boom inside get_item")

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise boom

    monkeypatch.setattr(server.store, "get_item", explode)
    resp = requests.get(item_url, auth=server.auth, timeout=TIMEOUT)
    assert resp.status_code == 500
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {
        "code": 20500,
        "message": "An internal server error has occurred",
        "more_info": "https://www.twilio.com/docs/errors/20500",
        "status": 500,
    }
    assert "boom" not in resp.text  # the details stay on the test's side
    errors = server.take_errors()
    assert errors == [boom]
    assert errors[0].__traceback__ is not None
    assert server.take_errors() == []

    # The server keeps serving; only the broken operation fails.
    listed = requests.get(item_url.rsplit("/", 1)[0], auth=server.auth, timeout=TIMEOUT)
    assert listed.status_code == 200
    assert [i["key"] for i in listed.json()["items"]] == ["k"]
    monkeypatch.undo()
    assert requests.get(item_url, auth=server.auth, timeout=TIMEOUT).json()["data"] == {"a": 1}
    assert server.take_errors() == []


def test_exception_in_observer_is_kept(private_server):
    """An observer runs after the answer is decided: its error is kept, the answer stands."""
    server = private_server
    boom = ValueError("observer exploded")
    seen: list[int] = []

    def observer(exchange: Any) -> None:
        seen.append(exchange.status)
        raise boom

    server.app.observers.append(observer)
    resp = requests.get(f"{server.url}/v1/Services", auth=server.auth, timeout=TIMEOUT)
    assert resp.status_code == 200
    assert resp.json()["meta"]["key"] == "services"
    assert seen == [200]
    assert server.take_errors() == [boom]


def test_several_errors_are_kept_in_order(private_server, monkeypatch):
    server = private_server
    raised: list[BaseException] = []

    def explode(*args: Any, **kwargs: Any) -> Any:
        exc = RuntimeError(f"boom {len(raised)}")
        raised.append(exc)
        raise exc

    monkeypatch.setattr(server.store, "list_services", explode)
    for _ in range(3):
        resp = requests.get(f"{server.url}/v1/Services", auth=server.auth, timeout=TIMEOUT)
        assert resp.status_code == 500
    assert server.take_errors() == raised
    assert len(raised) == 3


INNER_TESTS = """
import requests


def exploding_get_item(*args, **kwargs):
    raise RuntimeError("kaboom from inside the emulator")


def test_fetch(sync_server, sync_map, monkeypatch):
    sync_map.put("k", {"a": 1})
    monkeypatch.setattr(sync_server.store, "get_item", exploding_get_item)
    resp = requests.get(sync_map.items_url + "/k", auth=sync_server.auth, timeout=10)
    # The client side alone looks fine to this test...
    assert resp.status_code == 500
    assert resp.json()["code"] == 20500


def test_next_test_is_unaffected(sync_server, sync_map):
    sync_map.put("k", {"a": 1})
    resp = requests.get(sync_map.items_url + "/k", auth=sync_server.auth, timeout=10)
    assert resp.json()["data"] == {"a": 1}
"""


def test_server_exception_fails_the_test_in_call_phase(pytester):
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)

    failures = [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.failed]
    assert [(r.nodeid, r.when) for r in failures] == [("test_inner.py::test_fetch", "call")]

    out = result.stdout.str()
    # The original exception and its traceback, down to the line that raised it.
    result.stdout.fnmatch_lines(
        [
            "*def exploding_get_item(*",
            '*raise RuntimeError("kaboom from inside the emulator")*',
            "*RuntimeError: kaboom from inside the emulator",
        ]
    )
    assert "raised inside the Sync emulator" in out
    assert "FAILED test_inner.py::test_fetch - RuntimeError: kaboom" in out
    assert "ERROR at teardown" not in out
    assert "ERROR at setup" not in out


# ============================================================= standalone mode
LISTENING = re.compile(r"^pytest-syncmap listening on (http://127\.0\.0\.1:(\d+))$")


def first_line(proc: subprocess.Popen[str], timeout: float = TIMEOUT) -> str:
    """The child's first stdout line ('' at EOF), without hanging if it never comes."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no output within {timeout} s")
    return proc.stdout.readline().rstrip("\n")


@pytest.fixture
def launch() -> Iterator[Any]:
    """Start ``python -m pytest_syncmap`` with arguments; every child is reaped."""
    children: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_syncmap", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(proc)
        return proc

    yield start
    for proc in children:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=TIMEOUT)


def stop_with(proc: subprocess.Popen[str], signum: int) -> tuple[int, float]:
    started = time.perf_counter()
    proc.send_signal(signum)
    code = proc.wait(timeout=5)
    return code, time.perf_counter() - started


def test_standalone_default_credentials_and_sigterm(launch):
    proc = launch("--port", "0")
    match = LISTENING.match(first_line(proc))
    assert match, "first line must announce the address"
    url, port = match.group(1), int(match.group(2))
    assert port != 0

    services = requests.get(f"{url}/v1/Services", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=TIMEOUT)
    assert services.status_code == 200
    default = services.json()["services"][0]["sid"]
    created = requests.post(
        f"{url}/v1/Services/{default}/Maps",
        data={"UniqueName": "standalone"},
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        timeout=TIMEOUT,
    )
    assert created.status_code == 201
    assert created.json()["url"].startswith(url)
    item = requests.post(
        f"{url}/v1/Services/default/Maps/standalone/Items",
        data={"Key": "k", "Data": '{"from": "another process"}'},
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        timeout=TIMEOUT,
    )
    assert item.status_code == 201
    assert item.json()["data"] == {"from": "another process"}
    wrong = requests.get(f"{url}/v1/Services", auth=(ACCOUNT_SID, "nope"), timeout=TIMEOUT)
    assert wrong.status_code == 401

    code, took = stop_with(proc, signal.SIGTERM)
    assert code == 0
    assert took < 2
    assert port_is_closed("127.0.0.1", port)


def test_standalone_custom_credentials_and_sigint(launch):
    sid, token = "AC" + "ab" * 16, "custom-token"
    proc = launch("--port", "0", "--account-sid", sid, "--auth-token", token)
    match = LISTENING.match(first_line(proc))
    assert match
    url = match.group(1)

    ok = requests.get(f"{url}/v1/Services", auth=(sid, token), timeout=TIMEOUT)
    assert ok.status_code == 200
    assert ok.json()["services"][0]["account_sid"] == sid
    default = requests.get(f"{url}/v1/Services", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=TIMEOUT)
    assert default.status_code == 401
    assert default.json()["code"] == 20003

    code, took = stop_with(proc, signal.SIGINT)
    assert code == 0
    assert took < 2
    _, err = proc.communicate(timeout=TIMEOUT)
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--account-sid", "XX" + "0" * 32], id="wrong-prefix"),
        pytest.param(["--account-sid", "AC123"], id="too-short"),
        pytest.param(["--port", "abc"], id="port-not-a-number"),
    ],
)
def test_standalone_rejects_bad_arguments(launch, args):
    proc = launch("--port", "0", *args)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2
    assert "listening" not in out
    assert ("--account-sid" if "--account-sid" in args else "--port") in err


def test_standalone_rejects_non_hex_account_sid(launch):
    proc = launch("--port", "0", "--account-sid", "AC" + "z" * 32)
    line = first_line(proc)
    assert "listening" not in line
    assert proc.wait(timeout=TIMEOUT) == 2


# ==================================================================== headers
def test_every_answer_says_nosniff(private_server):
    """Success, Twilio error, canned answer and unparseable request alike."""
    base, auth = private_server.url, private_server.auth
    answers = [
        requests.get(f"{base}/v1/Services", auth=auth, timeout=TIMEOUT),
        requests.get(f"{base}/v1/Nope", auth=auth, timeout=TIMEOUT),
        requests.get(f"{base}/v1/Services", timeout=TIMEOUT),
    ]
    private_server.expect_oneshot_request("/canned").respond_with_json({"ok": True})
    answers.append(requests.get(f"{base}/canned", timeout=TIMEOUT))
    private_server.faults.add("malformed")  # a broken answer is still an answer
    answers.append(requests.get(f"{base}/v1/Services", auth=auth, timeout=TIMEOUT))
    assert [a.status_code for a in answers] == [200, 404, 401, 200, 200]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    with socket.create_connection(("127.0.0.1", private_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"NOT A REQUEST LINE\r\n\r\n")
        head = sock.recv(65536).decode("latin-1")
    assert re.match(r"HTTP/1\.[01] 400 ", head), head
    assert "X-Content-Type-Options: nosniff" in head
