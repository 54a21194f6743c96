"""Tests for session_store.py: the store talks to the emulator through its own Client.

The ``sync_map`` marker creates the ``sessions`` Map the store expects and seeds it;
``sync_clock`` moves the clock the emulator uses for TTLs, so nothing sleeps.
"""

from datetime import datetime, timedelta, timezone

import pytest
from session_store import Session, SessionStore

START = datetime(2030, 6, 1, 9, 0, tzinfo=timezone.utc)
SEEDED = {
    "s-alice-laptop": {"user_id": "alice", "data": {"cart": ["book"]}},
    "s-alice-phone": {"user_id": "alice", "data": {}},
    "s-bob": {"user_id": "bob", "data": {"theme": "dark"}},
}
sessions_map = pytest.mark.sync_map(unique_name="sessions", items=SEEDED)


@pytest.fixture
def store(sync_map):
    return SessionStore(sync_map.service_sid, idle_timeout=30 * 60)


@sessions_map
def test_reads_seeded_sessions(store):
    assert store.get("s-bob") == Session("s-bob", "bob", {"theme": "dark"}, None)
    assert store.get("s-nobody") is None


@sessions_map
@pytest.mark.sync_clock(START)
def test_create_then_get(store, sync_map, sync_clock):
    session = store.create("carol", {"locale": "fr"})

    assert session.user_id == "carol"
    assert session.expires_at == START + timedelta(minutes=30)
    assert len(session.id) >= 32
    assert sync_map[session.id] == {"user_id": "carol", "data": {"locale": "fr"}}
    assert store.get(session.id) == session
    assert store.create("carol").id != session.id


@sessions_map
@pytest.mark.sync_clock(START)
def test_touch_restarts_the_idle_timeout(store, sync_map, sync_clock):
    session = store.create("carol", {"cart": ["pen"]})
    sync_clock.advance(minutes=20)

    touched = store.touch(session.id)
    assert touched.expires_at == START + timedelta(minutes=50)
    assert touched.data == {"cart": ["pen"]}  # a TTL-only update keeps the data

    sync_clock.advance(minutes=29)
    sync_map.assert_alive(session.id, for_at_least=60)
    sync_clock.advance(minutes=2)  # 31 idle minutes
    sync_map.assert_expired(session.id)
    assert store.get(session.id) is None
    assert store.touch(session.id) is None


@sessions_map
def test_destroy(store, sync_map):
    assert store.destroy("s-bob") is True
    assert "s-bob" not in sync_map
    assert store.destroy("s-bob") is False


@sessions_map
def test_destroy_all_logs_a_user_out_everywhere(store, sync_map):
    assert store.destroy_all("alice") == 2
    assert list(sync_map) == ["s-bob"]
    assert store.destroy_all("alice") == 0
