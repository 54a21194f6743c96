"""Seat reservations for an event, kept in one Twilio Sync Document per event.

The Document ``seats-<event>`` holds ``{"capacity": N, "seats": {"A1": "alice", ...}}``.
Every box office, app server and kiosk books through it. A booking reads the Document,
checks the seat, and writes the whole new data back with ``If-Match: <revision read>``.
When Twilio answers 412, someone else wrote in between: the booker reads again (the
seat may be gone by now) and retries, a bounded number of times. No booking is lost
and no seat is sold twice, however many bookers race.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


class SeatTaken(Exception):
    """The seat belongs to someone else."""


class SoldOut(Exception):
    """Every seat of the event is booked."""


class TooMuchContention(RuntimeError):
    """Every attempt lost the race to another booker."""


class SeatMap:
    def __init__(
        self, client: Client, service_sid: str, event: str, *, max_attempts: int = 5
    ) -> None:
        self.max_attempts = max_attempts
        self._document = client.sync.v1.services(service_sid).documents(f"seats-{event}")
        #: How many conditional writes lost to another booker (412) so far.
        self.conflicts = 0

    def seats(self) -> dict[str, str]:
        """Seat to holder, as the Document holds it now."""
        return dict(self._document.fetch().data["seats"])

    def book(self, seat: str, user: str) -> None:
        """Book ``seat`` for ``user`` (booking one's own seat again is fine)."""

        def take(data: dict[str, Any]) -> dict[str, Any] | None:
            seats = data["seats"]
            holder = seats.get(seat)
            if holder == user:
                return None  # already ours: nothing to write
            if holder is not None:
                raise SeatTaken(f"{seat} is taken")
            if len(seats) >= data["capacity"]:
                raise SoldOut(f"all {data['capacity']} seats are booked")
            return {**data, "seats": {**seats, seat: user}}

        self._change(take)

    def cancel(self, seat: str, user: str) -> bool:
        """Give ``seat`` back; ``False`` if ``user`` did not hold it."""
        released = False

        def release(data: dict[str, Any]) -> dict[str, Any] | None:
            nonlocal released
            seats = dict(data["seats"])
            released = seats.get(seat) == user
            if not released:
                return None
            del seats[seat]
            return {**data, "seats": seats}

        self._change(release)
        return released

    def _change(self, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        """Read, change, write with If-Match; on 412 read again and retry."""
        for _ in range(self.max_attempts):
            document = self._document.fetch()
            data = change(document.data)
            if data is None:
                return
            try:
                self._document.update(data=data, if_match=document.revision)
            except TwilioRestException as exc:
                if exc.status != 412:
                    raise
                self.conflicts += 1
                continue
            return
        raise TooMuchContention(f"gave up after {self.max_attempts} attempts")
