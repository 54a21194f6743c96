"""Proxy variables never divert emulator traffic.

Corporate machines and CI often set ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``;
``requests`` honours them even for 127.0.0.1, and a twilio client that has used a proxy
once keeps it (``requests`` stores the environment's proxies in the client's own proxy
dict). Here every variant points at a dead proxy (a port nothing listens on), so any
request that goes through a proxy fails.
"""

from __future__ import annotations

import socket

import aiohttp  # noqa: F401  (loaded once: pytester restores sys.modules per run)
import pytest
import requests
import twilio.rest  # noqa: F401

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture
def dead_proxy(monkeypatch) -> str:
    """Every proxy variable, in both cases, pointing at a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, url)
        monkeypatch.setenv(name.lower(), url)
    for name in ("NO_PROXY", "no_proxy", "TWILIO_REGION", "TWILIO_EDGE"):
        monkeypatch.delenv(name, raising=False)
    return url


def test_the_dead_proxy_really_breaks_requests_to_loopback(dead_proxy, sync_server_session):
    """The premise: without the plugin's help, requests to the emulator go to the proxy."""
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get(f"{sync_server_session.url}/v1/Services", timeout=10)


def test_every_client_reaches_the_emulator_through_a_dead_proxy_setting(pytester, dead_proxy):
    pytester.makepyfile(
        """
        import asyncio
        import os

        import requests
        from twilio.http.async_http_client import AsyncTwilioHttpClient
        from twilio.rest import Client

        # Built at import time, and already used once through the (dead) proxy: requests
        # has stored the proxy in this client for good.
        EARLY = Client()
        try:
            EARLY.sync.v1.services.list()
        except requests.exceptions.ProxyError:
            pass
        assert EARLY.http_client.proxy.get("https")


        def items(client, sync_map):
            return client.sync.v1.services(sync_map.service_sid).sync_maps(
                sync_map.sid
            ).sync_map_items


        def test_sync_clients(sync_map, sync_server):
            assert sync_server.host in os.environ["NO_PROXY"].split(",")
            items(Client(), sync_map).create(key="fresh", data={})
            items(EARLY, sync_map).create(key="early", data={})
            assert sorted(sync_map) == ["early", "fresh"]


        def test_async_client(sync_map):
            async def main():
                client = Client(http_client=AsyncTwilioHttpClient(pool_connections=False))
                await items(client, sync_map).create_async(key="async", data={})

            asyncio.run(main())
            assert list(sync_map) == ["async"]


        def test_plain_requests(sync_server):
            response = requests.get(
                f"{sync_server.url}/v1/Services", auth=sync_server.auth, timeout=10
            )
            assert response.status_code == 200


        def test_the_fixture_clients(sync_map, twilio_client, twilio_async_client):
            items(twilio_client, sync_map).create(key="fixture", data={})
            asyncio.run(items(twilio_async_client, sync_map).create_async(key="a", data={}))
            assert sorted(sync_map) == ["a", "fixture"]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=4)


def test_a_bypass_list_of_the_users_survives_in_either_spelling(pytester, dead_proxy, monkeypatch):
    """Only ``NO_PROXY=example.com`` set: during the test both spellings hold it and the
    emulator's host (``requests`` reads ``no_proxy`` first, so the host alone there would
    drop the user's list), in the test and in a ``child_env()``; restored afterwards."""
    monkeypatch.setenv("NO_PROXY", "example.com, .internal")
    pytester.makepyfile(
        """
        import os

        import requests


        def bypassed(url):
            return requests.utils.should_bypass_proxies(url, None)


        def test_during(sync_map, sync_server):
            for name in ("NO_PROXY", "no_proxy"):
                assert os.environ[name] == f"example.com,.internal,{sync_server.host}"
            assert bypassed("http://example.com/")
            assert bypassed("http://db.internal/")
            assert bypassed(sync_server.url + "/v1/Services")
            assert not bypassed("http://elsewhere.test/")
            child = sync_server.child_env({"no_proxy": "only.lower"})
            assert child["NO_PROXY"] == child["no_proxy"] == f"only.lower,{sync_server.host}"


        def test_after():
            assert os.environ["NO_PROXY"] == "example.com, .internal"
            assert "no_proxy" not in os.environ
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
