"""The Sync domain model: Services, Maps, Map Items, revisions and expiry.

Pure and thread-safe: it knows nothing of HTTP, reads time only through a
:class:`~pytest_syncmap.clock.Clock`, and hands out immutable records, so a caller
can render a record after the lock is released without seeing a torn write.

Design points that carry the product's promises:

* **Revisions** are a per-Map counter rendered as lowercase hex (``SYNC_API.md``
  Q6). Every Map or item write increments it; an item stores the counter value of its
  last write, so an item's revisions only ever grow, even across delete and
  re-create, and a stale If-Match can never match by accident. Revisions never depend
  on the clock, so moving time backwards cannot disturb them.
* **Compare-and-set** (If-Match) runs under the store lock: check and write are one
  atomic step.
* **Ordering and paging**: each Map keeps its keys in a sorted list, so a page starting
  anywhere costs a binary search plus the page itself, whatever the Map's size. Maps
  and Services are listed in creation order through the same kind of index.
* **Expiry** is lazy and exact: every write with a TTL pushes ``(date_expires, key)``
  on a heap, and each operation first pops what has expired. Nothing scans a Map. An
  optional lag keeps expired objects readable for a while, as Twilio's docs warn.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from .choices import DEFAULT_CHOICES, Choices
from .clock import Clock, WallClock
from .errors import (
    DataTooLarge,
    InvalidData,
    InvalidKey,
    InvalidTtl,
    InvalidUniqueName,
    ItemAlreadyExists,
    ItemNotFound,
    MapNotFound,
    NothingToUpdate,
    RevisionMismatch,
    ServiceNotFound,
    UniqueNameTaken,
)

__all__ = [
    "CREATED_BY",
    "DEFAULT_SERVICE",
    "MAX_TTL",
    "ItemRecord",
    "MapRecord",
    "Page",
    "ServiceRecord",
    "Store",
    "SyncEvent",
    "is_sid",
    "new_sid",
    "revision_str",
]

#: ``created_by`` of every object created through REST (``SYNC_API.md`` 3.11).
CREATED_BY = "system"
#: The literal that may stand for the default Service SID in every path.
DEFAULT_SERVICE = "default"
#: Largest TTL Twilio accepts: one year in seconds.
MAX_TTL = 31_536_000

_SID_SHAPE = re.compile(r"[A-Z]{2}[0-9a-f]{32}")
K = TypeVar("K", str, int)
V = TypeVar("V")


# A private generator: a test that seeds ``random`` cannot make SIDs repeat.
_sid_random = random.Random(int.from_bytes(os.urandom(16), "big"))


def new_sid(prefix: str) -> str:
    """Return a fresh SID: the two-letter prefix and 32 lowercase hex digits."""
    return f"{prefix}{_sid_random.getrandbits(128):032x}"


def is_sid(value: str, prefix: str | None = None) -> bool:
    """Whether ``value`` has the shape of a Twilio SID (optionally with ``prefix``)."""
    if prefix is not None and not value.startswith(prefix):
        return False
    return _SID_SHAPE.fullmatch(value) is not None


def revision_str(counter: int) -> str:
    """Render a revision counter the way the API shows it: lowercase hex."""
    return format(counter, "x")


def _expires(now: datetime, ttl: int | None) -> datetime | None:
    return None if not ttl else now + timedelta(seconds=ttl)


def check_ttl(name: str, ttl: int | None) -> int | None:
    """Validate a TTL in seconds (``None`` means "not sent"); 0 means "never expires"."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
        raise InvalidTtl(name, ttl)
    return ttl


def serialize_data(data: object, limit: int) -> str:
    """Return item data as compact JSON after checking it is an object within ``limit`` bytes."""
    if not isinstance(data, Mapping):
        raise InvalidData(f"Map Item data must be a JSON object, not {type(data).__name__}")
    try:
        text = json.dumps(dict(data), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        size = len(text.encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        # ValueError covers UnicodeEncodeError: a lone surrogate is not UTF-8.
        raise InvalidData(f"Map Item data is not valid JSON: {exc}") from None
    if size > limit:
        raise DataTooLarge(size, limit)
    return text


@dataclass(frozen=True)
class ServiceRecord:
    """A Sync Service as the API shows it (immutable snapshot)."""

    sid: str
    friendly_name: str | None
    webhook_url: str | None
    webhooks_from_rest_enabled: bool
    reachability_webhooks_enabled: bool
    acl_enabled: bool
    reachability_debouncing_enabled: bool
    reachability_debouncing_window: int
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True)
class MapRecord:
    """A Sync Map as the API shows it (immutable snapshot)."""

    sid: str
    service_sid: str
    unique_name: str | None
    revision: int
    date_created: datetime
    date_updated: datetime
    date_expires: datetime | None
    created_by: str = CREATED_BY


@dataclass(frozen=True)
class ItemRecord:
    """A Map Item as the API shows it (immutable snapshot; data kept as compact JSON)."""

    key: str
    map_sid: str
    service_sid: str
    data_json: str
    revision: int
    date_created: datetime
    date_updated: datetime
    date_expires: datetime | None
    created_by: str = CREATED_BY

    @property
    def data(self) -> dict[str, Any]:
        """A fresh copy of the item's data."""
        value: dict[str, Any] = json.loads(self.data_json)
        return value


@dataclass(frozen=True)
class Page(Generic[V]):
    """One page of a listing, whether records lie beyond it, and its ends as cursors.

    ``first`` and ``last`` are the positions (item key, or creation number of a Map
    or Service) of the first and last record; a cursor for the next page continues
    after ``last``, one for the previous page ends before ``first``.
    """

    records: list[V]
    has_next: bool
    has_previous: bool
    first: str | int | None
    last: str | int | None
    #: True when the page is empty and ``first`` is the cursor it was read from: the
    #: previous page then ends *at* ``first`` rather than before it.
    first_inclusive: bool = False


@dataclass(frozen=True)
class SyncEvent:
    """A mutation, in the order it happened (``id`` strictly increases).

    ``type`` is one of ``map_created``, ``map_removed``, ``map_item_added``,
    ``map_item_updated``, ``map_item_removed``; ``cause`` is ``"write"`` or
    ``"expiry"``. ``service`` is the Service as it was at that moment (webhook
    settings included), so a listener never needs the store's lock.
    """

    id: int
    type: str
    cause: str
    date: datetime
    service: ServiceRecord
    map: MapRecord
    item_key: str | None = None
    item_data_json: str | None = None
    item_revision: int | None = None


#: Service fields a caller may set on create and update, with their defaults.
SERVICE_DEFAULTS: dict[str, Any] = {
    "friendly_name": None,
    "webhook_url": None,
    "webhooks_from_rest_enabled": False,
    "reachability_webhooks_enabled": False,
    "acl_enabled": False,
    "reachability_debouncing_enabled": False,
    "reachability_debouncing_window": 5000,
}


class _OrderedIndex(Generic[K]):
    """Sorted keys with O(log n) positioning; the basis of every cursor."""

    __slots__ = ("keys",)

    def __init__(self) -> None:
        self.keys: list[K] = []

    def add(self, key: K) -> None:
        keys = self.keys
        if not keys or keys[-1] < key:
            keys.append(key)
        else:
            i = bisect_left(keys, key)
            if i == len(keys) or keys[i] != key:
                keys.insert(i, key)

    def remove(self, key: K) -> None:
        keys = self.keys
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            del keys[i]

    def any_beyond(
        self,
        key: K,
        *,
        descending: bool,
        accept: Callable[[K], object | None],
        stop: Callable[[K], bool] | None = None,
    ) -> bool:
        """Whether an accepted key lies strictly after ``key`` in the scan direction."""
        return self.window(
            key, inclusive=False, descending=descending, limit=0, accept=accept, stop=stop
        )[1]

    def window(
        self,
        start: K | None,
        *,
        inclusive: bool,
        descending: bool,
        limit: int,
        accept: Callable[[K], V | None],
        stop: Callable[[K], bool] | None = None,
    ) -> tuple[list[V], bool]:
        """Up to ``limit`` accepted values from ``start`` on, and whether more follow.

        The scan ends early at the first key for which ``stop`` is true.
        """
        keys = self.keys
        if descending:
            if start is None:
                i = len(keys) - 1
            else:
                i = (bisect_right(keys, start) if inclusive else bisect_left(keys, start)) - 1
            step = -1
        else:
            if start is None:
                i = 0
            else:
                i = bisect_left(keys, start) if inclusive else bisect_right(keys, start)
            step = 1
        out: list[V] = []
        n = len(keys)
        while 0 <= i < n:
            if stop is not None and stop(keys[i]):
                return out, False
            value = accept(keys[i])
            if value is not None:
                if len(out) >= limit:
                    return out, True
                out.append(value)
            i += step
        return out, False


#: How many expired keys a Map remembers (for "has it expired?" questions).
_GRAVEYARD_SIZE = 10_000


class _MapState:
    __slots__ = ("expired", "expiry", "index", "items", "record", "seq")

    def __init__(self, record: MapRecord, seq: int) -> None:
        self.record = record
        self.items: dict[str, ItemRecord] = {}
        self.index: _OrderedIndex[str] = _OrderedIndex()
        self.expiry: list[tuple[datetime, str]] = []
        # key -> date_expires of items collected by expiry (bounded, oldest dropped).
        self.expired: dict[str, datetime] = {}
        self.seq = seq


class _ServiceState:
    __slots__ = ("by_name", "by_seq", "expiry", "maps", "order", "record", "seq")

    def __init__(self, record: ServiceRecord, seq: int) -> None:
        self.record = record
        self.seq = seq
        self.maps: dict[str, _MapState] = {}
        self.by_name: dict[str, str] = {}
        self.order: _OrderedIndex[int] = _OrderedIndex()
        self.by_seq: dict[int, str] = {}
        self.expiry: list[tuple[datetime, str]] = []


class Store:
    """All Sync state of one emulator, guarded by one lock.

    Every public method is atomic. Arguments are already-parsed Python values; the
    HTTP layer turns form strings into them. Records returned are immutable.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        choices: Choices = DEFAULT_CHOICES,
        expiry_lag: timedelta = timedelta(0),
    ) -> None:
        self.clock: Clock = clock if clock is not None else WallClock()
        self.choices = choices
        #: How long an expired object stays readable before it is collected.
        self.expiry_lag = expiry_lag
        self._lock = threading.Lock()
        #: Called with every :class:`SyncEvent`, under the store lock and in mutation
        #: order; a listener must be quick (enqueue, never call back into the store).
        self.listeners: list[Callable[[SyncEvent], None]] = []
        self._event_id = 0
        self._seq = 0
        self._services: dict[str, _ServiceState] = {}
        self._service_order: _OrderedIndex[int] = _OrderedIndex()
        self._service_by_seq: dict[int, str] = {}
        # The default Service is created on first use (``default`` in a path, a listing).
        self._default_sid: str | None = None

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget every Service, Map and item; the default Service is created afresh."""
        with self._lock:
            self._services.clear()
            self._service_order = _OrderedIndex()
            self._service_by_seq.clear()
            self._default_sid = None

    def _emit(
        self, kind: str, state: _MapState, now: datetime, item: ItemRecord | None = None,
        *, key: str | None = None, cause: str = "write",
    ) -> None:  # fmt: skip
        if not self.listeners:
            return
        service = self._services.get(state.record.service_sid)
        if service is None:
            return
        self._event_id += 1
        event = SyncEvent(
            id=self._event_id,
            type=kind,
            cause=cause,
            date=now,
            service=service.record,
            map=state.record,
            item_key=item.key if item is not None else key,
            item_data_json=item.data_json if item is not None else None,
            item_revision=item.revision if item is not None else None,
        )
        for listener in self.listeners:
            listener(event)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @property
    def default_service_sid(self) -> str:
        """The SID that the literal ``default`` currently stands for."""
        with self._lock:
            return self._ensure_default(self.clock.now()).record.sid

    def _ensure_default(self, now: datetime) -> _ServiceState:
        sid = self._default_sid
        if sid is not None and sid in self._services:
            return self._services[sid]
        # Created lazily but listed first, as a Service that always existed would be.
        state = self._add_service(now, {"friendly_name": "Default Service"}, seq=0)
        self._default_sid = state.record.sid
        return state

    def _add_service(
        self, now: datetime, fields: Mapping[str, Any], seq: int | None = None
    ) -> _ServiceState:
        values = {**SERVICE_DEFAULTS, **fields}
        record = ServiceRecord(sid=new_sid("IS"), date_created=now, date_updated=now, **values)
        seq = self._next_seq() if seq is None else seq
        state = _ServiceState(record, seq)
        self._services[record.sid] = state
        self._service_order.add(seq)
        self._service_by_seq[seq] = record.sid
        return state

    def _service(self, ref: str, now: datetime) -> _ServiceState:
        if ref == DEFAULT_SERVICE:
            return self._ensure_default(now)
        state = self._services.get(ref)
        if state is None:
            raise ServiceNotFound(ref)
        return state

    # --------------------------------------------------------------- services
    def create_service(self, **fields: Any) -> ServiceRecord:
        """Create a Service; ``fields`` are ``SERVICE_DEFAULTS`` names."""
        _check_service_fields(fields)
        with self._lock:
            return self._add_service(self.clock.now(), fields).record

    def get_service(self, ref: str) -> ServiceRecord:
        """Fetch a Service by SID or ``default``."""
        with self._lock:
            return self._service(ref, self.clock.now()).record

    def update_service(self, ref: str, **fields: Any) -> ServiceRecord:
        """Change some of a Service's settings."""
        _check_service_fields(fields)
        with self._lock:
            now = self.clock.now()
            state = self._service(ref, now)
            if fields:
                state.record = replace(state.record, date_updated=now, **fields)
            return state.record

    def delete_service(self, ref: str) -> None:
        """Delete a Service with all its Maps and items."""
        with self._lock:
            state = self._service(ref, self.clock.now())
            del self._services[state.record.sid]
            self._service_order.remove(state.seq)
            del self._service_by_seq[state.seq]

    def list_services(
        self, *, limit: int, after: int | None = None, before: int | None = None
    ) -> Page[ServiceRecord]:
        """A page of Services in creation order; ``after``/``before`` are page cursors."""
        with self._lock:
            self._ensure_default(self.clock.now())
            services, by_seq = self._services, self._service_by_seq
            return _page(
                self._service_order,
                lambda seq: services[by_seq[seq]].record,
                lambda rec: services[rec.sid].seq,
                limit=limit,
                after=after,
                before=before,
            )

    # ------------------------------------------------------------------- maps
    def _pop_expired(
        self, heap: list[tuple[datetime, str]], now: datetime
    ) -> Iterator[tuple[datetime, str]]:
        """Pop the heap entries whose time (plus the lag) has come; stale ones included."""
        limit = now - self.expiry_lag
        while heap and heap[0][0] <= limit:
            yield heapq.heappop(heap)

    def _purge_maps(self, service: _ServiceState, now: datetime) -> None:
        for expires, sid in self._pop_expired(service.expiry, now):
            state = service.maps.get(sid)
            if state is not None and state.record.date_expires == expires:
                self._drop_map(service, state, now, cause="expiry")

    def _drop_map(
        self, service: _ServiceState, state: _MapState, now: datetime, cause: str = "write"
    ) -> None:
        self._emit("map_removed", state, now, cause=cause)
        record = state.record
        del service.maps[record.sid]
        if record.unique_name is not None:
            service.by_name.pop(record.unique_name, None)
        service.order.remove(state.seq)
        del service.by_seq[state.seq]

    def _map(self, service: _ServiceState, ref: str, now: datetime) -> _MapState:
        self._purge_maps(service, now)
        if is_sid(ref):
            state = service.maps.get(ref)
            if state is None:
                raise MapNotFound(service.record.sid, ref, by_sid=True)
        else:
            sid = service.by_name.get(ref)
            if sid is None:
                raise MapNotFound(service.record.sid, ref, by_sid=False)
            state = service.maps[sid]
        self._purge_items(state, now)
        return state

    def _set_map_ttl(
        self, service: _ServiceState, state: _MapState, ttl: int, now: datetime
    ) -> None:
        expires = _expires(now, ttl)
        state.record = replace(state.record, date_expires=expires)
        if expires is not None:
            heapq.heappush(service.expiry, (expires, state.record.sid))

    def create_map(
        self, service_ref: str, *, unique_name: str | None = None, ttl: int | None = None
    ) -> MapRecord:
        """Create a Map, optionally with a unique name and a TTL in seconds."""
        if unique_name is not None:
            _check_unique_name(unique_name, self.choices)
        check_ttl("CollectionTtl", ttl)
        with self._lock:
            now = self.clock.now()
            service = self._service(service_ref, now)
            self._purge_maps(service, now)
            if unique_name is not None and unique_name in service.by_name:
                raise UniqueNameTaken(unique_name)
            record = MapRecord(
                sid=new_sid("MP"),
                service_sid=service.record.sid,
                unique_name=unique_name,
                revision=0,
                date_created=now,
                date_updated=now,
                date_expires=None,
            )
            state = _MapState(record, self._next_seq())
            service.maps[record.sid] = state
            if unique_name is not None:
                service.by_name[unique_name] = record.sid
            service.order.add(state.seq)
            service.by_seq[state.seq] = record.sid
            if ttl:
                self._set_map_ttl(service, state, ttl, now)
            self._emit("map_created", state, now)
            return state.record

    def get_map(self, service_ref: str, map_ref: str) -> MapRecord:
        """Fetch a Map by SID or unique name."""
        with self._lock:
            now = self.clock.now()
            return self._map(self._service(service_ref, now), map_ref, now).record

    def update_map(self, service_ref: str, map_ref: str, *, ttl: int | None) -> MapRecord:
        """Set a Map's TTL (0 removes the expiry); ``None`` means nothing was sent."""
        if ttl is None:
            raise NothingToUpdate("Expected at least 1 optional parameter, but none were provided")
        check_ttl("CollectionTtl", ttl)
        with self._lock:
            now = self.clock.now()
            service = self._service(service_ref, now)
            state = self._map(service, map_ref, now)
            self._set_map_ttl(service, state, ttl, now)
            state.record = replace(
                state.record, revision=state.record.revision + 1, date_updated=now
            )
            return state.record

    def delete_map(self, service_ref: str, map_ref: str) -> None:
        """Delete a Map and all its items."""
        with self._lock:
            now = self.clock.now()
            service = self._service(service_ref, now)
            self._drop_map(service, self._map(service, map_ref, now), now)

    def list_maps(
        self,
        service_ref: str,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
    ) -> Page[MapRecord]:
        """A page of a Service's Maps in creation order (see :meth:`list_services`)."""
        with self._lock:
            now = self.clock.now()
            service = self._service(service_ref, now)
            self._purge_maps(service, now)
            maps, by_seq = service.maps, service.by_seq
            return _page(
                service.order,
                lambda seq: maps[by_seq[seq]].record,
                lambda rec: maps[rec.sid].seq,
                limit=limit,
                after=after,
                before=before,
            )

    # ------------------------------------------------------------------ items
    def _purge_items(self, state: _MapState, now: datetime) -> None:
        for expires, key in self._pop_expired(state.expiry, now):
            item = state.items.get(key)
            if item is not None and item.date_expires == expires:
                del state.items[key]
                state.index.remove(key)
                state.record = replace(state.record, revision=state.record.revision + 1)
                state.expired[key] = expires
                if len(state.expired) > _GRAVEYARD_SIZE:
                    del state.expired[next(iter(state.expired))]
                self._emit("map_item_removed", state, now, key=key, cause="expiry")

    def _write_item(
        self,
        service: _ServiceState,
        state: _MapState,
        item: ItemRecord,
        collection_ttl: int | None,
        now: datetime,
    ) -> ItemRecord:
        """Store ``item`` under the Map's next revision and bump the Map."""
        revision = state.record.revision + 1
        item = replace(item, revision=revision)
        added = item.key not in state.items
        if added:
            state.index.add(item.key)
            state.expired.pop(item.key, None)
        state.items[item.key] = item
        if item.date_expires is not None:
            heapq.heappush(state.expiry, (item.date_expires, item.key))
        if collection_ttl is not None:
            self._set_map_ttl(service, state, collection_ttl, now)
        state.record = replace(state.record, revision=revision, date_updated=now)
        self._emit("map_item_added" if added else "map_item_updated", state, now, item)
        return item

    def create_item(
        self,
        service_ref: str,
        map_ref: str,
        key: str,
        data: Mapping[str, Any],
        *,
        ttl: int | None = None,
        collection_ttl: int | None = None,
    ) -> ItemRecord:
        """Add an item; 409 semantics if the key is taken."""
        _check_key(key, self.choices.key_max_length)
        data_json = serialize_data(data, self.choices.data_max_bytes)
        check_ttl("ItemTtl", ttl)
        check_ttl("CollectionTtl", collection_ttl)
        with self._lock:
            now = self.clock.now()
            service = self._service(service_ref, now)
            state = self._map(service, map_ref, now)
            if key in state.items:
                raise ItemAlreadyExists(state.record.sid, key)
            item = _new_item(state.record, key, data_json, ttl, now)
            return self._write_item(service, state, item, collection_ttl, now)

    def put_item(
        self,
        service_ref: str,
        map_ref: str,
        key: str,
        data: Mapping[str, Any],
        *,
        ttl: int | None = None,
    ) -> ItemRecord:
        """Create the item, or replace its data (and TTL, when given): an atomic upsert."""
        _check_key(key, self.choices.key_max_length)
        data_json = serialize_data(data, self.choices.data_max_bytes)
        check_ttl("ItemTtl", ttl)
        with self._lock:
            now = self.clock.now()
            service = self._service(service_ref, now)
            state = self._map(service, map_ref, now)
            item = state.items.get(key)
            if item is None:
                item = _new_item(state.record, key, data_json, ttl, now)
            else:
                item = replace(item, data_json=data_json, date_updated=now)
                if ttl is not None:
                    item = replace(item, date_expires=_expires(now, ttl))
            return self._write_item(service, state, item, None, now)

    def get_item(self, service_ref: str, map_ref: str, key: str) -> ItemRecord:
        """Fetch a live item."""
        with self._lock:
            now = self.clock.now()
            state = self._map(self._service(service_ref, now), map_ref, now)
            item = state.items.get(key)
            if item is None:
                raise ItemNotFound(state.record.sid, key)
            return item

    def update_item(
        self,
        service_ref: str,
        map_ref: str,
        key: str,
        *,
        data: Mapping[str, Any] | None = None,
        ttl: int | None = None,
        collection_ttl: int | None = None,
        if_match: str | None = None,
    ) -> ItemRecord:
        """Replace an item's data and/or TTL; with ``if_match``, only at that revision."""
        if data is None and ttl is None:
            if collection_ttl is not None:
                raise NothingToUpdate(
                    "CollectionTtl can only be used when the Map Item's data or ttl is "
                    "updated in the same request"
                )
            raise NothingToUpdate("Expected at least 1 optional parameter, but none were provided")
        data_json = None if data is None else serialize_data(data, self.choices.data_max_bytes)
        check_ttl("ItemTtl", ttl)
        check_ttl("CollectionTtl", collection_ttl)
        with self._lock:
            now = self.clock.now()
            service = self._service(service_ref, now)
            state = self._map(service, map_ref, now)
            item = state.items.get(key)
            if item is None:
                raise ItemNotFound(state.record.sid, key)
            _check_revision(item, if_match)
            changes: dict[str, Any] = {"date_updated": now}
            if data_json is not None:
                changes["data_json"] = data_json
            if ttl is not None:
                changes["date_expires"] = _expires(now, ttl)
            return self._write_item(service, state, replace(item, **changes), collection_ttl, now)

    def delete_item(
        self, service_ref: str, map_ref: str, key: str, *, if_match: str | None = None
    ) -> None:
        """Remove an item; with ``if_match``, only at that revision."""
        with self._lock:
            now = self.clock.now()
            state = self._map(self._service(service_ref, now), map_ref, now)
            item = state.items.get(key)
            if item is None:
                raise ItemNotFound(state.record.sid, key)
            _check_revision(item, if_match)
            del state.items[key]
            state.index.remove(key)
            state.record = replace(
                state.record, revision=state.record.revision + 1, date_updated=now
            )
            self._emit("map_item_removed", state, now, key=key)

    def list_items(
        self,
        service_ref: str,
        map_ref: str,
        *,
        limit: int,
        descending: bool = False,
        start: str | None = None,
        start_inclusive: bool = True,
        after: str | None = None,
        before: str | None = None,
        before_inclusive: bool = False,
    ) -> tuple[MapRecord, Page[ItemRecord]]:
        """The Map and a page of its items in key order (code point order).

        ``start``/``start_inclusive`` are ``From``/``Bounds``; ``after``/``before``
        are the cursors of the next and previous pages.
        """
        with self._lock:
            now = self.clock.now()
            state = self._map(self._service(service_ref, now), map_ref, now)
            page = _page(
                state.index,
                state.items.get,
                _item_key,
                limit=limit,
                descending=descending,
                start=start,
                start_inclusive=start_inclusive,
                after=after,
                before=before,
                before_inclusive=before_inclusive,
            )
            return state.record, page

    def item_count(self, service_ref: str, map_ref: str) -> int:
        """How many live items the Map holds."""
        with self._lock:
            now = self.clock.now()
            return len(self._map(self._service(service_ref, now), map_ref, now).items)

    def peek_revision(self, service_ref: str, map_ref: str, key: str) -> str | None:
        """The item's current revision, or ``None`` if it (or its Map) is not there."""
        try:
            return revision_str(self.get_item(service_ref, map_ref, key).revision)
        except (ServiceNotFound, MapNotFound, ItemNotFound):
            return None

    def collect(self) -> None:
        """Collect every expired Map and item now, instead of at their next access.

        Expiry is otherwise lazy (each request collects what it touches), which gives
        the same answers; collecting eagerly after the test clock moves means a later
        move backwards cannot bring back what had expired.
        """
        with self._lock:
            now = self.clock.now()
            for service in self._services.values():
                self._purge_maps(service, now)
                for state in service.maps.values():
                    self._purge_items(state, now)

    def expired_at(self, service_ref: str, map_ref: str, key: str) -> datetime | None:
        """When the item ``key`` expired, if expiry collected it (and it was not re-created)."""
        with self._lock:
            now = self.clock.now()
            state = self._map(self._service(service_ref, now), map_ref, now)
            return None if key in state.items else state.expired.get(key)

    def all_items(self, service_ref: str, map_ref: str) -> list[ItemRecord]:
        """Every live item of the Map in key order (for test-side inspection)."""
        with self._lock:
            now = self.clock.now()
            state = self._map(self._service(service_ref, now), map_ref, now)
            return [state.items[k] for k in state.index.keys]


def _page(
    index: _OrderedIndex[K],
    accept: Callable[[K], V | None],
    key_of: Callable[[V], K],
    *,
    limit: int,
    descending: bool = False,
    start: K | None = None,
    start_inclusive: bool = True,
    after: K | None = None,
    before: K | None = None,
    before_inclusive: bool = False,
) -> Page[V]:
    """One page of ``index`` in order (or reversed), never scanning beyond it.

    ``start``/``start_inclusive`` is the listing's lower bound (``From``/``Bounds``);
    ``after`` continues after a cursor (next page); ``before`` ends before one
    (previous page). Positions are keys, not offsets, so records added or removed
    between pages neither repeat nor skip the others.
    """
    outside = _outside_bound(start, start_inclusive, descending)

    def bounded(key: K) -> V | None:
        return None if outside is not None and outside(key) else accept(key)

    if before is not None:
        records, more = index.window(
            before, inclusive=before_inclusive, descending=not descending, limit=limit,
            accept=accept, stop=outside,
        )  # fmt: skip
        if records:
            records.reverse()
            first, last = key_of(records[0]), key_of(records[-1])
            has_next = index.any_beyond(last, descending=descending, accept=accept)
            return Page(records, has_next, more, first, last)
        # Nothing lies before the cursor any more: the previous page is the first.
        after = None
    if after is not None:
        records, more = index.window(
            after, inclusive=False, descending=descending, limit=limit, accept=bounded
        )
    else:
        records, more = index.window(
            start, inclusive=start_inclusive, descending=descending, limit=limit, accept=accept
        )
    first_key = key_of(records[0]) if records else None
    last_key = key_of(records[-1]) if records else None
    if first_key is not None:
        has_previous = index.any_beyond(
            first_key, descending=not descending, accept=accept, stop=outside
        )
        return Page(records, more, has_previous, first_key, last_key)
    # An empty page read after a cursor: what precedes it ends at the cursor itself.
    has_previous = after is not None and (
        bounded(after) is not None
        or index.any_beyond(after, descending=not descending, accept=accept, stop=outside)
    )
    return Page(records, more, has_previous, after, None, first_inclusive=True)


def _outside_bound(
    start: K | None, inclusive: bool, descending: bool
) -> Callable[[K], bool] | None:
    """A test for keys on the wrong side of ``From`` (``None`` when there is no bound)."""
    if start is None:
        return None
    low = start

    def outside(key: K) -> bool:
        if key == low:
            return not inclusive
        return key > low if descending else key < low

    return outside


def _new_item(
    map_rec: MapRecord, key: str, data_json: str, ttl: int | None, now: datetime
) -> ItemRecord:
    """A new item of ``map_rec``; its revision is set when it is written."""
    return ItemRecord(
        key=key,
        map_sid=map_rec.sid,
        service_sid=map_rec.service_sid,
        data_json=data_json,
        revision=0,
        date_created=now,
        date_updated=now,
        date_expires=_expires(now, ttl),
    )


def _item_key(item: ItemRecord) -> str:
    return item.key


def _check_revision(item: ItemRecord, if_match: str | None) -> None:
    # "*" asks only that the item exists, as in HTTP.
    if if_match is not None and if_match != "*" and if_match != revision_str(item.revision):
        raise RevisionMismatch(item.key, if_match, revision_str(item.revision))


def _check_key(key: str, max_length: int) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= max_length:
        raise InvalidKey(str(key), max_length)


def _check_unique_name(name: str, choices: Choices) -> None:
    max_length = choices.unique_name_max_length
    if not 1 <= len(name) <= max_length or is_sid(name):
        raise InvalidUniqueName(name, max_length)
    if "/" in name and choices.unique_name_slash == "refuse":
        raise InvalidUniqueName(name, max_length, slash=True)


def _check_service_fields(fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - set(SERVICE_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown Service field(s): {', '.join(sorted(unknown))}")
