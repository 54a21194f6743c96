"""Assertion helpers on a Map whose failures explain themselves.

Each helper raises a plain ``AssertionError`` in the test's own call phase, with a
message that says what was expected, what the emulator holds, and what the clock says.
:class:`MapAssertions` is mixed into :class:`~pytest_syncmap.handles.MapHandle`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pytest_syncmap.domain.clock import parse_instant
from pytest_syncmap.domain.errors import SyncError
from pytest_syncmap.domain.model import ItemRecord, revision_str
from pytest_syncmap.http.journal import Journal, JournalEntry
from pytest_syncmap.http.render import iso

if TYPE_CHECKING:
    from pytest_syncmap.host.server import SyncServer

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

    def _expired_at(self, key: str) -> datetime | bool | None:
        """When expiry collected ``key``; ``True`` if the whole Map is gone."""
        try:
            return self.server.store.expired_at(self.service_sid, self.sid, key)
        except SyncError:
            return True

    # ------------------------------------------------------------ journal
    def _requests(self, key: str | None = None) -> list[JournalEntry]:
        """This Map's requests (however they addressed it), optionally for one key."""
        return self.server.journal.find(map=self, key=key)

    def _closest(self, key: str) -> str:
        for_key = self._requests(key)
        related = for_key or self._requests() or self.server.journal.entries
        which = "requests for this key" if for_key else "latest requests"
        return f"\n{which} (journal):\n" + Journal.table(related, limit=10)

    def assert_item(self, key: str, data: dict[str, Any]) -> None:
        """The item exists and holds exactly ``data``."""
        __tracebackhide__ = True
        record = self.item(key)
        if record is None:
            raise AssertionError(
                f"{self._where(key)} should hold {json.dumps(data)}, but it does not exist"
                + self._closest(key)
            )
        if record.data != data:
            raise AssertionError(
                f"{self._where(key)} should hold {json.dumps(data)}, but it holds "
                f"{record.data_json} (revision {revision_str(record.revision)})"
                + self._closest(key)
            )

    def assert_no_item(self, key: str) -> None:
        """No live item has this key."""
        __tracebackhide__ = True
        record = self.item(key)
        if record is not None:
            raise AssertionError(
                f"{self._where(key)} should not exist, but it holds {record.data_json} "
                f"(revision {revision_str(record.revision)})" + self._closest(key)
            )

    def assert_written(self, key: str, times: int) -> None:
        """Successful creates and updates of ``key`` (through the API) number ``times``."""
        __tracebackhide__ = True
        writes = [
            e
            for e in self._requests(key)
            if e.ok and e.operation in ("CreateSyncMapItem", "UpdateSyncMapItem")
        ]
        if len(writes) != times:
            raise AssertionError(
                f"{self._where(key)} should have been written {times} time(s), but was "
                f"written {len(writes)} time(s)" + self._closest(key)
            )

    def assert_retried_after_conflict(self, key: str) -> None:
        """A conditional write of ``key`` got 412, and a later conditional write succeeded."""
        __tracebackhide__ = True
        entries = self._requests(key)
        conflicts = [i for i, e in enumerate(entries) if e.status == 412]
        if not conflicts:
            raise AssertionError(
                f"{self._where(key)}: expected a conditional write answered 412 and then "
                "retried, but no request for it was answered 412" + self._closest(key)
            )
        later = [
            e for e in entries[conflicts[0] + 1 :] if e.ok and e.is_write and e.if_match is not None
        ]
        if not later:
            raise AssertionError(
                f"{self._where(key)}: a conditional write was answered 412, but no later "
                "conditional write succeeded" + self._closest(key)
            )

    def assert_expires_at(self, key: str, when: datetime | str) -> None:
        """The item exists and its ``date_expires`` is ``when`` (to the second)."""
        __tracebackhide__ = True
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
        __tracebackhide__ = True
        margin = (
            for_at_least if isinstance(for_at_least, timedelta) else timedelta(seconds=for_at_least)
        )
        record = self.item(key)
        now = self._now()
        if record is None:
            expired = self._expired_at(key)
            if expired is True:
                why = "its Map no longer exists (expired or deleted)"
            elif expired:
                why = f"it expired at {_show(expired)}"
            else:
                why = "it does not exist"
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
        __tracebackhide__ = True
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
        if self._expired_at(key) is None:
            raise AssertionError(
                f"{self._where(key)} should have expired, but it was never there or was "
                f"deleted rather than expired (clock now {_show(now)})"
            )
