"""Tests for presence.py: the tracker is used unchanged, against the emulator.

``PresenceTracker`` builds its own ``Client()`` from the environment; the
``sync_map`` fixture (through ``sync_server``) points every twilio client at the
emulator and puts its credentials in the environment. ``sync_clock`` freezes time and
moves it on demand, for the test and the emulator alike: TTLs without sleeping.
"""

from datetime import datetime, timedelta, timezone

import pytest
from presence import Presence, PresenceTracker

START = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
at_start = pytest.mark.sync_clock(START)


@pytest.fixture
def tracker(sync_map):
    return PresenceTracker(sync_map.service_sid, map_name=sync_map.sid, ttl=60)


@at_start
def test_heartbeat_marks_a_user_online_for_the_ttl(tracker, sync_map, sync_clock):
    tracker.heartbeat("alice", device="ios")

    assert sync_map["alice"] == {"status": "online", "device": "ios"}
    sync_map.assert_expires_at("alice", START + timedelta(seconds=60))
    assert tracker.get("alice") == Presence("alice", "online", "ios", START + timedelta(seconds=60))


@at_start
def test_users_drop_out_when_their_heartbeats_stop(tracker, sync_map, sync_clock):
    tracker.heartbeat("alice")
    tracker.heartbeat("bob")

    sync_clock.advance(45)
    tracker.heartbeat("alice", status="away")  # bob's app went quiet
    sync_clock.advance(30)  # bob's item expired at +60 s, alice's runs to +105 s

    assert [p.user_id for p in tracker.online()] == ["alice"]
    assert tracker.get("alice").status == "away"
    assert tracker.get("bob") is None
    sync_map.assert_expired("bob")

    sync_clock.advance(31)
    assert tracker.online() == []


@pytest.mark.sync_map(unique_name="presence", items={"carol": {"status": "dnd", "device": "web"}})
def test_reads_the_map_by_its_unique_name(sync_map):
    tracker = PresenceTracker(sync_map.service_sid)  # map_name defaults to "presence"

    assert tracker.online() == [Presence("carol", "dnd", "web", None)]  # seeded: no TTL
    tracker.heartbeat("dave")
    assert sorted(sync_map) == ["carol", "dave"]


def test_leave_removes_the_user_at_once(tracker, sync_map):
    tracker.heartbeat("alice")

    assert tracker.leave("alice") is True
    assert "alice" not in sync_map
    assert tracker.leave("alice") is False


def test_online_lists_every_page(tracker, sync_map):
    for n in range(130):  # more than one page of 100
        sync_map.put(f"user-{n:03}", {"status": "online"}, ttl=60)

    users = [p.user_id for p in tracker.online()]

    assert users == [f"user-{n:03}" for n in range(130)]
