"""The plugin as users use it: fixtures, marker, redirection, options, xdist.

Every test here writes a small test suite into a ``pytester`` directory and runs pytest
on it, the way a user's project would run: the plugin is loaded through its entry
point, nothing is imported from this repository's conftest. Runs are in-process unless
isolation matters (xdist, global clock patching).
"""

from __future__ import annotations

import inspect
import json
import re

# Imported here so in-process runs find them already loaded: pytester restores
# sys.modules after each run, and re-importing twilio every time would be slow.
import aiohttp  # noqa: F401
import pytest
import requests  # noqa: F401
import twilio.http.async_http_client
import twilio.rest
from twilio.base.client_base import ClientBase

from pytest_syncmap import plugin
from pytest_syncmap.host.server import ACCOUNT_SID, AUTH_TOKEN

OUTER_SID = "AC" + "0" * 32
OUTER_TOKEN = "a-real-looking-token"
SYNC_URL = "https://sync.twilio.com/v1/Services"


@pytest.fixture
def outer_env(monkeypatch):
    """Credentials as a developer's shell or CI might have them, plus no region/edge."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", OUTER_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", OUTER_TOKEN)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


# ------------------------------------------------------------------ marker
def test_marker_seeds_the_map_that_the_official_client_reads(pytester):
    pytester.makepyfile(
        """
        import pytest
        import requests

        ITEMS = {"sku-1": {"qty": 3, "tags": ["red"]}, "sku-2": {"qty": 0}}

        @pytest.mark.sync_map(unique_name="inventory", items=ITEMS)
        def test_seeded(sync_map, twilio_client, sync_server):
            service = twilio_client.sync.v1.services(sync_map.service_sid)
            fetched = service.sync_maps("inventory").fetch()
            assert fetched.sid == sync_map.sid
            assert fetched.unique_name == sync_map.unique_name == "inventory"
            items = service.sync_maps("inventory").sync_map_items.list()
            assert {i.key: i.data for i in items} == ITEMS
            assert dict(sync_map) == ITEMS
            assert sync_map.item("sku-1").date_expires is None

            # plain HTTP works too, with the handle's URLs and the server's auth pair
            answer = requests.get(sync_map.url + "/Items", auth=sync_server.auth, timeout=5)
            assert answer.status_code == 200
            assert [i["key"] for i in answer.json()["items"]] == ["sku-1", "sku-2"]

        def test_unmarked(sync_map, twilio_client):
            assert sync_map.unique_name is None
            assert len(sync_map) == 0
            fetched = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(
                sync_map.sid
            ).fetch()
            assert fetched.unique_name is None and fetched.date_expires is None
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=2)


def test_marker_ttl_and_closest_marker_wins(pytester):
    pytester.makepyfile(
        """
        from datetime import datetime, timedelta, timezone

        import pytest

        pytestmark = pytest.mark.sync_map(unique_name="from-module", items={"m": {}})

        def test_module_marker_applies(sync_map):
            assert sync_map.unique_name == "from-module"
            assert list(sync_map) == ["m"]

        @pytest.mark.sync_map(unique_name="expiring", ttl=600)
        def test_function_marker_wins_and_sets_the_ttl(sync_map, twilio_client):
            assert sync_map.unique_name == "expiring"
            assert len(sync_map) == 0
            fetched = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(
                "expiring"
            ).fetch()
            left = fetched.date_expires - datetime.now(timezone.utc)
            assert timedelta(seconds=590) < left <= timedelta(seconds=600)

        @pytest.mark.sync_map(unique_name="from-class")
        class TestGroup:
            def test_class_marker(self, sync_map):
                assert sync_map.unique_name == "from-class"
        """
    )
    pytester.runpytest().assert_outcomes(passed=3)


def test_bad_marker_arguments_are_clear_usage_errors(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sync_map(unique_nam="typo")
        def test_unknown_kwarg(sync_map):
            pass

        @pytest.mark.sync_map("sessions")
        def test_positional(sync_map):
            pass

        @pytest.mark.sync_map(items=[("k", {})])
        def test_items_not_a_dict(sync_map):
            pass

        def test_others_still_run(sync_map):
            assert len(sync_map) == 0
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*UsageError: @pytest.mark.sync_map got unknown argument(s) unique_nam;"
            " it accepts unique_name, items, ttl, service",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*UsageError: @pytest.mark.sync_map takes keyword arguments only*('sessions',)*"]
    )
    result.stdout.fnmatch_lines(
        ["*UsageError: @pytest.mark.sync_map(items=...) must be a dict of key to data, not list"]
    )
    result.stdout.fnmatch_lines(
        ["ERROR *::test_unknown_kwarg*", "ERROR *::test_positional*", "ERROR *::test_items_*"]
    )


def test_markers_lists_sync_map(pytester):
    result = pytester.runpytest("--markers")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.sync_map(unique_name=None, items=None, ttl=None, service=None):"
            " *unique name*"
        ]
    )


def test_strict_markers_accepts_the_marker(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sync_map(unique_name="strict")
        def test_marked(sync_map):
            assert sync_map.unique_name == "strict"
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)

    # control: the flag is in force, so an unregistered marker is refused
    pytester.makepyfile(
        test_control="""
        import pytest

        @pytest.mark.sync_mapp(unique_name="typo")
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "test_control.py")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*'sync_mapp' not found in `markers` configuration option*"])


# ----------------------------------------------------------------- --fixtures
DOCUMENTED_FIXTURES = (
    "sync_server",
    "sync_server_session",
    "sync_server_config",
    "sync_service",
    "sync_map",
    "sync_list",
    "sync_document",
    "sync_stream",
    "sync_clock",
    "twilio_client",
    "twilio_async_client",
)


def test_fixtures_lists_every_fixture_with_its_docstring(pytester):
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--fixtures")
    assert result.ret == 0
    lines = result.outlines
    for name in DOCUMENTED_FIXTURES:
        doc = inspect.getdoc(getattr(plugin, name))
        assert doc is not None
        assert len(doc) > 30, f"{name} has a token docstring: {doc!r}"
        first = doc.splitlines()[0]
        heading = [
            i for i, line in enumerate(lines) if re.match(rf"{name}( \[\w+ scope\])? -- ", line)
        ]
        assert len(heading) == 1, f"{name} is not listed once by --fixtures:\n{result.stdout}"
        assert re.search(r"pytest_syncmap/plugin/fixtures\.py:\d+$", lines[heading[0]].rstrip())
        assert lines[heading[0] + 1].strip() == first, f"{name}: docstring not shown"
    for name in ("sync_server_session", "sync_server_config"):
        assert any(line.startswith(f"{name} [session scope] -- ") for line in lines)


# --------------------------------------------------- application modules
SCOREBOARD = '''
import os

from twilio.rest import Client


def make_client():
    return {construct}


class Scoreboard:
    """Production code: builds its own Client, knows nothing about tests."""

    def __init__(self, service_sid, map_name):
        self.client = make_client()
        self.items = (
            self.client.sync.v1.services(service_sid).sync_maps(map_name).sync_map_items
        )

    def record(self, player, points):
        self.items.create(key=player, data={{"points": points}})

    def top(self, n):
        scores = ((i.data["points"], i.key) for i in self.items.stream(page_size=50))
        return sorted(scores, reverse=True)[:n]
'''

SCOREBOARD_TEST = """
import os

import pytest

from scoreboard import Scoreboard


@pytest.mark.sync_map(unique_name="scores", items={{"ann": {{"points": 5}}}})
def test_scoreboard(sync_map, sync_server):
    for n in range(60):  # more than one page, so next-page links are followed too
        sync_map.put(f"p-{{n:02}}", {{"points": n % 4}})
    board = Scoreboard(sync_map.service_sid, "scores")
    board.record("bob", 7)

    assert board.top(2) == [(7, "bob"), (5, "ann")]
    assert len(board.top(100)) == 62
    assert sync_map["bob"] == {{"points": 7}}
    assert (board.client.region, board.client.edge) == ({region!r}, {edge!r})
    assert os.environ["TWILIO_ACCOUNT_SID"] == sync_server.account_sid
    assert os.environ["TWILIO_AUTH_TOKEN"] == sync_server.auth_token
"""


@pytest.mark.parametrize(
    ("construct", "region", "edge"),
    [
        pytest.param(
            'Client(os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"])',
            None,
            None,
            id="explicit-env-credentials",
        ),
        pytest.param("Client()", None, None, id="no-arguments"),
        pytest.param("Client()", "au1", "sydney", id="TWILIO_REGION-and-TWILIO_EDGE"),
    ],
)
def test_an_unchanged_application_module_is_tested_against_the_emulator(
    pytester, outer_env, monkeypatch, construct, region, edge
):
    if region:
        monkeypatch.setenv("TWILIO_REGION", region)
        monkeypatch.setenv("TWILIO_EDGE", edge)
    pytester.makepyfile(scoreboard=SCOREBOARD.format(construct=construct))
    pytester.makepyfile(test_app=SCOREBOARD_TEST.format(region=region, edge=edge))
    pytester.runpytest().assert_outcomes(passed=1)


def test_an_async_application_module_is_redirected_too(pytester, outer_env, monkeypatch):
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    pytester.makepyfile(
        notifier='''
        from twilio.http.async_http_client import AsyncTwilioHttpClient
        from twilio.rest import Client


        async def mark_seen(service_sid, map_name, user_ids):
            """Production code on the asyncio client, credentials from the environment."""
            http = AsyncTwilioHttpClient()
            try:
                items = Client(http_client=http).sync.v1.services(service_sid).sync_maps(
                    map_name
                ).sync_map_items
                for user_id in user_ids:
                    await items.create_async(key=user_id, data={"seen": True}, ttl=60)
                return [i.key for i in await items.list_async()]
            finally:
                await http.close()
        ''',
        test_notifier="""
        import asyncio

        from notifier import mark_seen


        def test_mark_seen(sync_map):
            keys = asyncio.run(mark_seen(sync_map.service_sid, sync_map.sid, ["u2", "u1"]))
            assert keys == ["u1", "u2"]
            assert dict(sync_map) == {"u1": {"seen": True}, "u2": {"seen": True}}
        """,
    )
    pytester.runpytest().assert_outcomes(passed=1)


# ------------------------------------------------------- clients in the test body
def test_clients_built_anywhere_reach_the_emulator(pytester, outer_env):
    pytester.makepyfile(
        f"""
        import asyncio
        import os

        from twilio.http.async_http_client import AsyncTwilioHttpClient
        from twilio.rest import Client

        # Built at import time, before any fixture ran, with .sync already touched.
        EARLY = Client({ACCOUNT_SID!r}, {AUTH_TOKEN!r})
        EARLY_ITEMS = EARLY.sync


        def items_of(client, sync_map):
            return client.sync.v1.services(sync_map.service_sid).sync_maps(
                sync_map.sid
            ).sync_map_items


        def test_sync_clients(sync_map):
            env = Client(os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"])
            items_of(env, sync_map).create(key="env", data={{"n": 1}})
            items_of(Client(), sync_map).create(key="no-args", data={{"n": 2}})
            regional = Client(region="ie1", edge="dublin")
            items_of(regional, sync_map).create(key="regional", data={{"n": 3}})
            items_of(EARLY, sync_map).create(key="early", data={{"n": 4}})

            assert dict(sync_map) == {{
                "early": {{"n": 4}}, "env": {{"n": 1}}, "no-args": {{"n": 2}},
                "regional": {{"n": 3}},
            }}
            # only Sync is redirected: other Twilio products are left alone
            api = "https://api.twilio.com/2010-04-01/Accounts.json"
            assert Client().get_hostname(api) == api


        def test_async_clients(sync_map, twilio_async_client):
            async def scenario():
                await items_of(twilio_async_client, sync_map).create_async(
                    key="fixture", data={{}}
                )
                own = Client(http_client=AsyncTwilioHttpClient(pool_connections=False))
                await items_of(own, sync_map).create_async(key="own", data={{}})
                return [i.key for i in await items_of(own, sync_map).list_async()]

            assert asyncio.run(scenario()) == ["fixture", "own"]
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


# ------------------------------------------------------------ isolation
def test_state_does_not_leak_between_tests(pytester):
    pytester.makepyfile(
        """
        import pytest
        from twilio.base.exceptions import TwilioRestException

        SEEN = {}


        @pytest.mark.sync_map(unique_name="leaky")
        def test_a_writes(sync_map, twilio_client):
            service = twilio_client.sync.v1.services(sync_map.service_sid)
            service.sync_maps("leaky").sync_map_items.create(key="k", data={"v": 1})
            extra = twilio_client.sync.v1.services("default").sync_maps.create(
                unique_name="extra"
            )
            SEEN.update(service=sync_map.service_sid, map=sync_map.sid, extra=extra.sid)
            assert dict(sync_map) == {"k": {"v": 1}}


        @pytest.mark.sync_map(unique_name="leaky")
        def test_b_starts_from_nothing(sync_map, twilio_client):
            assert SEEN, "test_a_writes must run first"
            assert len(sync_map) == 0
            assert sync_map.sid != SEEN["map"]
            assert sync_map.service_sid != SEEN["service"]

            v1 = twilio_client.sync.v1
            with pytest.raises(TwilioRestException) as gone:
                v1.services(SEEN["service"]).fetch()
            assert gone.value.status == 404
            assert v1.services("default").sync_maps.list() == []
            with pytest.raises(TwilioRestException) as gone:
                v1.services("default").sync_maps("extra").fetch()
            assert gone.value.status == 404
            assert [s.sid for s in v1.services.list()] != []
            assert SEEN["service"] not in [s.sid for s in v1.services.list()]


        def test_c_server_without_handles_is_empty_too(sync_server, twilio_client):
            services = twilio_client.sync.v1.services.list()
            assert [s.friendly_name for s in services] == ["Default Service"]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


RESTORE_CHECKS = f"""
import os

import pytest
from twilio.base.client_base import ClientBase
from twilio.rest import Client

ORIGINAL = ClientBase.__dict__["get_hostname"]
SYNC_URL = {SYNC_URL!r}


def assert_untouched():
    # The plugin's wrappers stay on ClientBase for the session (so code a test left
    # running is still refused after it), but outside tests they change nothing.
    current = ClientBase.__dict__["get_hostname"]
    assert current is ORIGINAL or current.__wrapped__ is ORIGINAL
    assert "NO_PROXY" not in os.environ and "no_proxy" not in os.environ
    assert os.environ["TWILIO_ACCOUNT_SID"] == {OUTER_SID!r}
    assert os.environ["TWILIO_AUTH_TOKEN"] == {OUTER_TOKEN!r}
    assert Client().get_hostname(SYNC_URL) == SYNC_URL
    assert Client(region="au1").get_hostname(SYNC_URL) == (
        "https://sync.au1.twilio.com/v1/Services"
    )


def assert_redirected(server):
    assert os.environ["TWILIO_ACCOUNT_SID"] == server.account_sid
    assert os.environ["TWILIO_AUTH_TOKEN"] == server.auth_token
    assert os.environ["NO_PROXY"] == os.environ["no_proxy"] == server.host
    assert Client().get_hostname(SYNC_URL) == server.url + "/v1/Services"
    assert Client(region="au1").get_hostname(SYNC_URL) == server.url + "/v1/Services"
"""


def test_env_and_get_hostname_are_restored_after_each_test(pytester, outer_env):
    original = ClientBase.__dict__["get_hostname"]
    pytester.makepyfile(
        RESTORE_CHECKS
        + """

def test_1_before_any_fixture():
    assert_untouched()


def test_2_with_the_fixture(sync_server):
    assert_redirected(sync_server)


def test_3_no_fixture_between():
    assert_untouched()


def test_4_failing_with_the_fixture(sync_map):
    assert_redirected(sync_map.server)
    raise AssertionError("deliberate failure")


def test_5_after_a_failure():
    assert_untouched()


def test_6_body_changes_env_itself(sync_server):
    os.environ["TWILIO_AUTH_TOKEN"] = "changed-by-the-test"
    del os.environ["TWILIO_ACCOUNT_SID"]


def test_7_after():
    assert_untouched()
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        ["E * AssertionError: deliberate failure", "FAILED *::test_4_failing_with_the_fixture*"]
    )
    # and this process is untouched after the in-process run
    assert ClientBase.__dict__["get_hostname"] is original
    assert twilio.rest.Client().get_hostname(SYNC_URL) == SYNC_URL


def test_env_is_restored_when_the_test_also_monkeypatches_it(pytester, outer_env):
    pytester.makepyfile(
        RESTORE_CHECKS
        + """

def test_1_without_credentials(monkeypatch, sync_server):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    with pytest.raises(KeyError):
        os.environ["TWILIO_AUTH_TOKEN"]


def test_2_after():
    assert_untouched()
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


# ------------------------------------------------------------ configuration
def test_overriding_sync_server_config_changes_the_accepted_credentials(pytester):
    custom_sid = "AC" + "ab" * 16
    pytester.makeconftest(
        f"""
        import pytest
        from pytest_syncmap.plugin import ServerConfig

        @pytest.fixture(scope="session")
        def sync_server_config():
            return ServerConfig(account_sid={custom_sid!r}, auth_token="custom-token")
        """
    )
    pytester.makepyfile(
        f"""
        import os

        import pytest
        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client

        def test_custom_credentials(sync_map, sync_server, twilio_client):
            assert sync_server.auth == ({custom_sid!r}, "custom-token")
            assert os.environ["TWILIO_ACCOUNT_SID"] == {custom_sid!r}
            assert os.environ["TWILIO_AUTH_TOKEN"] == "custom-token"

            items = Client().sync.v1.services(sync_map.service_sid).sync_maps(
                sync_map.sid
            ).sync_map_items
            items.create(key="ok", data={{}})
            assert twilio_client.sync.v1.services(sync_map.service_sid).fetch().sid

            stale = Client({ACCOUNT_SID!r}, {AUTH_TOKEN!r})  # the default credentials
            with pytest.raises(TwilioRestException) as refused:
                stale.sync.v1.services(sync_map.service_sid).fetch()
            assert (refused.value.status, refused.value.code) == (401, 20003)
            assert list(sync_map) == ["ok"]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_private_server_works_alongside_the_shared_one(pytester):
    pytester.makepyfile(
        """
        from twilio.rest import Client

        from pytest_syncmap import SyncServer


        def test_private(sync_map, twilio_client):
            shared = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(
                sync_map.sid
            ).sync_map_items
            with SyncServer(auth_token="private-token") as private:
                assert private.is_running()
                assert private.url != sync_map.server.url
                service = private.store.create_service(friendly_name="private")

                own = Client(*private.auth)
                own.sync.base_url = private.url
                own.region = own.edge = None
                created = own.sync.v1.services(service.sid).sync_maps.create(unique_name="p")
                own.sync.v1.services(service.sid).sync_maps("p").sync_map_items.create(
                    key="mine", data={"where": "private"}
                )
                shared.create(key="ours", data={"where": "shared"})
                # env-built clients still go to the shared server meanwhile
                Client().sync.v1.services(sync_map.service_sid).sync_maps(
                    sync_map.sid
                ).sync_map_items.create(key="env", data={})

                private_keys = [i.key for i in private.store.all_items(service.sid, created.sid)]
                assert private_keys == ["mine"]
                assert sorted(sync_map) == ["env", "ours"]
            assert not private.is_running()
            shared.create(key="after", data={})
            assert sorted(sync_map) == ["after", "env", "ours"]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_nested_redirect_to_a_private_server_wins_while_it_lasts(pytester):
    pytester.makepyfile(
        """
        from twilio.rest import Client

        from pytest_syncmap import SyncServer, TwilioRedirect

        SYNC_URL = "https://sync.twilio.com/v1/Services"


        def test_nested(sync_map):
            with SyncServer(auth_token="private-token") as private:
                service = private.store.create_service(friendly_name="private")
                created = private.store.create_map(service.sid, unique_name="p", ttl=None)
                with TwilioRedirect(private.url, private.account_sid, private.auth_token):
                    assert Client().get_hostname(SYNC_URL) == private.url + "/v1/Services"
                    Client().sync.v1.services(service.sid).sync_maps("p").sync_map_items.create(
                        key="via-env", data={}
                    )
                # leaving it sends env-built clients back to the shared server
                assert Client().get_hostname(SYNC_URL) == sync_map.server.url + "/v1/Services"
                Client().sync.v1.services(sync_map.service_sid).sync_maps(
                    sync_map.sid
                ).sync_map_items.create(key="back", data={})

                private_keys = [i.key for i in private.store.all_items(service.sid, created.sid)]
                assert private_keys == ["via-env"]
                assert list(sync_map) == ["back"]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


# ------------------------------------------------------------ server errors
def test_an_exception_inside_the_server_fails_the_test(pytester):
    pytester.makepyfile(
        """
        import pytest
        from twilio.base.exceptions import TwilioRestException


        def test_swallows_the_500(sync_map, twilio_client, monkeypatch):
            def explode(*args, **kwargs):
                raise RuntimeError("boom inside the emulator")

            monkeypatch.setattr(sync_map.server.store, "get_item", explode)
            items = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(
                sync_map.sid
            ).sync_map_items
            with pytest.raises(TwilioRestException) as answer:
                items("k").fetch()
            assert (answer.value.status, answer.value.code) == (500, 20500)
            # the test body would pass: the plugin must fail it anyway


        def test_next_test_is_clean(sync_map):
            assert len(sync_map) == 0
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)  # errors=0: the call fails, not teardown
    result.stdout.fnmatch_lines(
        [
            "*RuntimeError: boom inside the emulator",
            "*raised inside the Sync emulator*",
            "FAILED *::test_swallows_the_500*",
        ]
    )


# ------------------------------------------------------------------ xdist
def test_xdist_workers_each_have_their_own_server(pytester):
    out = pytester.path / "results"
    out.mkdir()
    pytester.makepyfile(
        f"""
        import json
        import os
        import time

        import pytest

        OUT = {str(out)!r}


        @pytest.mark.parametrize("n", range(8))
        @pytest.mark.sync_map(unique_name="shared-name")
        def test_worker(n, sync_map, sync_server, twilio_client):
            items = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(
                "shared-name"
            ).sync_map_items
            items.create(key=f"item-{{n}}", data={{"n": n}})
            time.sleep(0.05)  # overlap with the test running on the other worker
            assert dict(sync_map) == {{f"item-{{n}}": {{"n": n}}}}
            assert len(twilio_client.sync.v1.services.list()) == 2  # default + ours
            record = {{"worker": os.environ["PYTEST_XDIST_WORKER"], "url": sync_server.url}}
            with open(os.path.join(OUT, f"{{n}}.json"), "w") as fh:
                json.dump(record, fh)
        """
    )
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=8)
    records = [json.loads(p.read_text()) for p in out.iterdir()]
    urls: dict[str, set[str]] = {}
    for record in records:
        urls.setdefault(record["worker"], set()).add(record["url"])
    assert len(records) == 8
    assert sorted(urls) == ["gw0", "gw1"]
    assert all(len(u) == 1 for u in urls.values()), urls  # one server per worker...
    assert urls["gw0"] != urls["gw1"]  # ...and not the same one


# ------------------------------------------------------------------ clock
def test_sync_clock_does_not_distort_pytest_durations(pytester):
    pytester.makepyfile(
        """
        def test_a_day_passes(sync_clock, sync_map):
            sync_map.put("k", {}, ttl=60)
            sync_clock.advance(days=1)
            sync_map.assert_expired("k")
        """
    )
    result = pytester.runpytest_subprocess("--durations=0", "-vv")
    result.assert_outcomes(passed=1)
    times = [
        float(m.group(1))
        for line in result.outlines
        if (m := re.match(r"([\d.]+)s (setup|call|teardown) ", line))
    ]
    assert len(times) == 3
    assert max(times) < 60, result.stdout.str()
