"""Assertion helpers on every handle, whose failures explain themselves.

Each helper raises a plain ``AssertionError`` in the test's own call phase, with a
message that says what was expected, what the emulator holds, what the clock says and,
for what requests can change, the closest requests of the journal.

The names are the same on every kind. Item-level helpers take a key (Map) or an index
(List); object-level ones take none (Documents, Streams), and on a Map or List the time
helpers mean the object itself when no key is given (``sync_list.assert_expired()``).
One engine does the work (:class:`Subject` and the ``_check_*`` functions); the mixins
below only say what a subject is for their kind:

* :class:`ItemAssertions` (Maps and Lists): ``assert_item``, ``assert_no_item``,
  ``assert_written``, ``assert_retried_after_conflict``, ``assert_expires_at``,
  ``assert_alive``, ``assert_expired``;
* :class:`DocumentAssertions`: ``assert_data``, ``assert_written``,
  ``assert_retried_after_conflict`` and the three time helpers, without a key;
* :class:`StreamAssertions`: ``assert_published``, ``assert_not_published`` and the
  three time helpers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from pytest_syncmap.domain.clock import parse_instant
from pytest_syncmap.domain.errors import SyncError
from pytest_syncmap.domain.model import StreamMessage, revision_str
from pytest_syncmap.http.journal import Journal, JournalEntry
from pytest_syncmap.http.render import iso

if TYPE_CHECKING:
    from pytest_syncmap.host.server import SyncServer

__all__ = [
    "DocumentAssertions",
    "Fate",
    "ItemAssertions",
    "StreamAssertions",
    "Subject",
]

K = TypeVar("K", str, int)
Instant = datetime | str


def _show(moment: datetime | None) -> str:
    return iso(moment) or "never"


def _margin(for_at_least: float | timedelta) -> timedelta:
    if isinstance(for_at_least, timedelta):
        return for_at_least
    return timedelta(seconds=for_at_least)


# --------------------------------------------------------------- the engine
@dataclass(frozen=True)
class Fate:
    """How a subject that is not there any more went away."""

    #: When expiry took it (or the object holding it); ``None``: it did not expire.
    expired_at: datetime | None
    #: Why it is not alive, for a message: ``it expired at ...``, ``it does not exist``.
    gone: str
    #: Why it does not count as expired, when ``expired_at`` is ``None``.
    not_expired: str = ""


@dataclass(frozen=True)
class Subject:
    """What one assertion is about: an item, or an object itself."""

    #: How messages name it: ``item 'k' of Map MP...``, ``Document ET...``.
    where: str
    #: Its live record (``date_expires``, ``revision``, data), ``None`` once it is gone.
    record: Any
    #: How it went away (asked only when ``record`` is ``None``).
    fate: Callable[[], Fate]
    #: Whether its kind counts revisions (a Stream shows none).
    revisions: bool = True
    #: The object holding an item (``List``) and its ``date_expires``, when the object
    #: will expire first and take the item with it.
    holder: tuple[str, datetime] | None = None

    def expires(self) -> tuple[datetime | None, str]:
        """When it goes, whichever comes first of its own expiry and its holder's, and
        how to name that date (``date_expires``, ``its List's date_expires``)."""
        own = self.record.date_expires
        if self.holder is not None and (own is None or self.holder[1] < own):
            return self.holder[1], f"its {self.holder[0]}'s date_expires"
        return own, "date_expires"

    def revision(self) -> str:
        """``, revision 3`` for the messages, or nothing for a Stream."""
        return f", revision {revision_str(self.record.revision)}" if self.revisions else ""


def _check_expires_at(subject: Subject, when: Instant, now: datetime) -> None:
    __tracebackhide__ = True
    expected = parse_instant(when).replace(microsecond=0)
    record = subject.record
    if record is None:
        raise AssertionError(
            f"{subject.where} should expire at {_show(expected)}, but it does not exist "
            f"(clock now {_show(now)})"
        )
    actual = record.date_expires
    if actual is None or actual.replace(microsecond=0) != expected:
        raise AssertionError(
            f"{subject.where} should expire at {_show(expected)}, but its date_expires is "
            f"{_show(actual)} (clock now {_show(now)}{subject.revision()})"
        )


def _check_alive(subject: Subject, margin: timedelta, now: datetime) -> None:
    __tracebackhide__ = True
    record = subject.record
    if record is None:
        raise AssertionError(
            f"{subject.where} should be alive for at least {margin}, but "
            f"{subject.fate().gone} (clock now {_show(now)})"
        )
    expires, named = subject.expires()
    if expires is not None and expires - now < margin:
        left = expires - now
        state = f"has {left} left" if left > timedelta(0) else "has already expired"
        raise AssertionError(
            f"{subject.where} should be alive for at least {margin}, but it {state}: "
            f"{named} {_show(expires)}, clock now {_show(now)}"
        )


def _check_expired(subject: Subject, now: datetime) -> None:
    __tracebackhide__ = True
    record = subject.record
    if record is not None:
        expires, named = subject.expires()
        if expires is not None and expires <= now:
            return  # lingering in lag mode, but expired
        left = "it has no TTL" if expires is None else f"{expires - now} are left"
        raise AssertionError(
            f"{subject.where} should have expired, but it is alive: {named} "
            f"{_show(expires)}, clock now {_show(now)} ({left})"
        )
    fate = subject.fate()
    if fate.expired_at is None:
        raise AssertionError(
            f"{subject.where} should have expired, but {fate.not_expired} (clock now {_show(now)})"
        )


# ------------------------------------------------------------ shared base
class _Assertions:
    """What every kind's assertions share: the clock, the object's fate, the journal."""

    #: ``map``, ``list``, ``document`` or ``stream`` (as the journal names kinds).
    kind: ClassVar[str]
    #: The kind's name in messages (``Map``, ``List``, ``Document``, ``Stream``).
    noun: ClassVar[str]
    #: What addresses an item, in messages and journal entries (``key``, ``index``).
    item_word: ClassVar[str] = "key"
    #: Whether the object shows a revision (a Stream shows none).
    shows_revision: ClassVar[bool] = True
    #: Operation ids that write what the assertions are about, and that may be
    #: answered 412 (conditional writes).
    write_operations: ClassVar[frozenset[str]] = frozenset()
    #: Operation ids counted by ``assert_written`` (creates and updates).
    counted_writes: ClassVar[frozenset[str]] = frozenset()

    server: SyncServer
    service_sid: str
    sid: str

    def _now(self) -> datetime:
        return self.server.store.clock.now()

    def _live(self) -> Any:  # provided by the handle: the record, or None once gone
        raise NotImplementedError

    def _objects(self) -> Any:  # provided by the handle: ``store.maps`` etc.
        raise NotImplementedError

    def _object_fate(self, *, own: bool = True) -> Fate:
        """How the object went away; ``own=False`` words it for one of its items."""
        whose = "it" if own else f"its {self.noun}"
        try:
            at = self._objects().expired_at(self.service_sid, self.sid)
        except SyncError:
            return Fate(
                None,
                "its Service no longer exists",
                "its Service was deleted rather than expired",
            )
        if at is not None:
            return Fate(at, f"{whose} expired at {_show(at)}")
        gone = "it does not exist (deleted, not expired)" if own else f"{whose} was deleted"
        return Fate(None, gone, f"{whose} was deleted rather than expired")

    def _object_subject(self) -> Subject:
        return Subject(
            f"{self.noun} {self.sid}",
            self._live(),
            self._object_fate,
            revisions=self.shows_revision,
        )

    # ------------------------------------------------------------ journal
    def _requests(self, key: Any = None) -> list[JournalEntry]:
        """This object's requests, however they addressed it (SID or unique name), and
        optionally only those about one item (its key or index), in the journal's words
        (``find(list=handle, index=3)``)."""
        criteria: dict[str, Any] = {self.kind: self}
        if key is not None:
            criteria[self.item_word] = key
        return self.server.journal.find(**criteria)

    def _closest(self, key: Any = None) -> str:
        """The requests closest to what failed: for the item, else for the object, else
        the latest ones."""
        found: list[JournalEntry] = []
        if key is not None:
            found = self._requests(key)
            which = f"requests for this {self.item_word}"
            if not found:
                found = self._requests() or self.server.journal.entries
                which = "latest requests"
        else:
            found = self._requests()
            which = f"requests for this {self.noun}"
            if not found:
                found = self.server.journal.entries
                which = "latest requests"
        return f"\n{which} (journal):\n" + Journal.table(found, limit=10)

    def _check_written(self, where: str, key: Any, times: int) -> None:
        __tracebackhide__ = True
        writes = [e for e in self._requests(key) if e.ok and e.operation in self.counted_writes]
        if len(writes) != times:
            raise AssertionError(
                f"{where} should have been written {times} time(s), but was written "
                f"{len(writes)} time(s)" + self._closest(key)
            )

    def _check_retried(self, where: str, key: Any) -> None:
        __tracebackhide__ = True
        entries = self._requests(key)
        conflicts = [i for i, e in enumerate(entries) if e.status == 412]
        if not conflicts:
            raise AssertionError(
                f"{where}: expected a conditional write answered 412 and then retried, but "
                "no request for it was answered 412" + self._closest(key)
            )
        later = [
            e
            for e in entries[conflicts[0] + 1 :]
            if e.ok and e.operation in self.write_operations and e.if_match is not None
        ]
        if not later:
            raise AssertionError(
                f"{where}: a conditional write was answered 412, but no later conditional "
                "write succeeded" + self._closest(key)
            )


# --------------------------------------------------------- Maps and Lists
class ItemAssertions(_Assertions, Generic[K]):
    """Assertions about the items of a Map (by key) or a List (by index), or the object."""

    def item(self, key: K) -> Any:  # provided by the handle
        raise NotImplementedError

    def _item_where(self, key: K) -> str:
        return f"item {key!r} of {self.noun} {self.sid}"

    def _item_fate(self, key: K) -> Fate:
        try:
            at = self._objects().items.expired_at(self.service_sid, self.sid, key)
        except SyncError:
            return self._object_fate(own=False)
        if at is not None:
            return Fate(at, f"it expired at {_show(at)}")
        never = "it was never there or was deleted rather than expired"
        return Fate(None, "it does not exist", never)

    def _subject(self, key: K | None) -> Subject:
        if key is None:
            return self._object_subject()
        record = self.item(key)
        holder = None
        if record is not None:
            parent = self._live()
            if parent is not None and parent.date_expires is not None:
                holder = (self.noun, parent.date_expires)
        return Subject(self._item_where(key), record, lambda: self._item_fate(key), holder=holder)

    def assert_item(self, key: K, data: dict[str, Any]) -> None:
        """The item exists and holds exactly ``data``."""
        __tracebackhide__ = True
        record = self.item(key)
        if record is None:
            raise AssertionError(
                f"{self._item_where(key)} should hold {json.dumps(data)}, but it does not "
                "exist" + self._closest(key)
            )
        if record.data != data:
            raise AssertionError(
                f"{self._item_where(key)} should hold {json.dumps(data)}, but it holds "
                f"{record.data_json} (revision {revision_str(record.revision)})"
                + self._closest(key)
            )

    def assert_no_item(self, key: K) -> None:
        """No live item has this key (index)."""
        __tracebackhide__ = True
        record = self.item(key)
        if record is not None:
            raise AssertionError(
                f"{self._item_where(key)} should not exist, but it holds {record.data_json} "
                f"(revision {revision_str(record.revision)})" + self._closest(key)
            )

    def assert_written(self, key: K, times: int) -> None:
        """Successful creates and updates of the item (through the API) number ``times``."""
        __tracebackhide__ = True
        self._check_written(self._item_where(key), key, times)

    def assert_retried_after_conflict(self, key: K) -> None:
        """A conditional write of the item got 412, and a later conditional write succeeded."""
        __tracebackhide__ = True
        self._check_retried(self._item_where(key), key)

    @overload
    def assert_expires_at(self, when: Instant, /) -> None: ...
    @overload
    def assert_expires_at(self, key: K | None, when: Instant, /) -> None: ...
    def assert_expires_at(self, key_or_when: Any, when: Any = None, /) -> None:
        """The item (``assert_expires_at(key, when)``) or the object itself
        (``assert_expires_at(when)``) exists and its ``date_expires`` is ``when``, to the
        second; ``when`` is a datetime (naive means UTC) or an ISO 8601 string."""
        __tracebackhide__ = True
        key = None if when is None else key_or_when
        when = key_or_when if when is None else when
        _check_expires_at(self._subject(key), when, self._now())

    def assert_alive(self, key: K | None = None, *, for_at_least: float | timedelta = 0) -> None:
        """The item (or, without a key, the object) exists now and will not expire for at
        least ``for_at_least`` (seconds or a timedelta)."""
        __tracebackhide__ = True
        _check_alive(self._subject(key), _margin(for_at_least), self._now())

    def assert_expired(self, key: K | None = None) -> None:
        """The item (or, without a key, the object) has expired by now: collected, or
        lingering past its ``date_expires``. An item of an object that expired has
        expired with it; one that was deleted has not."""
        __tracebackhide__ = True
        _check_expired(self._subject(key), self._now())


# ---------------------------------------------------------------- Documents
class DocumentAssertions(_Assertions):
    """Assertions about a Document: its data, its writes, its time."""

    def assert_data(self, data: dict[str, Any]) -> None:
        """The Document exists and holds exactly ``data``."""
        __tracebackhide__ = True
        record = self._live()
        where = f"{self.noun} {self.sid}"
        if record is None:
            raise AssertionError(
                f"{where} should hold {json.dumps(data)}, but {self._object_fate().gone}"
                + self._closest()
            )
        if record.data != data:
            raise AssertionError(
                f"{where} should hold {json.dumps(data)}, but it holds {record.data_json} "
                f"(revision {revision_str(record.revision)})" + self._closest()
            )

    def assert_written(self, times: int) -> None:
        """Successful creates and updates of the Document (through the API) number ``times``."""
        __tracebackhide__ = True
        self._check_written(f"{self.noun} {self.sid}", None, times)

    def assert_retried_after_conflict(self) -> None:
        """A conditional write of the Document got 412, and a later one succeeded."""
        __tracebackhide__ = True
        self._check_retried(f"{self.noun} {self.sid}", None)

    def assert_expires_at(self, when: Instant) -> None:
        """The Document exists and its ``date_expires`` is ``when``, to the second."""
        __tracebackhide__ = True
        _check_expires_at(self._object_subject(), when, self._now())

    def assert_alive(self, *, for_at_least: float | timedelta = 0) -> None:
        """The Document exists now and will not expire for at least ``for_at_least``."""
        __tracebackhide__ = True
        _check_alive(self._object_subject(), _margin(for_at_least), self._now())

    def assert_expired(self) -> None:
        """The Document has expired by now (collected, or lingering past ``date_expires``)."""
        __tracebackhide__ = True
        _check_expired(self._object_subject(), self._now())


# ------------------------------------------------------------------ Streams
class StreamAssertions(_Assertions):
    """Assertions about a Stream: the messages published to it, and its time."""

    shows_revision: ClassVar[bool] = False

    @property
    def messages(self) -> list[StreamMessage]:  # provided by the handle
        raise NotImplementedError

    def _published_listing(self) -> str:
        messages = self.messages
        if not messages:
            return "no message was published to it during this test"
        lines = [f"messages published to it during this test ({len(messages)}):"]
        for number, message in enumerate(messages[-10:], start=max(1, len(messages) - 9)):
            lines.append(f"  {number:>3}. {message.data_json} at {_show(message.date_published)}")
        if len(messages) > 10:
            lines.insert(1, f"  ... {len(messages) - 10} earlier message(s) not shown")
        return "\n".join(lines)

    def assert_published(self, data: dict[str, Any], times: int | None = None) -> None:
        """A message holding exactly ``data`` was published to the Stream during the test,
        by any client or the handle: at least once, or exactly ``times`` times."""
        __tracebackhide__ = True
        count = sum(1 for m in self.messages if m.data == data)
        if (count >= 1) if times is None else (count == times):
            return
        expected = "at least once" if times is None else f"{times} time(s)"
        raise AssertionError(
            f"{self.noun} {self.sid} should have received {json.dumps(data)} {expected}, "
            f"but it received it {count} time(s); {self._published_listing()}" + self._closest()
        )

    def assert_not_published(self, data: dict[str, Any] | None = None) -> None:
        """No message (or, given ``data``, no message holding exactly ``data``) was
        published to the Stream during the test."""
        __tracebackhide__ = True
        messages = self.messages
        matching = [m for m in messages if data is None or m.data == data]
        if matching:
            what = "no message" if data is None else f"no message holding {json.dumps(data)}"
            raise AssertionError(
                f"{self.noun} {self.sid} should have received {what}, but it received "
                f"{len(matching)}; {self._published_listing()}" + self._closest()
            )

    def assert_expires_at(self, when: Instant) -> None:
        """The Stream exists and its ``date_expires`` is ``when``, to the second."""
        __tracebackhide__ = True
        _check_expires_at(self._object_subject(), when, self._now())

    def assert_alive(self, *, for_at_least: float | timedelta = 0) -> None:
        """The Stream exists now and will not expire for at least ``for_at_least``."""
        __tracebackhide__ = True
        _check_alive(self._object_subject(), _margin(for_at_least), self._now())

    def assert_expired(self) -> None:
        """The Stream has expired by now (collected, or lingering past ``date_expires``)."""
        __tracebackhide__ = True
        _check_expired(self._object_subject(), self._now())
