"""Webhook deliveries can fail every way a network can, and nothing of ours dies or waits.

Each failure (a URL with a space or a port like ``:abc``, a receiver that does not
speak HTTP or hangs up, a broken answer, a timeout) is journalled for the test that
caused it, the delivery worker lives on, and the next test's webhooks arrive at once.
A ``WebhookUrl`` that no delivery could reach is refused at Service create/update. A
reset never waits for a slow receiver, and a session (or the standalone emulator)
ends within a second whatever is still queued. Proxy variables never divert a
delivery. Suites are written as users write them, run with ``pytester``, with
timeouts so that a regression fails instead of hanging.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from pytest_syncmap import WebhookReceiver

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX sockets and signals")

#: A receiver that each accepted connection is handed to, in a conftest for the suites.
RECEIVERS = '''
import socket
import threading

import pytest


class RawReceiver:
    """A TCP server that answers every connection with ``reply`` (or never answers)."""

    def __init__(self, reply=None, read=True):
        self.reply = reply
        self.read = read
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.connections = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)  # kept open: a silent receiver never answers
            if self.read:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                except OSError:
                    pass
            if self.reply is not None:
                conn.sendall(self.reply)
                conn.close()


@pytest.fixture
def raw_receiver():
    made = []

    def make(reply=None, read=True):
        made.append(RawReceiver(reply, read))
        return made[-1]

    yield make
    for receiver in made:
        receiver.sock.close()
        for conn in receiver.connections:
            conn.close()
'''


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the suite in a fresh process, so a hang is a timeout, not a stuck session."""
    pytester.makeconftest(RECEIVERS)
    return pytester.runpytest_subprocess(*args, timeout=120)


# ------------------------------------------------------ failures of every kind
BROKEN_DELIVERIES = """
import time

import pytest

import pytest_syncmap.host.webhooks as webhooks

ENDED = {}


def test_a_breaks_deliveries_every_way(sync_server, raw_receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "DELIVERY_TIMEOUT", 0.5)
    urls = {
        "not HTTP": raw_receiver(b"SSH-2.0-OpenSSH_9.6\\r\\n").url,
        "hangs up": raw_receiver(b"").url,
        "bad status": raw_receiver(b"HTTP/1.1 abc Nope\\r\\n\\r\\n").url,
        "bad chunks": raw_receiver(
            b"HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\n"
        ).url,
        "silent": raw_receiver(None).url,
        "port abc": "http://127.0.0.1:abc/hook",
        "a space": "http://exa mple.com/hook",
        "not http": "ftp://127.0.0.1/hook",
        "no host": "http:///hook",
    }
    store = sync_server.store
    for url in urls.values():
        # The store takes any URL (only the API checks them): the dispatcher must cope.
        service = store.create_service(webhook_url=url, webhooks_from_rest_enabled=True)
        made = store.create_map(service.sid)
        store.put_item(service.sid, made.sid, "k", {"v": 1})
    assert sync_server.webhooks.wait_idle(15)
    deliveries = [e for e in sync_server.journal.entries if e.operation.startswith("Webhook")]
    by_url = {}
    for entry in deliveries:
        by_url.setdefault(entry.path, []).append(entry)
    for why, url in urls.items():
        entries = by_url.get(url, [])
        assert [e.operation for e in entries] == [
            "Webhook map_created", "Webhook map_item_added"
        ], why
        for entry in entries:
            assert entry.status == 0, (why, entry)
            assert entry.fault.startswith("delivery failed"), (why, entry.fault)
    assert "no answer within" in by_url[urls["silent"]][0].fault
    assert "did not answer HTTP" in by_url[urls["not HTTP"]][0].fault
    ENDED["at"] = time.perf_counter()


def test_b_gets_its_webhooks_with_no_setup_delay(sync_webhooks, sync_map):
    setup = time.perf_counter() - ENDED["at"]
    sync_map.put("k", {"v": 2})
    sync_webhooks.wait_for(2, timeout=5)
    sync_webhooks.assert_types("map_created", "map_item_added")
    assert setup < 1.0, f"test b started {setup:.2f} s after test a ended"
"""


def test_every_kind_of_delivery_failure_is_journalled_and_the_worker_lives_on(pytester):
    pytester.makepyfile(BROKEN_DELIVERIES)
    result = _run(pytester, "-v")
    result.assert_outcomes(passed=2)


# ------------------------------------------------------ WebhookUrl validation
BAD_URLS = [
    "http://exa mple.com/hook",
    "http://example.com:abc/hook",
    "http://example.com:0/hook",
    "http://example.com:70000/hook",
    "ftp://example.com/hook",
    "example.com/hook",
    "/relative/hook",
    "http:///hook",
    "http://[zz]/hook",
    "http://example.com/a\tb",
    "http://-example.com/hook",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_webhook_url_no_delivery_could_reach_is_refused(twilio_client, sync_server, url):
    services = twilio_client.sync.v1.services
    before = [s.sid for s in services.list()]
    with pytest.raises(TwilioRestException) as created:
        services.create(friendly_name="bad", webhook_url=url)
    assert (created.value.status, created.value.code) == (400, 20001)
    assert "WebhookUrl" in created.value.msg
    assert [s.sid for s in services.list()] == before

    kept = services.create(friendly_name="good", webhook_url="https://example.com/hook")
    with pytest.raises(TwilioRestException) as updated:
        services(kept.sid).update(webhook_url=url)
    assert (updated.value.status, updated.value.code) == (400, 20001)
    assert services(kept.sid).fetch().webhook_url == "https://example.com/hook"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook?x=1&y=2",
        "http://127.0.0.1:8080/hook",
        "http://[::1]:8080/hook",
        "HTTPS://Example.COM:443/Hook",
        "http://user:secret@hooks.internal_net.example/hook",
        "https://xn--bcher-kva.example/hook",
    ],
)
def test_absolute_http_urls_are_accepted(twilio_client, url):
    created = twilio_client.sync.v1.services.create(webhook_url=url)
    assert created.webhook_url == url


def test_an_empty_webhook_url_clears_it(twilio_client):
    services = twilio_client.sync.v1.services
    created = services.create(webhook_url="https://example.com/hook")
    assert services(created.sid).update(webhook_url="").webhook_url is None


# ------------------------------------------------------------------- proxies
def test_proxy_variables_never_divert_a_delivery(sync_webhooks, sync_map, monkeypatch):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{closed.getsockname()[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead_proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    sync_map.put("k", {"v": 1})
    sync_webhooks.wait_for(2, timeout=5)
    sync_webhooks.assert_types("map_created", "map_item_added")


# ----------------------------------------------------------------- shutdown
SESSION_END_HOOK = """

import os
import time


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    ended = os.environ.get("SYNCMAP_TEST_ENDED")
    if ended is not None:
        print(f"SESSION_END_SECONDS={time.perf_counter() - float(ended):.3f}")
"""

QUEUED_AT_SESSION_END = """
import os
import time


def test_queues_1000_webhooks_to_a_slow_receiver(sync_server, sync_webhooks, raw_receiver):
    slow = raw_receiver(None)  # accepts, reads, never answers
    store = sync_server.store
    service = store.create_service(webhook_url=slow.url, webhooks_from_rest_enabled=True)
    made = store.create_map(service.sid)
    for i in range(1000):
        store.put_item(service.sid, made.sid, f"k{i % 10}", {"i": i})
    assert not sync_server.webhooks.wait_idle(0.2)  # deliveries are still queued
    os.environ["SYNCMAP_TEST_ENDED"] = repr(time.perf_counter())
"""


def test_a_session_ends_within_a_second_with_1000_webhooks_queued(pytester: pytest.Pytester):
    pytester.makeconftest(RECEIVERS + SESSION_END_HOOK)
    pytester.makepyfile(QUEUED_AT_SESSION_END)
    result = pytester.runpytest_subprocess("-s", timeout=60)
    result.assert_outcomes(passed=1)
    match = re.search(r"SESSION_END_SECONDS=([0-9.]+)", result.stdout.str())
    assert match, result.stdout.str()
    # Teardown of the test, the emulator and the receiver, with 1,000 deliveries queued
    # to a receiver that never answers (each would wait 5 s).
    assert float(match.group(1)) < 1.0, result.stdout.str()


def test_the_receiver_stops_without_a_poll_interval():
    receiver = WebhookReceiver.start()
    requests.post(receiver.url, data={"EventType": "map_created"}, timeout=5)
    assert receiver.types == ["map_created"]
    started = time.perf_counter()
    receiver.stop()
    # pytest-httpserver's own stop polls every 0.5 s.
    assert time.perf_counter() - started < 0.25


def test_the_receiver_refuses_deliveries_for_an_earlier_test():
    receiver = WebhookReceiver.start()
    try:
        earlier = receiver.url
        receiver.begin_test()
        assert receiver.url != earlier
        late = requests.post(earlier, data={"EventType": "map_created"}, timeout=5)
        assert late.status_code == 410
        assert receiver.received == []
        on_time = requests.post(receiver.url, data={"EventType": "map_removed"}, timeout=5)
        assert on_time.status_code == 200
        assert receiver.types == ["map_removed"]
    finally:
        receiver.stop()


@pytest.fixture
def silent_receiver() -> Iterator[str]:
    """A receiver that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1024)
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        server.close()
        for conn in accepted:
            conn.close()


def test_sigterm_of_the_standalone_emulator_takes_under_a_second(silent_receiver):
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pytest_syncmap"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.match(r"pytest-syncmap listening on (http://\S+)", first)
        assert match, first
        url = match.group(1)
        auth = ("AC" + "5c" * 16, "syncmap-auth-token")
        service = requests.post(
            f"{url}/v1/Services",
            auth=auth,
            data={"WebhookUrl": silent_receiver, "WebhooksFromRestEnabled": "true"},
            timeout=10,
        )
        assert service.status_code == 201, service.text
        items = {f"k{i}": {"i": i} for i in range(999)}
        seeded = requests.post(
            f"{url}/_syncmap/seed",
            auth=auth,
            json={"service": service.json()["sid"], "unique_name": "flood", "items": items},
            timeout=30,
        )
        assert seeded.status_code == 201, seeded.text
        started = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.perf_counter() - started < 1.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
