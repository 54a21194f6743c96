"""The one place the emulator reads "now" from.

Every timestamp the domain model writes (``date_created``, ``date_updated``,
``date_expires``) and every expiry decision goes through a :class:`Clock`. The
default :class:`WallClock` reads ``time.time()`` through the module attribute on every
call, never a cached reference, so ``freezegun.freeze_time`` and
``time_machine.travel`` used in a test move the emulator's "now" too: the server
runs in the same process. Nothing in the server loop uses this clock; sockets and
shutdown stay on real time.

**One clock.** An emulator reads one :class:`SettableClock`, and everything that moves
time moves what it reads, never a copy: in a test it follows the process clock, which
``sync_clock``, freezegun and time-machine move (and which the control plane moves
through ``sync_clock``); standalone, the control plane sets it. Anything that moves
time does so through the :class:`TimeControl` protocol.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

__all__ = [
    "EARLIEST",
    "LATEST",
    "Clock",
    "FixedClock",
    "SettableClock",
    "TimeControl",
    "WallClock",
    "check_settable",
    "parse_instant",
]

#: The instants the emulator's clock can be set to. Every date Twilio renders has four
#: digits of year, and an object made at the latest instant with the longest TTL (a
#: year) must still expire at a date Python can hold.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9998, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def check_settable(instant: datetime) -> datetime:
    """``instant`` if the emulator's clock can be set to it, else ``ValueError``."""
    if not EARLIEST <= instant <= LATEST:
        shown = instant.isoformat().replace("+00:00", "Z")
        raise ValueError(
            f"the clock cannot be set to {shown}: it can be set between "
            "1970-01-01T00:00:00Z and 9998-12-31T23:59:59Z"
        )
    return instant


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``now()`` returning an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current instant as an aware UTC datetime."""
        ...


@runtime_checkable
class TimeControl(Protocol):
    """What moves an emulator's time (the control plane's ``/_syncmap/clock``).

    :class:`SettableClock` is one (standalone); the plugin's ``SyncClock`` is the
    other (in a test, it moves the process clock that the emulator follows).
    """

    @property
    def frozen(self) -> bool:
        """Whether time stands still until moved."""
        ...

    def now(self) -> datetime:
        """The current instant, aware UTC."""
        ...

    def move_to(self, instant: datetime) -> datetime:
        """Stop time at ``instant``; returns the new now."""
        ...

    def advance(self, delta: timedelta) -> datetime:
        """Stop time at now + ``delta``; returns the new now."""
        ...

    def release(self) -> None:
        """Let time run again (back to the source it follows)."""
        ...

    def reset(self) -> None:
        """Undo what the control plane did (``POST /_syncmap/reset``)."""
        ...


class WallClock:
    """The process's wall clock, read afresh on every call (follows freezegun/time-machine)."""

    def now(self) -> datetime:
        """Return ``time.time()`` as an aware UTC datetime."""
        # Looked up through the module on purpose: freezegun swaps ``time.time``.
        return datetime.fromtimestamp(time.time(), tz=timezone.utc)

    def __repr__(self) -> str:
        return "WallClock()"


class FixedClock:
    """A clock that only moves when told to (:meth:`set`); handy in tests.

    An emulator made with one wraps it in a :class:`SettableClock`, which the control
    plane moves.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        """Return the instant this clock is set to."""
        return self._now

    def set(self, instant: datetime) -> None:
        """Move the clock to ``instant`` (naive datetimes are taken as UTC)."""
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=timezone.utc)
        self._now = instant.astimezone(timezone.utc)

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"


class SettableClock:
    """The emulator's one clock: follows ``source`` (the wall clock) until it is set.

    Setting it (:meth:`move_to`, :meth:`advance`) stops it at an instant; it stays
    there until moved again, released (:meth:`release`: back to the source) or reset
    (back to how it was made: ``start``, or the source). It is mutated, never
    replaced, so whoever holds it sees every move.
    """

    def __init__(self, source: Clock | None = None, *, start: datetime | None = None) -> None:
        self.source: Clock = source if source is not None else WallClock()
        self._start = None if start is None else check_settable(parse_instant(start))
        self._pinned = self._start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The pinned instant, or the source's now."""
        pinned = self._pinned
        return pinned if pinned is not None else self.source.now()

    @property
    def frozen(self) -> bool:
        """Whether the clock stands at a set instant (or follows a frozen source)."""
        return self._pinned is not None or isinstance(self.source, FixedClock)

    def move_to(self, instant: datetime) -> datetime:
        """Stop the clock at ``instant`` (naive = UTC; ``ValueError`` outside
        :data:`EARLIEST`..:data:`LATEST`)."""
        self._pinned = check_settable(parse_instant(instant))
        return self._pinned

    def advance(self, delta: timedelta) -> datetime:
        """Stop the clock at now + ``delta`` (``ValueError`` outside the settable range)."""
        with self._lock:
            try:
                moved = self.now() + delta
            except OverflowError:
                raise ValueError(f"the clock cannot move {delta} from {self.now()}") from None
            self._pinned = check_settable(moved)
            return self._pinned

    def release(self) -> None:
        """Follow the source again."""
        self._pinned = None

    def reset(self) -> None:
        """Back to how the clock was made."""
        self._pinned = self._start

    def __repr__(self) -> str:
        state = (
            f"set to {self._pinned.isoformat()}" if self._pinned else f"following {self.source!r}"
        )
        return f"SettableClock({state})"


def parse_instant(value: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime (naive = UTC) or an ISO 8601 string."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"cannot read {value!r} as an instant; use ISO 8601, e.g. '2025-01-31T12:00:00Z'"
            ) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
