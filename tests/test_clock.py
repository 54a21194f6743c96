"""The test clock: ``sync_clock``, its marker, freezegun / time-machine interop, the
time assertions on a Map, and a server that keeps working while time is frozen.

``pytester`` runs are written the way users write their tests; the runs that freeze
time for a whole test body go through a subprocess with a timeout, so a hang fails
the test instead of the suite.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime, timedelta, timezone

import freezegun
import freezegun.api
import pytest
import requests
import time_machine
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from pytest_syncmap import SyncServer
from pytest_syncmap.plugin.timecontrol import SyncClock

START = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
START_ISO = "2030-01-01T12:00:00Z"

pytestmark = pytest.mark.filterwarnings(
    # aiohttp 3.12+ deprecates the BasicAuth the twilio async client passes.
    "ignore::DeprecationWarning:twilio.http.async_http_client",
    "ignore::DeprecationWarning:twilio.base.client_base",
)

#: Prepended to every pytester test file: what a user's test module would import.
HEADER = """
import asyncio
import time
from datetime import datetime, timedelta, timezone

import freezegun.api
import pytest
import time_machine
from freezegun import freeze_time

START = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def items_of(client, sync_map):
    return client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid).sync_map_items

"""

#: Appended to every pytester test file, so it runs after the user's tests.
FOOTER = """

def test_time_is_real_again():
    # Runs last in its file: nothing the tests above froze or travelled is left behind.
    assert freezegun.api.freeze_factories == []
    assert not time_machine.escape_hatch.is_travelling()
    assert time.time is freezegun.api.real_time
    assert datetime.now(timezone.utc).__class__ is freezegun.api.real_datetime
"""


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def run_inline(pytester: pytest.Pytester, body: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(HEADER + body + FOOTER)
    return pytester.runpytest("-p", "no:randomly", "--strict-markers", *args)


def real_clock() -> float:
    """Real monotonic seconds, even while freezegun is active."""
    return freezegun.api.real_monotonic()


# ----------------------------------------------------- frozen body, prompt teardown
FROZEN_BODY = """
@freeze_time("2030-01-01 12:00:00")
def test_sync_client_under_a_frozen_body(twilio_client, sync_map):
    items = items_of(twilio_client, sync_map)
    items.create(key="k", data={"v": 1}, ttl=60)
    assert items("k").fetch().date_expires == START + timedelta(seconds=60)
    assert [i.key for i in items.list()] == ["k"]


@freeze_time("2030-01-01 12:00:00")
def test_async_client_under_a_frozen_body(twilio_async_client, sync_map):
    items = items_of(twilio_async_client, sync_map)

    async def scenario():
        await items.create_async(key="k", data={"v": 1}, ttl=60)
        fetched = await items("k").fetch_async()
        listed = await items.list_async()
        return fetched.date_expires, [i.key for i in listed]

    assert asyncio.run(scenario()) == (START + timedelta(seconds=60), ["k"])
"""

#: pytest's --durations lines: "0.01s teardown test_x.py::test_y".
DURATION = re.compile(r"^([\d.]+)s (setup|call|teardown)\s+(\S+)$")


def phase_durations(result: pytest.RunResult) -> dict[tuple[str, str], float]:
    found: dict[tuple[str, str], float] = {}
    for line in result.outlines:
        match = DURATION.match(line.strip())
        if match:
            found[(match[3].split("::")[-1], match[2])] = float(match[1])
    return found


def test_a_whole_frozen_test_body_serves_requests_and_tears_down_promptly(pytester):
    pytester.makepyfile(HEADER + FROZEN_BODY + FOOTER)

    began = time.monotonic()
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "--durations=0", "--durations-min=0", timeout=60
    )
    elapsed = time.monotonic() - began

    result.assert_outcomes(passed=3)
    durations = phase_durations(result)
    for name in ("test_sync_client_under_a_frozen_body", "test_async_client_under_a_frozen_body"):
        assert durations[(name, "call")] < 2.0, durations
        assert durations[(name, "teardown")] < 1.0, durations
    assert elapsed < 30, f"the run took {elapsed:.1f}s"


def test_a_session_frozen_from_start_to_end_still_starts_and_stops_the_server(pytester):
    # The session server starts and stops while time is frozen (monotonic included).
    body = """
@pytest.fixture(scope="session", autouse=True)
def frozen_session():
    with freeze_time("2030-01-01 12:00:00"):
        yield


def test_one(twilio_client, sync_map):
    items = items_of(twilio_client, sync_map)
    assert items.create(key="k", data={}, ttl=60).date_expires == START + timedelta(seconds=60)


def test_two(twilio_client, sync_map):
    assert list(items_of(twilio_client, sync_map).list()) == []
"""
    pytester.makepyfile(test_frozen_session=HEADER + body)
    began = time.monotonic()
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=60)
    result.assert_outcomes(passed=2)
    assert time.monotonic() - began < 30


def test_sync_clock_leaves_pytest_durations_real(pytester):
    result = run_inline(
        pytester,
        """
def test_plain(sync_clock):
    sync_clock.advance(60)


@pytest.mark.sync_clock("2030-01-01T12:00:00Z")
def test_marker(sync_clock):
    sync_clock.advance(60)
""",
        "--durations=0",
        "--durations-min=0",
    )
    result.assert_outcomes(passed=3)
    durations = phase_durations(result)
    for name in ("test_plain", "test_marker"):
        for phase in ("setup", "call", "teardown"):
            assert 0 <= durations.get((name, phase), -1) < 10, durations


def _exercise(server: SyncServer) -> dict[str, object]:
    """Create a Map and an item with a TTL through the twilio client; the raw item."""
    client = Client(server.account_sid, server.auth_token)
    client.region = client.edge = None
    client.sync.base_url = server.url
    maps = client.sync.v1.services("default").sync_maps
    maps.create(unique_name="m")
    maps("m").sync_map_items.create(key="k", data={"v": 1}, ttl=60)
    answer = requests.get(f"{server.url}/v1/Services/default/Maps/m/Items/k", auth=server.auth)
    assert answer.status_code == 200
    body: dict[str, object] = answer.json()
    return body


def test_private_server_started_and_stopped_inside_freeze_time():
    began = real_clock()
    with freezegun.freeze_time(START):
        server = SyncServer()
        server.start()
        try:
            body = _exercise(server)
        finally:
            server.stop()
        assert not server.is_running()
    elapsed = real_clock() - began

    assert body["date_created"] == "2030-01-01T12:00:00Z"
    assert body["date_expires"] == "2030-01-01T12:01:00Z"
    assert elapsed < 2.0, f"start, two requests and stop took {elapsed:.2f}s under freezegun"


def test_private_server_as_a_context_manager_inside_freeze_time_with_tick():
    began = real_clock()
    with freezegun.freeze_time(START) as frozen, SyncServer() as server:
        _exercise(server)
        frozen.tick(60)
        gone = requests.get(f"{server.url}/v1/Services/default/Maps/m/Items/k", auth=server.auth)
    assert (gone.status_code, gone.json()["code"]) == (404, 54201)
    assert not server.is_running()
    assert real_clock() - began < 2.0


def test_private_server_started_and_stopped_inside_time_machine_travel():
    # perf_counter: time-machine before 3.0 travels time.monotonic() too (3.0 leaves it alone)
    began = time.perf_counter()
    with time_machine.travel(START, tick=False) as traveller:
        with SyncServer() as server:
            body = _exercise(server)
            traveller.shift(60)
            gone = requests.get(
                f"{server.url}/v1/Services/default/Maps/m/Items/k", auth=server.auth
            )
        assert not server.is_running()
    assert body["date_expires"] == "2030-01-01T12:01:00Z"
    assert gone.status_code == 404
    assert time.perf_counter() - began < 2.0


def test_private_server_serves_the_async_client_under_freeze_time():
    async def scenario(server: SyncServer) -> datetime:
        client = Client(
            server.account_sid,
            server.auth_token,
            http_client=AsyncTwilioHttpClient(pool_connections=False),
        )
        client.region = client.edge = None
        client.sync.base_url = server.url
        maps = client.sync.v1.services("default").sync_maps
        await maps.create_async(unique_name="m")
        item = await maps("m").sync_map_items.create_async(key="k", data={}, ttl=60)
        return item.date_expires

    began = real_clock()
    with freezegun.freeze_time(START), SyncServer() as server:
        expires = asyncio.run(scenario(server))
    assert expires == at(60)
    assert real_clock() - began < 2.0


# ------------------------------------------------------------ assertion messages
def where(sync_map, key: str) -> str:
    return re.escape(f"item {key!r} of Map {sync_map.sid}")


@pytest.mark.sync_clock(START_ISO)
def test_assert_expires_at_passes_with_datetime_or_iso_string(sync_clock, sync_map):
    sync_map.put("k", {}, ttl=60)
    sync_map.assert_expires_at("k", at(60))
    sync_map.assert_expires_at("k", "2030-01-01T12:01:00Z")
    sync_map.assert_expires_at("k", "2030-01-01T13:01:00+01:00")
    sync_map.assert_expires_at("k", datetime(2030, 1, 1, 12, 1))  # naive = UTC


@pytest.mark.sync_clock(START_ISO)
def test_assert_expires_at_failure_messages(sync_clock, sync_map):
    sync_map.put("k", {}, ttl=60)
    sync_map.put("forever", {})

    with pytest.raises(AssertionError) as wrong:
        sync_map.assert_expires_at("k", at(120))
    assert str(wrong.value) == (
        f"item 'k' of Map {sync_map.sid} should expire at 2030-01-01T12:02:00Z, but its "
        "date_expires is 2030-01-01T12:01:00Z (clock now 2030-01-01T12:00:00Z, revision 1)"
    )
    with pytest.raises(
        AssertionError,
        match=where(sync_map, "forever")
        + re.escape(
            " should expire at 2030-01-01T12:01:00Z, but its date_expires is never "
            "(clock now 2030-01-01T12:00:00Z, revision 2)"
        ),
    ):
        sync_map.assert_expires_at("forever", at(60))

    sync_clock.advance(60)
    with pytest.raises(
        AssertionError,
        match=where(sync_map, "k")
        + re.escape(
            " should expire at 2030-01-01T12:01:00Z, but it does not exist "
            "(clock now 2030-01-01T12:01:00Z)"
        ),
    ):
        sync_map.assert_expires_at("k", at(60))


@pytest.mark.sync_clock(START_ISO)
def test_assert_alive_failure_messages(sync_server, sync_clock, sync_map):
    sync_map.put("short", {}, ttl=30)
    sync_map.put("gone", {}, ttl=10)
    sync_map.assert_alive("short")
    sync_map.assert_alive("short", for_at_least=30)

    with pytest.raises(
        AssertionError,
        match=where(sync_map, "short")
        + re.escape(
            " should be alive for at least 0:01:00, but it has 0:00:30 left: "
            "date_expires 2030-01-01T12:00:30Z, clock now 2030-01-01T12:00:00Z"
        ),
    ):
        sync_map.assert_alive("short", for_at_least=timedelta(minutes=1))
    with pytest.raises(
        AssertionError,
        match=where(sync_map, "nope")
        + re.escape(
            " should be alive for at least 0:00:00, but it does not exist "
            "(clock now 2030-01-01T12:00:00Z)"
        ),
    ):
        sync_map.assert_alive("nope")

    sync_clock.advance(15)
    with pytest.raises(
        AssertionError,
        match=where(sync_map, "gone")
        + re.escape(
            " should be alive for at least 0:00:00, but it expired at 2030-01-01T12:00:10Z "
            "(clock now 2030-01-01T12:00:15Z)"
        ),
    ):
        sync_map.assert_alive("gone")

    sync_server.expiry_lag = 60
    sync_clock.advance(20)  # "short" expired at :30 and lingers in lag mode
    with pytest.raises(
        AssertionError,
        match=where(sync_map, "short")
        + re.escape(
            " should be alive for at least 0:00:00, but it has already expired: "
            "date_expires 2030-01-01T12:00:30Z, clock now 2030-01-01T12:00:35Z"
        ),
    ):
        sync_map.assert_alive("short")


@pytest.mark.sync_clock(START_ISO)
def test_assert_expired_failure_messages(sync_clock, sync_map):
    sync_map.put("k", {}, ttl=60)
    sync_map.put("forever", {})
    sync_map.put("deleted", {}, ttl=5)
    sync_map.delete("deleted")

    sync_clock.advance(30)
    with pytest.raises(
        AssertionError,
        match=where(sync_map, "k")
        + re.escape(
            " should have expired, but it is alive: date_expires 2030-01-01T12:01:00Z, "
            "clock now 2030-01-01T12:00:30Z (0:00:30 are left)"
        ),
    ):
        sync_map.assert_expired("k")
    with pytest.raises(
        AssertionError,
        match=where(sync_map, "forever")
        + re.escape(
            " should have expired, but it is alive: date_expires never, "
            "clock now 2030-01-01T12:00:30Z (it has no TTL)"
        ),
    ):
        sync_map.assert_expired("forever")
    for key in ("never-there", "deleted"):
        with pytest.raises(
            AssertionError,
            match=where(sync_map, key)
            + re.escape(
                " should have expired, but it was never there or was deleted rather than "
                "expired (clock now 2030-01-01T12:00:30Z)"
            ),
        ):
            sync_map.assert_expired(key)

    sync_clock.advance(30)
    sync_map.assert_expired("k")


@pytest.mark.parametrize(
    ("helper", "args", "fails"),
    [
        pytest.param("assert_expired", (), False, id="assert_expired-passes"),
        pytest.param("assert_alive", (), True, id="assert_alive-fails"),
        pytest.param("assert_expires_at", (at(300),), True, id="assert_expires_at-fails"),
    ],
)
@pytest.mark.sync_map(ttl=60)
@pytest.mark.sync_clock(START_ISO)
def test_time_assertions_on_an_item_of_an_expired_map(sync_clock, sync_map, helper, args, fails):
    sync_map.put("k", {}, ttl=300)
    sync_clock.advance(60)  # the Map expires, and its items with it
    check = getattr(sync_map, helper)
    if fails:
        with pytest.raises(AssertionError, match=re.escape(f"item 'k' of Map {sync_map.sid}")):
            check("k", *args)
    else:
        check("k", *args)


# ------------------------------------------------------------- the marker's start
@pytest.mark.sync_clock(START_ISO)
def test_marker_sets_the_start_instant(sync_clock, sync_map):
    assert sync_clock.now() == START
    assert datetime.now(timezone.utc) == START
    assert time.time() == START.timestamp()
    assert sync_map.put("k", {}, ttl=60).date_created == START
    sync_map.assert_expires_at("k", at(60))


@pytest.mark.parametrize(
    "form",
    [
        pytest.param("naive", marks=pytest.mark.sync_clock(datetime(2030, 1, 1, 12, 0))),
        pytest.param("aware", marks=pytest.mark.sync_clock(start=START)),
        pytest.param("offset", marks=pytest.mark.sync_clock("2030-01-01T14:00:00+02:00")),
        pytest.param("no-zone", marks=pytest.mark.sync_clock(start="2030-01-01T12:00:00")),
    ],
)
def test_marker_start_forms(sync_clock, form):
    # Naive datetimes and ISO strings without a zone are UTC; offsets are converted.
    assert sync_clock.now() == START
    assert sync_clock.now().utcoffset() == timedelta(0)


def test_without_marker_the_clock_starts_at_the_real_now_in_whole_seconds(sync_clock):
    now = sync_clock.now()
    assert now.microsecond == 0
    assert abs(now.timestamp() - freezegun.api.real_time()) < 5
    assert sync_clock.driver == "freezegun"
    first = sync_clock.now()
    time.sleep(0.01)
    assert sync_clock.now() == first  # frozen, not ticking


@pytest.mark.sync_map(ttl=60)
@pytest.mark.sync_clock(START_ISO)
def test_marker_start_applies_to_fixtures_requested_before_sync_clock(sync_map, sync_clock):
    # time-machine's marker puts its fixture first for this reason (ANCHORS.md).
    assert sync_map.record.date_created == START
    assert sync_map.record.date_expires == at(60)


def test_a_bad_marker_use_gives_a_clear_error(pytester):
    result = run_inline(
        pytester,
        """
@pytest.mark.sync_clock("2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z")
def test_two_instants(sync_clock):
    pass


@pytest.mark.sync_clock(at="2030-01-01T00:00:00Z")
def test_unknown_keyword(sync_clock):
    pass


@pytest.mark.sync_clock("next tuesday")
def test_not_an_instant(sync_clock):
    pass


@pytest.mark.sync_clock("9999-12-31T00:00:00Z")
def test_out_of_range(sync_clock):
    pass
""",
    )
    result.assert_outcomes(errors=4, passed=1)
    text = result.stdout.str()
    assert "@pytest.mark.sync_clock takes one argument, the start instant" in text
    assert "args=('2030-01-01T00:00:00Z', '2031-01-01T00:00:00Z')" in text
    assert "kwargs={'at': '2030-01-01T00:00:00Z'}" in text
    assert "@pytest.mark.sync_clock: cannot read 'next tuesday' as an instant; use ISO 8601" in text
    assert "@pytest.mark.sync_clock: the clock cannot be set to 9999-12-31T00:00:00Z" in text


# ------------------------------------------------ sync_clock as users write it
def test_plain_sync_clock(pytester):
    result = run_inline(
        pytester,
        """
def test_ttl(sync_clock, twilio_client, sync_map):
    items = items_of(twilio_client, sync_map)
    start = sync_clock.now()
    items.create(key="k", data={}, ttl=60)
    sync_map.assert_expires_at("k", start + timedelta(seconds=60))
    sync_clock.advance(seconds=59)
    assert [i.key for i in items.list()] == ["k"]
    sync_clock.advance(1)
    assert list(items.list()) == []
    sync_map.assert_expired("k")
""",
    )
    result.assert_outcomes(passed=2)


def test_sync_clock_with_its_marker(pytester):
    result = run_inline(
        pytester,
        """
@pytest.mark.sync_clock("2030-01-01T12:00:00Z")
def test_ttl(sync_clock, twilio_client, sync_map):
    items = items_of(twilio_client, sync_map)
    assert items.create(key="k", data={}, ttl=60).date_expires == START + timedelta(seconds=60)
    assert sync_clock.move_to("2030-01-01T12:00:59Z") == START + timedelta(seconds=59)
    sync_map.assert_alive("k", for_at_least=1)
    sync_clock.advance(timedelta(seconds=1))
    sync_map.assert_expired("k")
""",
    )
    result.assert_outcomes(passed=2)


def test_sync_clock_under_a_freeze_time_decorator(pytester):
    result = run_inline(
        pytester,
        """
@freeze_time("2030-01-01 12:00:00")
def test_ttl(sync_clock, twilio_client, sync_map):
    assert sync_clock.driver == "freezegun"
    assert sync_clock.now() == START  # the decorator's instant is the one driven
    items = items_of(twilio_client, sync_map)
    items.create(key="k", data={}, ttl=60)
    sync_clock.advance(60)
    assert datetime.now(timezone.utc) == START + timedelta(seconds=60)
    assert list(items.list()) == []
    sync_map.assert_expired("k")


@freeze_time("2030-01-01 12:00:00", tick=True)
def test_ticking_decorator(sync_clock):
    assert sync_clock.driver == "freezegun"
    assert START + timedelta(seconds=60) <= sync_clock.advance(60) < START + timedelta(seconds=70)
""",
    )
    result.assert_outcomes(passed=3)


def test_sync_clock_under_a_time_machine_travel_decorator(pytester):
    result = run_inline(
        pytester,
        """
@time_machine.travel(START, tick=False)
def test_ttl(sync_clock, twilio_client, sync_map):
    assert sync_clock.driver == "time-machine"
    assert sync_clock.now() == START
    items = items_of(twilio_client, sync_map)
    items.create(key="k", data={}, ttl=60)
    sync_clock.advance(59)
    assert [i.key for i in items.list()] == ["k"]
    sync_clock.advance(1)
    assert datetime.now(timezone.utc) == START + timedelta(seconds=60)
    assert list(items.list()) == []
    sync_clock.advance(-60)  # collected on the move: moving back does not revive it
    assert list(items.list()) == []
""",
    )
    result.assert_outcomes(passed=2)


def test_sync_clock_with_the_time_machine_fixture(pytester):
    result = run_inline(
        pytester,
        """
def test_fixture_first(time_machine, sync_clock, twilio_client, sync_map):
    assert sync_clock.driver == "none"  # nothing frozen until the test travels
    time_machine.move_to(START, tick=False)
    assert sync_clock.driver == "time-machine"
    items = items_of(twilio_client, sync_map)
    items.create(key="k", data={}, ttl=60)
    sync_clock.advance(30)
    time_machine.shift(29)  # both move the same clock
    assert sync_clock.now() == START + timedelta(seconds=59)
    assert [i.key for i in items.list()] == ["k"]
    sync_clock.advance(1)
    sync_map.assert_expired("k")
    sync_clock.advance(-10)
    assert datetime.now(timezone.utc) == START + timedelta(seconds=50)
    assert list(items.list()) == []


def test_fixture_after_sync_clock(sync_clock, sync_map, time_machine):
    time_machine.move_to(START, tick=False)
    sync_map.put("k", {}, ttl=60)
    assert sync_clock.move_to(START + timedelta(seconds=60)) == START + timedelta(seconds=60)
    sync_map.assert_expired("k")


@pytest.mark.time_machine(START, tick=False)
def test_time_machine_marker(sync_clock, sync_map):
    assert sync_clock.driver == "time-machine"
    assert sync_clock.now() == START
    sync_map.put("k", {}, ttl=60)
    sync_clock.advance(60)
    sync_map.assert_expired("k")


def test_fixture_never_moved(time_machine, sync_clock, sync_map):
    # The test did not travel after all: the first move freezes time itself.
    start = datetime.now(timezone.utc)
    sync_map.put("k", {}, ttl=60)
    sync_clock.advance(61)
    assert sync_clock.driver == "freezegun"
    sync_map.assert_expired("k")
    assert sync_clock.now() - start >= timedelta(seconds=60)
""",
    )
    result.assert_outcomes(passed=5)


def test_a_time_machine_block_inside_sync_clock_is_refused_clearly(sync_clock, sync_map):
    # Documented limitation (README, SyncClock docstring): sync_clock freezes time with
    # freezegun at set-up unless the test travels with time-machine through a decorator,
    # its fixture or its marker; a `with time_machine.travel()` block opened later in
    # the body is refused by time-machine itself, loudly, never silently half-applied.
    with (
        pytest.raises(RuntimeError, match="time-machine cannot start when freezegun is active"),
        time_machine.travel(START, tick=False),
    ):
        pass
    sync_map.put("k", {}, ttl=60)
    sync_clock.advance(60)
    assert sync_clock.driver == "freezegun"
    sync_map.assert_expired("k")


def test_advance_under_a_ticking_freezer_moves_forward_from_now(sync_clock, sync_map):
    with freezegun.freeze_time(START, tick=True):
        time.sleep(0.3)  # real time; the frozen clock ticks along
        before = sync_clock.now()
        sync_map.put("k", {}, ttl=60)
        after = sync_clock.advance(60)
        assert after >= before + timedelta(seconds=60), (before, after)
        sync_map.assert_expired("k")


def test_sync_clock_drives_a_freeze_time_block_started_in_the_test(sync_clock, sync_map):
    outer = sync_clock.now()
    with freezegun.freeze_time(START):
        assert sync_clock.now() == START
        sync_map.put("k", {}, ttl=60)
        assert sync_clock.advance(60) == at(60)
        sync_map.assert_expired("k")
    assert sync_clock.now() == outer  # the fixture's own frozen time again


# ------------------------------------------------------------ moves and driver
@pytest.mark.sync_clock(START_ISO)
def test_advance_accepts_every_documented_form(sync_clock):
    assert sync_clock.advance(60) == at(60)
    assert sync_clock.advance(seconds=60) == at(120)
    assert sync_clock.advance(timedelta(minutes=1)) == at(180)
    assert sync_clock.advance(1.5) == at(181.5)
    assert sync_clock.advance(minutes=1, seconds=-1.5) == at(240)
    assert sync_clock.advance(hours=1) == at(3840)
    assert sync_clock.advance(days=1) == at(3840 + 86400)
    assert sync_clock.now() == datetime.now(timezone.utc) == at(3840 + 86400)


@pytest.mark.sync_clock(START_ISO)
def test_advance_with_negative_seconds_moves_back(sync_clock, sync_map):
    sync_map.put("k", {}, ttl=60)

    assert sync_clock.advance(-30) == at(-30)
    assert sync_clock.advance(seconds=-30) == at(-60)
    assert sync_clock.advance(timedelta(seconds=-30)) == at(-90)
    assert datetime.now(timezone.utc) == at(-90)

    sync_map.assert_expires_at("k", at(60))
    sync_map.assert_alive("k", for_at_least=150)
    sync_clock.advance(149)
    sync_map.assert_alive("k")
    sync_clock.advance(1)
    sync_map.assert_expired("k")


@pytest.mark.sync_clock(START_ISO)
def test_moves_collect_at_once_so_moving_back_revives_nothing(
    sync_server, sync_clock, sync_map, twilio_client
):
    sync_map.put("k", {}, ttl=60)
    maps = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps
    maps.create(unique_name="short", ttl=30)

    sync_clock.advance(60)  # no request in between: the move itself collects
    assert sync_server.store.expired_at(sync_map.service_sid, sync_map.sid, "k") == at(60)
    sync_clock.move_to(START)
    assert "k" not in sync_map
    assert [m.unique_name for m in maps.list()] == [None]  # only the fixture's Map


@pytest.mark.sync_clock(START_ISO)
def test_move_to_accepts_datetimes_and_iso_strings(sync_clock):
    assert sync_clock.move_to("2030-06-01T00:00:00Z") == datetime(2030, 6, 1, tzinfo=timezone.utc)
    assert sync_clock.move_to("2030-06-01T02:00:00+02:00") == datetime(
        2030, 6, 1, tzinfo=timezone.utc
    )
    assert sync_clock.move_to(datetime(2030, 6, 2)) == datetime(2030, 6, 2, tzinfo=timezone.utc)
    assert sync_clock.move_to(START) == START
    with pytest.raises(ValueError, match=re.escape("cannot read 'soon' as an instant")):
        sync_clock.move_to("soon")
    assert sync_clock.now() == START


@pytest.mark.sync_clock(START_ISO)
def test_driver_and_repr_with_the_fixture(sync_clock):
    assert sync_clock.driver == "freezegun"
    assert repr(sync_clock) == "<SyncClock 2030-01-01T12:00:00Z via freezegun>"


@time_machine.travel(START, tick=False)
def test_driver_under_time_machine(sync_clock):
    assert sync_clock.driver == "time-machine"
    assert repr(sync_clock) == "<SyncClock 2030-01-01T12:00:00Z via time-machine>"


def test_driver_of_a_standalone_clock():
    clock = SyncClock()
    assert clock.driver == "none"
    with pytest.raises(RuntimeError, match="SyncClock is not started; use the sync_clock fixture"):
        clock.advance(1)

    with SyncClock() as started:
        assert started.driver == "freezegun"
        assert started.now().microsecond == 0
        assert started.advance(10) - started.now() == timedelta(0)
    assert started.driver == "none"
    assert freezegun.api.freeze_factories == []

    with time_machine.travel(START, tick=False):
        assert SyncClock().driver == "time-machine"
        with SyncClock() as driving:  # drives the active traveller, starts nothing
            assert driving.advance(5) == at(5)
            assert freezegun.api.freeze_factories == []
        assert datetime.now(timezone.utc) == at(5)
    assert SyncClock().driver == "none"
