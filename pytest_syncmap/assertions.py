"""Assertion helpers on a Map whose failures explain themselves.

Each helper raises a plain ``AssertionError`` in the test's own call phase, with a
message that says what was expected, what the emulator holds, and what the clock says.
:class:`MapAssertions` is mixed into :class:`~pytest_syncmap.handles.MapHandle`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .model import ItemRecord, revision_str
from .render import iso
from .timecontrol import parse_instant

if TYPE_CHECKING:
    from .server import SyncServer

__all__ = ["MapAssertions"]


def _show(moment: datetime | None) -> str:
    return iso(moment) or "never"


class MapAssertions:
    """Time-aware assertions about the items of one Map."""

    server: SyncServer
    service_sid: str
    sid: str

    def item(self, key: str) -> ItemRecord | None:  # provided by MapHandle
        raise NotImplementedError

    def _now(self) -> datetime:
        return self.server.store.clock.now()

    def _where(self, key: str) -> str:
        return f"item {key!r} of Map {self.sid}"

    def assert_expires_at(self, key: str, when: datetime | str) -> None:
        """The item exists and its ``date_expires`` is ``when`` (to the second)."""
        expected = parse_instant(when).replace(microsecond=0)
        record = self.item(key)
        now = self._now()
        if record is None:
            raise AssertionError(
                f"{self._where(key)} should expire at {_show(expected)}, but it does not "
                f"exist (clock now {_show(now)})"
            )
        actual = record.date_expires
        if actual is None or actual.replace(microsecond=0) != expected:
            raise AssertionError(
                f"{self._where(key)} should expire at {_show(expected)}, but its "
                f"date_expires is {_show(actual)} (clock now {_show(now)}, revision "
                f"{revision_str(record.revision)})"
            )

    def assert_alive(self, key: str, *, for_at_least: float | timedelta = 0) -> None:
        """The item exists now and will not expire for at least ``for_at_least``."""
        margin = (
            for_at_least
            if isinstance(for_at_least, timedelta)
            else timedelta(seconds=for_at_least)
        )
        record = self.item(key)
        now = self._now()
        if record is None:
            expired = self.server.store.expired_at(self.service_sid, self.sid, key)
            why = f"it expired at {_show(expired)}" if expired else "it does not exist"
            raise AssertionError(
                f"{self._where(key)} should be alive for at least {margin}, but {why} "
                f"(clock now {_show(now)})"
            )
        expires = record.date_expires
        if expires is not None and expires - now < margin:
            left = expires - now
            state = f"has {left} left" if left > timedelta(0) else "has already expired"
            raise AssertionError(
                f"{self._where(key)} should be alive for at least {margin}, but it "
                f"{state}: date_expires {_show(expires)}, clock now {_show(now)}"
            )

    def assert_expired(self, key: str) -> None:
        """The item has expired by now (collected, or lingering past ``date_expires``)."""
        record = self.item(key)
        now = self._now()
        if record is not None:
            expires = record.date_expires
            if expires is not None and expires <= now:
                return  # lingering in lag mode, but expired
            left = "it has no TTL" if expires is None else f"{expires - now} are left"
            raise AssertionError(
                f"{self._where(key)} should have expired, but it is alive: date_expires "
                f"{_show(expires)}, clock now {_show(now)} ({left})"
            )
        if self.server.store.expired_at(self.service_sid, self.sid, key) is None:
            raise AssertionError(
                f"{self._where(key)} should have expired, but it was never there or was "
                f"deleted rather than expired (clock now {_show(now)})"
            )
