"""Tests for seat_booking.py: a shared Document updated with If-Match and retries.

The emulator enforces If-Match on Documents like Twilio (412, error 54103), so every
retry path runs for real. A lost race is made deterministic two ways: with the
emulator's faults (``sync_faults.conflict`` / ``race`` on the Document, or the
``sync_fault`` marker), and by letting another booker (a second ``SeatMap`` with its
own ``Client``, in its own thread) book right before our conditional write, through
twilio's own ``http_client`` extension point. Bookers racing in threads show that no
booking is ever lost. The ``sync_document`` handle
checks the outcome (``assert_data``, ``assert_written``,
``assert_retried_after_conflict``) and arranges state without HTTP (``update``).
"""

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from seat_booking import SeatMap, SeatTaken, SoldOut, TooMuchContention
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

GALA = {"capacity": 4, "seats": {"A1": "ann"}}
gala = pytest.mark.sync_document(unique_name="seats-gala", data=GALA)


def seat_map(sync_document, client=None, **options):
    return SeatMap(client or Client(), sync_document.service_sid, "gala", **options)


class BeforeEachConditionalWrite(TwilioHttpClient):
    """Runs ``compete`` right before each of our next ``times`` If-Match writes."""

    def __init__(self, compete: Callable[[], None], times: int) -> None:
        super().__init__()
        self.compete, self.times = compete, times

    def request(self, method, url, params=None, data=None, headers=None, **kwargs):
        if method == "POST" and headers and "If-Match" in headers and self.times > 0:
            self.times -= 1
            self.compete()
        return super().request(method, url, params, data, headers, **kwargs)


def client_with(http_client):
    return Client(
        os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"], http_client=http_client
    )


def another_booker(sync_document, seat, user):
    """A real second booker, booking through its own client in its own thread."""

    def compete():
        other = threading.Thread(target=seat_map(sync_document).book, args=(seat, user))
        other.start()
        other.join()

    return compete


@gala
def test_booking_a_free_seat(sync_document):
    seat_map(sync_document).book("B2", "bob")
    sync_document.assert_data({"capacity": 4, "seats": {"A1": "ann", "B2": "bob"}})
    sync_document.assert_written(1)


@gala
def test_a_taken_seat_is_refused_and_nothing_is_written(sync_document):
    seats = seat_map(sync_document)
    with pytest.raises(SeatTaken):
        seats.book("A1", "bob")
    seats.book("A1", "ann")  # one's own seat: nothing to do
    sync_document.assert_written(0)
    assert sync_document.revision == "0"


@gala
def test_a_lost_race_is_retried_on_fresh_data(sync_document):
    bob = another_booker(sync_document, "C3", "cat")
    seats = seat_map(sync_document, client_with(BeforeEachConditionalWrite(bob, times=1)))

    seats.book("B2", "bob")

    assert seats.conflicts == 1
    sync_document.assert_retried_after_conflict()
    sync_document.assert_data({"capacity": 4, "seats": {"A1": "ann", "C3": "cat", "B2": "bob"}})


@gala
def test_losing_the_race_for_the_same_seat(sync_document, sync_server):
    rival = another_booker(sync_document, "B2", "cat")
    seats = seat_map(sync_document, client_with(BeforeEachConditionalWrite(rival, times=1)))

    with pytest.raises(SeatTaken):  # the retry reads again and sees cat's booking
        seats.book("B2", "bob")

    assert sync_document.data["seats"]["B2"] == "cat"
    conflict = sync_server.journal.last(kind="document", status=412)
    assert (conflict.code, conflict.if_match) == (54103, "0")


@gala
def test_a_412_is_retried(sync_document, sync_faults):
    sync_faults.conflict(document=sync_document)  # the next conditional write gets 412
    seats = seat_map(sync_document)

    seats.book("B2", "bob")

    assert seats.conflicts == 1
    sync_document.assert_retried_after_conflict()
    sync_document.assert_written(1)


@gala
def test_a_race_the_emulator_makes(sync_document, sync_faults):
    # another writer really books C3 just before our conditional write lands
    sync_faults.race(
        document=sync_document, data={"capacity": 4, "seats": {"A1": "ann", "C3": "cat"}}
    )

    seat_map(sync_document).book("B2", "bob")

    sync_document.assert_data({"capacity": 4, "seats": {"A1": "ann", "C3": "cat", "B2": "bob"}})
    sync_document.assert_retried_after_conflict()


@gala
@pytest.mark.sync_fault(
    "race", document="seats-gala", data={"capacity": 4, "seats": {"A1": "ann", "B2": "cat"}}
)
def test_the_race_marker_losing_the_seat(sync_document):
    with pytest.raises(SeatTaken):
        seat_map(sync_document).book("B2", "bob")
    assert sync_document.data["seats"]["B2"] == "cat"


@gala
def test_gives_up_when_every_attempt_conflicts(sync_document):
    def meddle():  # someone rewrites the Document before each of our writes
        sync_document.update({**sync_document.data, "note": sync_document.revision})

    seats = seat_map(
        sync_document, client_with(BeforeEachConditionalWrite(meddle, times=100)), max_attempts=3
    )
    with pytest.raises(TooMuchContention, match="after 3 attempts"):
        seats.book("B2", "bob")
    assert seats.conflicts == 3
    assert "B2" not in sync_document.data["seats"]
    sync_document.assert_written(0)  # meddle writes through the handle, not the API


@pytest.mark.sync_document(unique_name="seats-gala", data={"capacity": 50, "seats": {}})
def test_bookers_racing_in_threads_lose_no_booking(sync_document):
    bookers = 8
    barrier = threading.Barrier(bookers)

    def book(n):
        seats = seat_map(sync_document, max_attempts=100)  # its own Client()
        barrier.wait()
        seats.book(f"R{n}", f"user-{n}")
        return seats.conflicts

    with ThreadPoolExecutor(bookers) as pool:
        conflicts = sum(pool.map(book, range(bookers)))

    assert sync_document.data["seats"] == {f"R{n}": f"user-{n}" for n in range(bookers)}
    sync_document.assert_written(bookers)
    assert int(sync_document.revision) == bookers
    if conflicts:
        sync_document.assert_retried_after_conflict()


@pytest.mark.sync_document(unique_name="seats-gala", data={"capacity": 50, "seats": {}})
def test_one_seat_many_bookers_one_winner(sync_document):
    bookers = 6
    barrier = threading.Barrier(bookers)

    def book(n):
        barrier.wait()
        try:
            seat_map(sync_document, max_attempts=100).book("A1", f"user-{n}")
        except SeatTaken:
            return None
        return f"user-{n}"

    with ThreadPoolExecutor(bookers) as pool:
        winners = [w for w in pool.map(book, range(bookers)) if w is not None]

    assert len(winners) == 1
    sync_document.assert_data({"capacity": 50, "seats": {"A1": winners[0]}})


@pytest.mark.sync_document(unique_name="seats-gala", data={"capacity": 2, "seats": {"A1": "ann"}})
def test_sold_out_and_cancel(sync_document):
    seats = seat_map(sync_document)
    seats.book("A2", "bob")
    with pytest.raises(SoldOut):
        seats.book("A3", "cat")
    assert not seats.cancel("A2", "cat")
    assert seats.cancel("A2", "bob")
    seats.book("A3", "cat")
    assert seats.seats() == {"A1": "ann", "A3": "cat"}
    sync_document.assert_written(3)
