"""Credentials: clients built before the session work in every test; a 401 says why.

A ``Client()`` built at import time carries whatever credentials the environment had
(or none). Inside a test its requests to the emulator carry the emulator's credentials,
and only those requests: its calls to other hosts keep its own. A client a test builds
itself keeps the credentials it was given, so a 401 can still be provoked on purpose,
and then its message and journal line say which account SID was sent and which is
expected.
"""

from __future__ import annotations

import aiohttp  # noqa: F401  (loaded once: pytester restores sys.modules per run)
import pytest
import requests
import twilio.rest  # noqa: F401

from pytest_syncmap.host.server import ACCOUNT_SID

FOREIGN_SID = "AC" + "f0" * 16
FOREIGN_TOKEN = "a-production-token"


@pytest.fixture
def foreign_env(monkeypatch):
    """The developer's real-looking credentials in the environment, no region or edge."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", FOREIGN_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", FOREIGN_TOKEN)
    for name in ("TWILIO_REGION", "TWILIO_EDGE"):
        monkeypatch.delenv(name, raising=False)


APP = '''
"""A cart service: one client for the whole process, built at import time."""
import asyncio

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

client = Client()
async_client = Client(http_client=AsyncTwilioHttpClient(pool_connections=False))


def add(service, cart, key, data):
    items = client.sync.v1.services(service).sync_maps(cart).sync_map_items
    return items.create(key=key, data=data).key


def add_async(service, cart, key, data):
    items = async_client.sync.v1.services(service).sync_maps(cart).sync_map_items
    return asyncio.run(items.create_async(key=key, data=data)).key
'''

APP_TESTS = """
import app


def test_first(sync_map, sync_server):
    assert app.add(sync_map.service_sid, sync_map.sid, "one", {"n": 1}) == "one"
    assert app.add_async(sync_map.service_sid, sync_map.sid, "two", {"n": 2}) == "two"
    assert dict(sync_map) == {"one": {"n": 1}, "two": {"n": 2}}
    sync_server.assert_no_unexpected_failures()


def test_second(sync_map, sync_server):
    assert app.add(sync_map.service_sid, sync_map.sid, "three", {}) == "three"
    assert app.add_async(sync_map.service_sid, sync_map.sid, "four", {}) == "four"
    assert sorted(sync_map) == ["four", "three"]
    sync_server.assert_no_unexpected_failures()
"""


def test_an_import_time_client_with_foreign_credentials_works_in_every_test(pytester, foreign_env):
    pytester.makepyfile(app=APP, test_app=APP_TESTS)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_an_import_time_client_without_any_credentials_works_in_every_test(pytester, monkeypatch):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_REGION", "TWILIO_EDGE"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(app=APP, test_app=APP_TESTS)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_session_fixture_client_works_whatever_the_fixture_order(pytester, foreign_env):
    pytester.makeconftest(
        """
        import pytest
        from twilio.rest import Client


        @pytest.fixture(scope="session")
        def app_client():
            return Client()
        """
    )
    pytester.makepyfile(
        """
        def items(client, sync_map):
            return client.sync.v1.services(sync_map.service_sid).sync_maps(
                sync_map.sid
            ).sync_map_items


        def test_client_first(app_client, sync_map):  # built before the emulator's env
            items(app_client, sync_map).create(key="a", data={})
            assert list(sync_map) == ["a"]


        def test_client_second(sync_map, app_client):
            items(app_client, sync_map).create(key="b", data={})
            assert list(sync_map) == ["b"]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_the_emulators_credentials_never_reach_another_host(pytester, foreign_env):
    """Only emulator-bound requests get the substitution; Twilio's API keeps the real ones."""
    pytester.makepyfile(
        f"""
        from twilio.http.http_client import TwilioHttpClient
        from twilio.http.response import Response
        from twilio.rest import Client

        SENT = []


        class Wire(TwilioHttpClient):
            \"\"\"What would go on the wire; real Twilio hosts are not contacted.\"\"\"

            def request(self, method, url, params=None, data=None, headers=None,
                        auth=None, timeout=None, allow_redirects=False):
                SENT.append((url, auth, (headers or {{}}).get("X-Syncmap-Generation")))
                if url.startswith("https://"):
                    return Response(200, '{{"sid": "{FOREIGN_SID}", "friendly_name": "x"}}')
                return super().request(method, url, params, data, headers, auth, timeout,
                                       allow_redirects)


        CLIENT = Client(http_client=Wire())  # import time: the developer's credentials


        def test_only_the_emulator_gets_its_credentials(sync_map, sync_server):
            CLIENT.sync.v1.services(sync_map.service_sid).sync_maps(
                sync_map.sid
            ).sync_map_items.create(key="k", data={{}})
            CLIENT.api.v2010.accounts({FOREIGN_SID!r}).fetch()
            (sync_url, sync_auth, generation), (api_url, api_auth, api_generation) = SENT
            assert sync_url.startswith(sync_server.url)
            assert sync_auth == sync_server.auth
            assert generation == str(sync_server.generation)
            assert api_url.startswith("https://api.twilio.com/")
            assert api_auth == ({FOREIGN_SID!r}, {FOREIGN_TOKEN!r})
            assert api_generation is None
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_client_built_in_the_test_with_wrong_credentials_gets_an_explained_401(
    pytester, foreign_env
):
    pytester.makepyfile(
        f"""
        import pytest
        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client


        def fetch(client, sync_map):
            return client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid).fetch()


        def test_wrong_account(sync_map, sync_server):
            wrong = Client({FOREIGN_SID!r}, {FOREIGN_TOKEN!r})
            with pytest.raises(TwilioRestException) as refused:
                fetch(wrong, sync_map)
            assert (refused.value.status, refused.value.code) == (401, 20003)
            message = refused.value.msg
            assert message.startswith("Unable to fetch record: Authenticate: ")
            assert "was sent with account SID {FOREIGN_SID}" in message
            assert "the emulator expects account SID {ACCOUNT_SID}" in message
            assert {FOREIGN_TOKEN!r} not in message
            entry = sync_server.journal.entries[-1]
            assert (entry.status, entry.code) == (401, 20003)
            assert "{FOREIGN_SID}" in entry.line() and "{ACCOUNT_SID}" in entry.line()
            with pytest.raises(AssertionError, match="{FOREIGN_SID}"):
                sync_server.assert_no_unexpected_failures()


        def test_right_account_wrong_token(sync_map, sync_server):
            with pytest.raises(TwilioRestException) as refused:
                fetch(Client(sync_server.account_sid, "not-the-token"), sync_map)
            assert refused.value.status == 401
            assert "is right but the auth token is not" in refused.value.msg
            assert "not-the-token" not in refused.value.msg


        def test_no_credentials(sync_map, monkeypatch):
            monkeypatch.delenv("TWILIO_ACCOUNT_SID")
            monkeypatch.delenv("TWILIO_AUTH_TOKEN")
            with pytest.raises(TwilioRestException) as refused:
                fetch(Client(), sync_map)
            assert refused.value.status == 401
            assert "carried no credentials" in refused.value.msg


        def test_a_failing_test_shows_it_in_its_journal(sync_map):
            try:
                fetch(Client({FOREIGN_SID!r}, "x"), sync_map)
            except TwilioRestException:
                pass
            raise AssertionError("deliberate")
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*pytest-syncmap journal*",
            f"*401 20003*the request was sent with account SID {FOREIGN_SID}; "
            f"the emulator expects account SID {ACCOUNT_SID}",
        ]
    )


def test_a_401_over_plain_http_names_the_sent_sid(sync_server):
    response = requests.get(f"{sync_server.url}/v1/Services", auth=(FOREIGN_SID, "x"), timeout=10)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == 20003
    assert body["message"] == (
        f"Authenticate: the request was sent with account SID {FOREIGN_SID}; "
        f"the emulator expects account SID {sync_server.account_sid}"
    )
    # a token in the username field (credentials swapped) is never echoed
    swapped = requests.get(
        f"{sync_server.url}/v1/Services", auth=(FOREIGN_TOKEN, FOREIGN_SID), timeout=10
    )
    assert FOREIGN_TOKEN not in swapped.json()["message"]
    assert "not an account SID" in swapped.json()["message"]
