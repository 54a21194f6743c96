"""Child processes: a subprocess's unchanged ``twilio.rest.Client()`` reaches the emulator.

``sync_server.child_env()`` is the environment to start it with. The child is a real
Python process running production-style code that knows nothing of the emulator; it
belongs to the test that started it, so what it sends after that test ended is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import aiohttp  # noqa: F401  (loaded once: pytester restores sys.modules per run)
import pytest
import twilio.rest  # noqa: F401

from pytest_syncmap.host.wiring import CHILD_ENV

WORKER = '''
"""A worker as it runs in production: credentials and everything else from the env."""
import asyncio
import json
import sys
import time

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client


def items(client, service, cart):
    return client.sync.v1.services(service).sync_maps(cart).sync_map_items


def once(service, cart):
    items(Client(), service, cart).create(key="sync", data={"by": "child"})

    async def add_async():
        client = Client(http_client=AsyncTwilioHttpClient(pool_connections=False))
        await items(client, service, cart).create_async(key="async", data={})

    asyncio.run(add_async())
    print(json.dumps(sorted(i.key for i in items(Client(), service, cart).list())))


def forever(service, cart):
    n = 0
    while True:
        n += 1
        try:
            items(Client(), service, cart).create(key=f"k{n}", data={})
            print("written", flush=True)
        except TwilioRestException as exc:
            print(json.dumps({"status": exc.status, "code": exc.code, "msg": exc.msg}),
                  flush=True)
        time.sleep(0.02)


if __name__ == "__main__":
    {"once": once, "forever": forever}[sys.argv[1]](*sys.argv[2:])
'''


@pytest.fixture
def hostile_env(monkeypatch):
    """What the child inherits: foreign credentials, a region and edge, a dead proxy."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "f0" * 16)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-production-token")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def test_a_subprocess_with_an_unchanged_client_reaches_the_emulator(pytester, hostile_env):
    pytester.makepyfile(worker=WORKER)
    pytester.makepyfile(
        test_worker="""
        import json
        import subprocess
        import sys


        def test_the_worker_writes_to_this_tests_map(sync_map, sync_server):
            done = subprocess.run(
                [sys.executable, "worker.py", "once", sync_map.service_sid, sync_map.sid],
                env=sync_server.child_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout) == ["async", "sync"]
            assert dict(sync_map) == {"async": {}, "sync": {"by": "child"}}
            sync_server.assert_no_unexpected_failures()
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_subprocess_that_outlives_its_test_is_refused(pytester):
    pytester.makepyfile(worker=WORKER)
    pytester.makepyfile(
        test_outlive="""
        import json
        import subprocess
        import sys

        CHILD = []


        def test_a_starts_a_worker(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            child = subprocess.Popen(
                [sys.executable, "worker.py", "forever", "default", "cart"],
                env=sync_server.child_env(),
                stdout=subprocess.PIPE,
                text=True,
            )
            CHILD.append(child)
            assert child.stdout.readline().strip() == "written"  # it works during A


        def test_b_is_untouched(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            child = CHILD.pop()
            try:
                for line in child.stdout:  # skip the writes that happened during A
                    if line.startswith("{"):
                        refused = json.loads(line)
                        if "test_b_is_untouched" in refused["msg"]:
                            break
            finally:
                child.kill()
                child.wait(10)
            assert (refused["status"], refused["code"]) == (403, 20403)
            assert "test_a_starts_a_worker" in refused["msg"]
            assert sync_server.journal.entries == []
            sync_server.assert_no_unexpected_failures()
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_the_bootstrap_runs_the_sitecustomize_it_hides(pytester, sync_server_session):
    """The child still runs a project's own sitecustomize, and pytest-syncmap's too."""

    other = pytester.mkdir("other_site")
    (other / "sitecustomize.py").write_text("import os\nos.environ['OTHER_SITE'] = 'ran'\n")
    env = sync_server_session.child_env()
    env["PYTHONPATH"] = env["PYTHONPATH"] + os.pathsep + str(other)
    probe = (
        "import os, sys\n"
        "print(os.environ.get('OTHER_SITE'))\n"
        "print('twilio' in sys.modules)\n"  # nothing imported up front
        "from twilio.rest import Client\n"
        "print(Client().get_hostname('https://sync.twilio.com/v1/Services'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ran", "False", f"{sync_server_session.url}/v1/Services"]


def test_a_child_env_from_outside_a_test_is_bound_to_none(sync_server_session):
    env = sync_server_session.child_env({"PATH": "/bin"})
    assert json.loads(env[CHILD_ENV])["headers"] == {}
    assert (env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"]) == sync_server_session.auth
    assert env["NO_PROXY"] == env["no_proxy"] == sync_server_session.host
    assert env["PATH"] == "/bin"
