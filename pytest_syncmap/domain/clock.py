"""The one place the emulator reads "now" from.

Every timestamp the domain model writes (``date_created``, ``date_updated``,
``date_expires``) and every expiry decision goes through a :class:`Clock`. The
default :class:`WallClock` reads ``time.time()`` through the module attribute on every
call, never a cached reference, so ``freezegun.freeze_time`` and
``time_machine.travel`` used in a test move the emulator's "now" too: the server
runs in the same process. Nothing in the server loop uses this clock; sockets and
shutdown stay on real time.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FixedClock", "WallClock", "parse_instant"]


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``now()`` returning an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current instant as an aware UTC datetime."""
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
    """A clock that only moves when told to; handy for the standalone server and tests."""

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
