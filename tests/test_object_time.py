"""Time for every kind: TTLs from the markers and handles, expiry through ``sync_clock``
(a List takes its items with it), and the time assertions with their exact failures.

The time assertions have the same names on every handle: with a key (Map) or an index
(List) they are about an item, without one about the object itself.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import aiohttp  # noqa: F401
import pytest
import twilio.rest  # noqa: F401
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

pytest_plugins = ["pytester"]

START_ISO = "2030-01-01T12:00:00Z"
START = datetime(2030, 1, 1, 12, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def failure(call) -> str:
    with pytest.raises(AssertionError) as info:
        call()
    return re.sub(r"\b(MP|ES|ET|TO)[0-9a-f]{32}\b", r"<\1>", str(info.value))


def service(handle):
    return Client().sync.v1.services(handle.service_sid)


# ----------------------------------------------------------------- expiry
@pytest.mark.sync_clock(START_ISO)
@pytest.mark.sync_document(unique_name="call", data={"s": 1}, ttl=60)
def test_a_document_expires(sync_document, sync_clock):
    sync_document.assert_expires_at(at(60))
    sync_document.assert_alive(for_at_least=60)
    sync_clock.advance(59)
    assert service(sync_document).documents("call").fetch().data == {"s": 1}
    sync_clock.advance(1)
    with pytest.raises(TwilioRestException) as gone:
        service(sync_document).documents("call").fetch()
    assert gone.value.status == 404
    assert (sync_document.exists, sync_document.data, sync_document.revision) == (
        False,
        None,
        None,
    )
    sync_document.assert_expired()
    assert repr(sync_document).endswith("unique_name='call' expired at 2030-01-01T12:01:00Z>")


@pytest.mark.sync_clock(START_ISO)
def test_a_document_ttl_set_by_its_handle(sync_document, sync_clock):
    sync_document.update(ttl=30)
    sync_document.assert_expires_at("2030-01-01T12:00:30Z")
    sync_clock.advance(30)
    sync_document.assert_expired()


@pytest.mark.sync_clock(START_ISO)
@pytest.mark.sync_list(unique_name="chat", ttl=60)
def test_a_list_expires_with_its_items(sync_list, sync_clock):
    sync_list.append({"n": 0})
    sync_list.append({"n": 1}, ttl=3600)  # outlives its List on its own
    sync_list.assert_expires_at(1, at(3600))
    sync_list.assert_alive(1, for_at_least=60)
    # the item's own TTL is longer, but its List takes it first
    assert failure(lambda: sync_list.assert_alive(1, for_at_least=600)) == (
        "item 1 of List <ES> should be alive for at least 0:10:00, but it has 0:01:00 left: "
        "its List's date_expires 2030-01-01T12:01:00Z, clock now 2030-01-01T12:00:00Z"
    )
    assert failure(lambda: sync_list.assert_expired(0)) == (
        "item 0 of List <ES> should have expired, but it is alive: its List's date_expires "
        "2030-01-01T12:01:00Z, clock now 2030-01-01T12:00:00Z (0:01:00 are left)"
    )
    sync_list.assert_expires_at(at(60))
    sync_clock.advance(60)
    items = service(sync_list).sync_lists("chat").sync_list_items
    with pytest.raises(TwilioRestException) as gone:
        items(1).fetch()
    assert gone.value.status == 404
    assert (len(sync_list), list(sync_list), sync_list.indexes) == (0, [], [])
    sync_list.assert_expired()
    sync_list.assert_expired(0)  # an item of an expired List has expired with it
    sync_list.assert_expired(1)
    assert failure(lambda: sync_list.assert_alive(1)) == (
        "item 1 of List <ES> should be alive for at least 0:00:00, but its List expired at "
        "2030-01-01T12:01:00Z (clock now 2030-01-01T12:01:00Z)"
    )


@pytest.mark.sync_clock(START_ISO)
def test_a_list_item_expires_and_leaves_a_gap(sync_list, sync_clock):
    for n in range(3):
        sync_list.append({"n": n}, ttl=30 if n == 1 else None)
    sync_list.assert_expires_at(1, at(30))
    sync_clock.advance(30)
    assert sync_list.indexes == [0, 2]
    assert list(sync_list) == [{"n": 0}, {"n": 2}]
    sync_list.assert_expired(1)
    sync_list.assert_alive()  # the List itself has no TTL
    assert sync_list.append({"n": 3}).index == 3


@pytest.mark.sync_clock(START_ISO)
@pytest.mark.sync_stream(unique_name="typing", ttl=10)
def test_a_stream_expires(sync_stream, sync_clock):
    sync_stream.publish({"n": 1})
    sync_stream.assert_expires_at(at(10))
    sync_clock.advance(10)
    with pytest.raises(TwilioRestException) as gone:
        service(sync_stream).sync_streams("typing").stream_messages.create(data={"n": 2})
    assert gone.value.status == 404
    sync_stream.assert_expired()
    assert sync_stream.published == [{"n": 1}]


@pytest.mark.sync_clock(START_ISO)
@pytest.mark.sync_map(ttl=60, items={"k": {}})
def test_a_map_itself_without_a_key(sync_map, sync_clock):
    sync_map.assert_expires_at(at(60))
    sync_map.assert_expires_at(None, at(60))  # key=None: the Map itself
    sync_map.assert_alive(for_at_least=60)
    sync_clock.advance(60)
    sync_map.assert_expired()
    sync_map.assert_expired("k")


@pytest.mark.sync_clock(START_ISO)
@pytest.mark.sync_document(ttl=60)
def test_expired_objects_linger_in_lag_mode(sync_document, sync_server, sync_clock):
    sync_server.expiry_lag = 30
    sync_clock.advance(70)
    assert sync_document.exists  # still readable, with date_expires in the past
    sync_document.assert_expired()
    assert failure(sync_document.assert_alive) == (
        "Document <ET> should be alive for at least 0:00:00, but it has already expired: "
        "date_expires 2030-01-01T12:01:00Z, clock now 2030-01-01T12:01:10Z"
    )


EXPIRY_SUITE = """
import pytest

START = "2030-01-01T12:00:00Z"


@pytest.mark.sync_clock(START)
@pytest.mark.sync_list(unique_name="chat", items=[{"n": 1}], ttl=60)
@pytest.mark.sync_document(unique_name="call", ttl=60)
@pytest.mark.sync_stream(unique_name="typing", ttl=60)
def test_everything_expires(sync_clock, sync_list, sync_document, sync_stream):
    sync_clock.advance(60)
    for handle in (sync_list, sync_document, sync_stream):
        handle.assert_expired()


@pytest.mark.sync_clock(START)
@pytest.mark.sync_list(unique_name="chat", items=[{"n": 1}])
@pytest.mark.sync_document(unique_name="call")
@pytest.mark.sync_stream(unique_name="typing")
def test_the_next_test_starts_afresh(sync_list, sync_document, sync_stream):
    for handle in (sync_list, sync_document, sync_stream):
        handle.assert_alive(for_at_least=10**6)
    assert list(sync_list) == [{"n": 1}]
"""


def test_expiry_does_not_reach_the_next_test(pytester):
    pytester.makepyfile(EXPIRY_SUITE)
    pytester.runpytest().assert_outcomes(passed=2)


# ------------------------------------------------------------ golden texts
@pytest.mark.sync_clock(START_ISO)
@pytest.mark.sync_document(ttl=60)
def test_golden_document_time_assertions(sync_document, sync_clock):
    assert failure(lambda: sync_document.assert_expires_at(at(120))) == (
        "Document <ET> should expire at 2030-01-01T12:02:00Z, but its date_expires is "
        "2030-01-01T12:01:00Z (clock now 2030-01-01T12:00:00Z, revision 0)"
    )
    assert failure(lambda: sync_document.assert_alive(for_at_least=90)) == (
        "Document <ET> should be alive for at least 0:01:30, but it has 0:01:00 left: "
        "date_expires 2030-01-01T12:01:00Z, clock now 2030-01-01T12:00:00Z"
    )
    assert failure(sync_document.assert_expired) == (
        "Document <ET> should have expired, but it is alive: date_expires "
        "2030-01-01T12:01:00Z, clock now 2030-01-01T12:00:00Z (0:01:00 are left)"
    )
    sync_clock.advance(61)
    assert failure(sync_document.assert_alive) == (
        "Document <ET> should be alive for at least 0:00:00, but it expired at "
        "2030-01-01T12:01:00Z (clock now 2030-01-01T12:01:01Z)"
    )
    assert failure(lambda: sync_document.assert_expires_at(at(60))) == (
        "Document <ET> should expire at 2030-01-01T12:01:00Z, but it does not exist "
        "(clock now 2030-01-01T12:01:01Z)"
    )


@pytest.mark.sync_clock(START_ISO)
def test_golden_deleted_is_not_expired(sync_document, sync_stream, sync_list, sync_map):
    sync_list.append({})
    sync_map.put("k", {})
    sync_document.delete()
    sync_stream.delete()
    sync_list.server.store.lists.delete(sync_list.service_sid, sync_list.sid)
    sync_map.server.store.maps.delete(sync_map.service_sid, sync_map.sid)
    assert failure(sync_document.assert_expired) == (
        "Document <ET> should have expired, but it was deleted rather than expired "
        "(clock now 2030-01-01T12:00:00Z)"
    )
    assert failure(sync_stream.assert_alive) == (
        "Stream <TO> should be alive for at least 0:00:00, but it does not exist (deleted, "
        "not expired) (clock now 2030-01-01T12:00:00Z)"
    )
    assert failure(lambda: sync_list.assert_expired(0)) == (
        "item 0 of List <ES> should have expired, but its List was deleted rather than "
        "expired (clock now 2030-01-01T12:00:00Z)"
    )
    assert failure(lambda: sync_map.assert_alive("k")) == (
        "item 'k' of Map <MP> should be alive for at least 0:00:00, but its Map was deleted "
        "(clock now 2030-01-01T12:00:00Z)"
    )
    assert failure(sync_map.assert_expired) == (
        "Map <MP> should have expired, but it was deleted rather than expired "
        "(clock now 2030-01-01T12:00:00Z)"
    )


@pytest.mark.sync_clock(START_ISO)
@pytest.mark.sync_stream(ttl=30)
def test_golden_stream_time_assertions_show_no_revision(sync_stream):
    assert failure(lambda: sync_stream.assert_expires_at("2030-01-01T12:00:31Z")) == (
        "Stream <TO> should expire at 2030-01-01T12:00:31Z, but its date_expires is "
        "2030-01-01T12:00:30Z (clock now 2030-01-01T12:00:00Z)"
    )


@pytest.mark.sync_clock(START_ISO)
def test_golden_list_time_assertions(sync_list, sync_clock):
    sync_list.append({"n": 0}, ttl=30)
    sync_list.append({"n": 1})
    assert failure(lambda: sync_list.assert_expires_at(1, at(30))) == (
        "item 1 of List <ES> should expire at 2030-01-01T12:00:30Z, but its date_expires is "
        "never (clock now 2030-01-01T12:00:00Z, revision 2)"
    )
    assert failure(lambda: sync_list.assert_expires_at(at(30))) == (
        "List <ES> should expire at 2030-01-01T12:00:30Z, but its date_expires is never "
        "(clock now 2030-01-01T12:00:00Z, revision 2)"
    )
    assert failure(lambda: sync_list.assert_expired(1)) == (
        "item 1 of List <ES> should have expired, but it is alive: date_expires never, "
        "clock now 2030-01-01T12:00:00Z (it has no TTL)"
    )
    sync_clock.advance(31)
    assert failure(lambda: sync_list.assert_alive(0)) == (
        "item 0 of List <ES> should be alive for at least 0:00:00, but it expired at "
        "2030-01-01T12:00:30Z (clock now 2030-01-01T12:00:31Z)"
    )
    assert failure(lambda: sync_list.assert_expired(5)) == (
        "item 5 of List <ES> should have expired, but it was never there or was deleted "
        "rather than expired (clock now 2030-01-01T12:00:31Z)"
    )
    assert failure(lambda: sync_list.assert_alive(5)) == (
        "item 5 of List <ES> should be alive for at least 0:00:00, but it does not exist "
        "(clock now 2030-01-01T12:00:31Z)"
    )


def test_time_assertions_in_a_users_failing_test(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sync_clock("2030-01-01T12:00:00Z")
        @pytest.mark.sync_document(ttl=60)
        def test_session_outlives_an_hour(sync_document):
            sync_document.assert_alive(for_at_least=3600)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * Document ET* should be alive for at least 1:00:00, but it has 0:01:00 left: "
            "date_expires 2030-01-01T12:01:00Z, clock now 2030-01-01T12:00:00Z",
        ]
    )
