"""The emulator has one clock, and everything that moves time moves that one.

In a test, ``sync_clock``, freezegun, time-machine and ``POST /_syncmap/clock`` all
move the process clock the emulator reads, so each sees the others' moves. Standalone,
the control plane sets the server's own ``SettableClock``; a reset brings back how
the server was made.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pytest_syncmap import SettableClock, SyncServer
from pytest_syncmap.domain.clock import FixedClock, TimeControl

HELPERS = """
import requests


def control_clock(server, body=None):
    method = "GET" if body is None else "POST"
    answer = requests.request(
        method, f"{server.url}/_syncmap/clock", auth=server.auth, json=body, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()
"""


def _run(pytester: pytest.Pytester, source: str, passed: int) -> None:
    pytester.makeconftest(HELPERS)
    pytester.makepyfile(source)
    pytester.runpytest_subprocess("-v", timeout=60).assert_outcomes(passed=passed)


def test_sync_clock_still_moves_the_emulator_after_a_control_plane_move(pytester):
    _run(
        pytester,
        """
        from datetime import timedelta

        from conftest import control_clock


        def test_it(sync_clock, sync_map, sync_server):
            start = sync_clock.now()
            sync_map.put("k", {"v": 1}, ttl=105)
            moved = control_clock(sync_server, {"advance": 10})
            assert moved["frozen"] is True
            assert sync_clock.now() == start + timedelta(seconds=10)  # the test sees it
            assert "k" in sync_map
            sync_clock.advance(100)  # and then moves the emulator on from there
            assert control_clock(sync_server)["now"] == (start + timedelta(seconds=110)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            assert "k" not in sync_map
            sync_map.assert_expired("k")
        """,
        passed=1,
    )


def test_freezegun_and_the_control_plane_move_the_same_time(pytester):
    _run(
        pytester,
        """
        from datetime import datetime, timezone

        from freezegun import freeze_time

        from conftest import control_clock


        @freeze_time("2030-01-01T00:00:00Z")
        def test_it(sync_map, sync_server):
            assert control_clock(sync_server)["now"] == "2030-01-01T00:00:00Z"
            control_clock(sync_server, {"advance": 60})
            assert datetime.now(timezone.utc) == datetime(2030, 1, 1, 0, 1, tzinfo=timezone.utc)
            assert sync_map.put("k", {}).date_created == datetime.now(timezone.utc)
        """,
        passed=1,
    )


def test_time_machine_and_the_control_plane_move_the_same_time(pytester):
    _run(
        pytester,
        """
        import time
        from datetime import datetime, timezone

        import time_machine

        from conftest import control_clock


        @time_machine.travel(datetime(2030, 1, 1, tzinfo=timezone.utc), tick=False)
        def test_it(sync_map, sync_server):
            control_clock(sync_server, {"advance": 3600})
            assert time.time() == datetime(2030, 1, 1, 1, tzinfo=timezone.utc).timestamp()
            assert sync_map.put("k", {}).date_created.hour == 1
        """,
        passed=1,
    )


def test_a_move_in_a_test_without_frozen_time_freezes_it_until_the_test_ends(pytester):
    _run(
        pytester,
        """
        from datetime import datetime, timezone

        from conftest import control_clock


        def test_a_moves_it(sync_map, sync_server):
            control_clock(sync_server, {"now": "2031-01-01T00:00:00Z"})
            assert datetime.now(timezone.utc) == datetime(2031, 1, 1, tzinfo=timezone.utc)
            assert sync_map.put("k", {}).date_created.year == 2031


        def test_b_runs_on_real_time(sync_map, sync_server):
            assert control_clock(sync_server)["frozen"] is False
            assert datetime.now(timezone.utc).year < 2031
            assert sync_map.put("k", {}).date_created.year < 2031
        """,
        passed=2,
    )


def test_the_control_plane_never_releases_time_the_test_froze_itself(pytester):
    """README "One clock": time the test froze itself is moved, never released, and a
    reset leaves ``sync_clock`` alone. ``{"frozen": false}`` used to release
    ``sync_clock``'s freezer (losing the marker's instant), and under a test's own
    ``@freeze_time`` it stopped ``sync_clock``'s freezer beneath the test's, which
    broke freezegun's teardown."""
    _run(
        pytester,
        """
        from datetime import datetime, timezone

        import pytest
        import requests
        from freezegun import freeze_time

        from conftest import control_clock

        START = datetime(2030, 5, 5, tzinfo=timezone.utc)


        def release(server):
            return requests.post(
                f"{server.url}/_syncmap/clock", json={"frozen": False}, auth=server.auth,
                timeout=10,
            )


        @pytest.mark.sync_clock("2030-05-05T00:00:00Z")
        def test_sync_clock_marker(sync_clock, sync_server):
            answer = release(sync_server)
            assert (answer.status_code, answer.json()["code"]) == (409, 20409)
            assert "sync_clock" in answer.json()["message"]
            assert sync_clock.now() == START
            requests.post(f"{sync_server.url}/_syncmap/reset", auth=sync_server.auth)
            assert sync_clock.now() == START
            sync_clock.advance(10)
            assert control_clock(sync_server)["now"] == "2030-05-05T00:00:10Z"


        @freeze_time("2030-05-05 00:00:00")
        def test_own_freezegun_over_sync_clock(sync_clock, sync_server):
            assert release(sync_server).status_code == 409
            assert datetime.now(timezone.utc) == START
            sync_clock.advance(60)
            assert control_clock(sync_server)["now"] == "2030-05-05T00:01:00Z"


        def test_a_control_plane_freeze_is_released(sync_server):
            control_clock(sync_server, {"now": "2031-01-01T00:00:00Z"})
            assert control_clock(sync_server, {"frozen": False})["frozen"] is False
            assert datetime.now(timezone.utc).year < 2031
        """,
        passed=3,
    )


def test_a_test_waiting_on_a_subprocess_that_moves_time_does_not_time_out(pytester):
    # Time jumps an hour while the test waits with a 30 s timeout: the wait's timeout
    # runs on real time, not on the test's frozen clock.
    _run(
        pytester,
        """
        import subprocess
        import sys


        def test_it(sync_clock, sync_map, sync_server):
            sync_map.put("k", {"v": 1}, ttl=60)
            script = (
                "import requests, sys; requests.post(sys.argv[1] + '/_syncmap/clock', "
                "auth=(sys.argv[2], sys.argv[3]), json={'advance': 3600}, timeout=10)"
            )
            done = subprocess.run(
                [sys.executable, "-c", script, sync_server.url, *sync_server.auth],
                timeout=30,
                check=True,
            )
            assert done.returncode == 0
            assert "k" not in sync_map
        """,
        passed=1,
    )


# ------------------------------------------------------------ standalone clock
def test_the_settable_clock_moves_in_place():
    clock = SettableClock(start=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert isinstance(clock, TimeControl)
    assert clock.frozen
    clock.advance(timedelta(seconds=30))
    assert clock.now() == datetime(2030, 1, 1, 0, 0, 30, tzinfo=timezone.utc)
    clock.release()
    assert not clock.frozen
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)
    clock.move_to(datetime(2031, 1, 1))  # naive is UTC
    assert clock.now() == datetime(2031, 1, 1, tzinfo=timezone.utc)
    clock.reset()
    assert clock.now() == datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_a_server_made_with_a_fixed_clock_reports_it_frozen():
    with SyncServer(clock=FixedClock(datetime(2030, 1, 1, tzinfo=timezone.utc))) as server:
        assert server.clock.frozen
        assert server.store.clock is server.clock
        assert server.clock.now() == datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_the_store_keeps_the_same_clock_object_through_moves_and_resets():
    with SyncServer() as server:
        clock = server.store.clock
        server.app.control.handle("POST", "/_syncmap/clock", b'{"advance": 60}', server.url)
        assert server.store.clock is clock
        assert clock.frozen
        server.reset()
        assert server.store.clock is clock
        assert not clock.frozen
