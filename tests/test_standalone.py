"""``python -m pytest_syncmap``: the standalone emulator, driven as a separate process."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from pytest_syncmap.host.server import ACCOUNT_SID, AUTH_TOKEN

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

LISTEN_RE = re.compile(r"^pytest-syncmap listening on (http://127\.0\.0\.1:(\d+))$")
START_TIMEOUT = 15.0


class Standalone:
    """A running ``python -m pytest_syncmap`` with its first output lines."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pytest_syncmap", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.lines = [self.next_line() for _ in range(3)]
        match = LISTEN_RE.match(self.lines[0])
        assert match, self.lines
        self.url = match.group(1)
        self.port = int(match.group(2))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self, timeout: float = START_TIMEOUT) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout} s") from None
        if line is None:
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"process ended early: {self.proc.poll()} {stderr}")
        return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@contextmanager
def standalone(*args: str) -> Iterator[Standalone]:
    server: Standalone | None = None
    try:
        server = Standalone(["--port", "0", *args])
        yield server
    finally:
        if server is not None:
            server.stop()


def _run_to_exit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_syncmap", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[Standalone]:
    with standalone("--clock", "2030-01-01T00:00:00Z", "--expiry-lag", "5") as server:
        yield server


@pytest.fixture
def fresh(emulator: Standalone) -> Standalone:
    """The module's emulator, reset through its control plane."""
    _control(emulator, "POST", "reset").raise_for_status()
    return emulator


def _control(server: Standalone, method: str, path: str, body=None, auth=None):
    return requests.request(
        method,
        f"{server.url}/_syncmap/{path}",
        auth=auth or (ACCOUNT_SID, AUTH_TOKEN),
        json=body,
        timeout=10,
    )


def _client(server: Standalone, sid: str = ACCOUNT_SID, token: str = AUTH_TOKEN) -> Client:
    client = Client(sid, token)
    client.region = client.edge = None
    client.sync.base_url = server.url
    return client


# -------------------------------------------------------------------- output
def test_prints_the_three_lines(emulator):
    first, credentials, control = emulator.lines
    assert LISTEN_RE.match(first)
    assert emulator.port > 0
    assert credentials == f"credentials: {ACCOUNT_SID} / {AUTH_TOKEN}"
    assert control == f"control plane: {emulator.url}/_syncmap/ (same credentials)"
    assert emulator.proc.poll() is None


def test_items_created_get_the_clock_date(fresh):
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    base = f"{fresh.url}/v1/Services/default/Maps"
    created = requests.post(base, data={"UniqueName": "m"}, auth=auth, timeout=10)
    assert created.status_code == 201, created.text
    assert created.json()["date_created"] == "2030-01-01T00:00:00Z"
    item = requests.post(
        f"{base}/m/Items", data={"Key": "k", "Data": '{"v": 1}'}, auth=auth, timeout=10
    )
    assert item.status_code == 201, item.text
    assert item.json()["date_created"] == "2030-01-01T00:00:00Z"
    assert _control(fresh, "GET", "clock").json() == {
        "now": "2030-01-01T00:00:00Z",
        "frozen": True,
    }


# --------------------------------------------------------------- the client
def test_official_client_works_against_it(fresh):
    client = _client(fresh)
    service = client.sync.v1.services.create(friendly_name="standalone")
    assert service.date_created == datetime(2030, 1, 1, tzinfo=timezone.utc)
    sync_map = client.sync.v1.services(service.sid).sync_maps.create(unique_name="m")
    items = client.sync.v1.services(service.sid).sync_maps("m").sync_map_items
    created = items.create(key="k", data={"v": 1})
    updated = items("k").update(data={"v": 2}, if_match=created.revision)
    assert updated.data == {"v": 2}
    assert [i.key for i in items.list()] == ["k"]
    assert sync_map.sid.startswith("MP")

    with pytest.raises(TwilioRestException) as wrong:
        _client(fresh, token="wrong-token").sync.v1.services(service.sid).fetch()
    assert wrong.value.status == 401
    assert wrong.value.code == 20003


# ----------------------------------------------------------- clock & expiry
def test_control_plane_moves_clock_and_expiry_honours_the_lag(fresh):
    client = _client(fresh)
    items = client.sync.v1.services("default").sync_maps.create(unique_name="m")
    items = client.sync.v1.services("default").sync_maps("m").sync_map_items
    created = items.create(key="k", data={"v": 1}, ttl=10)
    assert created.date_expires == datetime(2030, 1, 1, 0, 0, 10, tzinfo=timezone.utc)
    items.create(key="keep", data={})

    moved = _control(fresh, "POST", "clock", {"advance": 11}).json()
    assert moved == {"now": "2030-01-01T00:00:11Z", "frozen": True}
    # Expired, but within the 5 s lag: still readable.
    assert items("k").fetch().data == {"v": 1}
    _control(fresh, "POST", "clock", {"advance": 3}).raise_for_status()  # 14 s: 4 s late
    assert items("k").fetch().data == {"v": 1}
    _control(fresh, "POST", "clock", {"advance": 2}).raise_for_status()  # 16 s: past the lag
    with pytest.raises(TwilioRestException) as gone:
        items("k").fetch()
    assert gone.value.status == 404
    assert [i.key for i in items.list()] == ["keep"]

    set_to = _control(fresh, "POST", "clock", {"now": "2031-06-01T12:00:00Z"}).json()
    assert set_to == {"now": "2031-06-01T12:00:00Z", "frozen": True}
    assert items.create(key="later", data={}).date_created.year == 2031


def test_reset_brings_back_the_start_clock(fresh):
    _control(fresh, "POST", "clock", {"advance": 3600}).raise_for_status()
    assert _control(fresh, "GET", "clock").json()["now"] == "2030-01-01T01:00:00Z"
    _control(fresh, "POST", "reset").raise_for_status()
    assert _control(fresh, "GET", "clock").json() == {
        "now": "2030-01-01T00:00:00Z",
        "frozen": True,
    }


def test_control_plane_needs_the_credentials(fresh):
    response = _control(fresh, "GET", "clock", auth=(ACCOUNT_SID, "nope"))
    assert response.status_code == 401
    assert response.json()["code"] == 20003


# ------------------------------------------------------------- arguments
def test_custom_credentials():
    sid, token = "AC" + "ab" * 16, "my-token"
    with standalone("--account-sid", sid, "--auth-token", token) as server:
        assert server.lines[1] == f"credentials: {sid} / {token}"
        assert _client(server, sid, token).sync.v1.services.create().account_sid == sid
        with pytest.raises(TwilioRestException) as refused:
            _client(server).sync.v1.services("default").fetch()
        assert refused.value.status == 401
        clock = _control(server, "GET", "clock", auth=(sid, token)).json()
        assert clock["frozen"] is False
        now = datetime.strptime(clock["now"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert abs((now - datetime.now(timezone.utc)).total_seconds()) < 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clock", "tomorrow"], "--clock"),
        (["--clock", "2030-13-45T00:00:00Z"], "--clock"),
        (["--clock", "9999-12-31T23:00:00Z"], "it can be set between"),
        (["--expiry-lag", "-1"], "--expiry-lag cannot be negative"),
        (["--account-sid", "nope"], "--account-sid"),
        (["--expiry-lag", "soon"], "--expiry-lag"),
        (["--port", "70000"], "--port must be a number from 0 to 65535"),
        (["--expiry-lag", "inf"], "--expiry-lag must be at most"),
        (["--expiry-lag", "nan"], "--expiry-lag must be at most"),
    ],
    ids=[
        "clock-words",
        "clock-impossible-date",
        "clock-out-of-range",
        "negative-lag",
        "bad-sid",
        "lag-not-number",
        "port-past-65535",
        "lag-infinite",
        "lag-nan",
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, message):
    done = _run_to_exit("--port", "0", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "listening" not in done.stdout


def _run_on_busy_port() -> tuple[int, subprocess.CompletedProcess[str]]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        return port, _run_to_exit("--port", str(port))


def test_port_in_use_exits_1():
    port, done = _run_on_busy_port()
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "in use" in done.stderr
    assert str(port) in done.stderr
    assert "listening" not in done.stdout


def test_port_in_use_message_is_the_documented_one():
    port, done = _run_on_busy_port()
    assert done.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in done.stderr


# --------------------------------------------------------------- signals
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exits_0_promptly(sig):
    with standalone() as server:
        assert requests.get(
            f"{server.url}/_syncmap/clock", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=10
        ).ok
        started = time.monotonic()
        server.proc.send_signal(sig)
        assert server.proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 2
        stderr = server.proc.stderr.read() if server.proc.stderr else ""
        assert "Traceback" not in stderr
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{server.url}/_syncmap/clock", timeout=2)
