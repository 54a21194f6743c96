"""The store's plumbing: one lock, the clock, Services, object lookup, expiry and events.

:class:`Core` is what every kind-specific API (``objects.py``, ``items.py``,
``permissions.py``) builds on; :class:`~.store.Store` puts them together. Every public
operation runs inside :meth:`Core.transaction`: under the one lock, with one reading of
the clock, and with the guarantee that an operation that fails leaves no trace (the
default Service that a refused request would have created on first use is dropped).

Expiry is lazy and exact: each operation first collects what has expired among the
objects it touches (a heap pop, never a scan), and :meth:`Core.collect` collects
everything at once after the test clock moves. An optional lag keeps expired objects
readable a while longer, as Twilio's docs warn they might be.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from .choices import DEFAULT_CHOICES, Choices
from .clock import Clock, WallClock
from .errors import ServiceNotFound, UniqueNameTaken
from .ids import is_sid, new_sid
from .kinds import KINDS, Kind
from .records import ItemFields, ObjectRecord, ServiceRecord, StreamMessage, SyncEvent
from .sorted_keys import SortedKeys
from .state import Items, Namespace, ObjectState, ServiceState, remember, remember_many

__all__ = ["DEFAULT_SERVICE", "SERVICE_DEFAULTS", "Core", "expires_at"]

#: The literal that may stand for the default Service SID in every path.
DEFAULT_SERVICE = "default"

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


def expires_at(now: datetime, ttl: int | None) -> datetime | None:
    """``date_expires`` for a TTL set ``now`` (``None`` or 0: never)."""
    return None if not ttl else now + timedelta(seconds=ttl)


class _Transaction:
    """``with core.transaction() as now``: the lock, the time, and undo on failure."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    def __enter__(self) -> datetime:
        core = self._core
        core._lock.acquire()
        core._implicit_default = None
        try:
            return core.clock.now()
        except BaseException:
            core._lock.release()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        core = self._core
        try:
            if exc_type is not None and core._implicit_default is not None:
                core._forget_service(core._services[core._implicit_default])
                core._default_sid = None
        finally:
            core._implicit_default = None
            core._lock.release()


class Core:
    """All Sync state of one emulator, guarded by one lock; see the module docstring."""

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
        self._services: dict[str, ServiceState] = {}
        #: Creation numbers of the Services (the default one is 0), and back to SIDs.
        self._service_order: SortedKeys[int] = SortedKeys()
        self._service_by_seq: dict[int, str] = {}
        # The default Service is created on first use (``default`` in a path, a listing).
        self._default_sid: str | None = None
        self._implicit_default: str | None = None

    def transaction(self) -> _Transaction:
        """Run an operation atomically; see the module docstring."""
        return _Transaction(self)

    def next_seq(self) -> int:
        """A fresh creation number (Services and objects are listed in creation order)."""
        self._seq += 1
        return self._seq

    # ------------------------------------------------------------ services
    def reset(self) -> None:
        """Forget every Service, object and item; the default Service comes back on use."""
        with self._lock:
            self._services.clear()
            self._service_order.clear()
            self._service_by_seq.clear()
            self._default_sid = None

    def add_service(
        self, now: datetime, fields: Mapping[str, Any], seq: int | None = None
    ) -> ServiceState:
        """Create a Service (under the lock)."""
        values = {**SERVICE_DEFAULTS, **fields}
        record = ServiceRecord(sid=new_sid("IS"), date_created=now, date_updated=now, **values)
        state = ServiceState(record, self.next_seq() if seq is None else seq)
        self._services[record.sid] = state
        self._service_order.add(state.seq)
        self._service_by_seq[state.seq] = record.sid
        return state

    def _forget_service(self, state: ServiceState) -> None:
        del self._services[state.record.sid]
        self._service_order.remove(state.seq)
        del self._service_by_seq[state.seq]

    def default_service(self, now: datetime) -> ServiceState:
        """The default Service, created (listed first, as if it always existed) on first use."""
        sid = self._default_sid
        if sid is not None and sid in self._services:
            return self._services[sid]
        state = self.add_service(now, {"friendly_name": "Default Service"}, seq=0)
        self._default_sid = self._implicit_default = state.record.sid
        return state

    def has_service(self, ref: str) -> bool:
        """Whether ``ref`` (a SID or ``default``) names a Service now; creates nothing."""
        with self._lock:
            if ref == DEFAULT_SERVICE:
                return self._default_sid is not None and self._default_sid in self._services
            return ref in self._services

    def service(self, ref: str, now: datetime) -> ServiceState:
        """A Service by SID, or ``default``."""
        if ref == DEFAULT_SERVICE:
            return self.default_service(now)
        state = self._services.get(ref)
        if state is None:
            raise ServiceNotFound(ref)
        return state

    # ------------------------------------------------------------- objects
    def find(self, service: ServiceState, kind: Kind, ref: str, now: datetime) -> ObjectState:
        """A live object of ``kind`` by SID or unique name, with its expired items gone."""
        ns = service.namespace(kind)
        self.purge_objects(service, ns, now)
        if is_sid(ref):
            state = ns.objects.get(ref)
            if state is None:
                raise kind.not_found(service.record.sid, ref, by_sid=True)
        else:
            sid = ns.by_name.get(ref)
            if sid is None:
                raise kind.not_found(service.record.sid, ref, by_sid=False)
            state = ns.objects[sid]
        if state.items is not None:
            self.purge_items(service, state, now)
        return state

    def lookup(self, kind: Kind, service_ref: str, ref: str, now: datetime) -> ObjectState:
        """:meth:`find` from references (Service SID or ``default``, object SID or name)."""
        return self.find(self.service(service_ref, now), kind, ref, now)

    def check_name_free(self, service: ServiceState, kind: Kind, name: str, now: datetime) -> None:
        """Raise :class:`UniqueNameTaken` if ``name`` is in use (per kind, or per Service)."""
        kinds = [kind] if self.choices.unique_name_scope == "kind" else list(KINDS.values())
        for other in kinds:
            ns = service.namespace(other)
            self.purge_objects(service, ns, now)
            if name in ns.by_name:
                raise UniqueNameTaken(name)

    def set_ttl(self, ns: Namespace, state: ObjectState, ttl: int, now: datetime) -> None:
        """Give the object a new ``date_expires`` (``ttl`` 0: never expires)."""
        old = state.record.date_expires
        new = expires_at(now, ttl)
        state.record = replace(state.record, date_expires=new)
        ns.expiry.schedule(state.record.sid, old, new)

    def drop(self, service: ServiceState, state: ObjectState, now: datetime, cause: str) -> None:
        """Remove an object (and its items and permissions) and say so."""
        kind = KINDS[_kind_name(state.record)]
        self.emit(f"{kind.name}_removed", cause, now, service, state.record)
        service.namespace(kind).remove(state)

    # -------------------------------------------------------------- expiry
    def _limit(self, now: datetime) -> datetime:
        return now - self.expiry_lag

    def purge_objects(self, service: ServiceState, ns: Namespace, now: datetime) -> None:
        """Collect the objects of ``ns`` whose time (plus the lag) has come."""
        for when, sid in ns.expiry.pop_due(self._limit(now)):
            self.drop(service, ns.objects[sid], now, cause="expiry")
            remember(ns.expired, sid, when)

    def purge_items(self, service: ServiceState, state: ObjectState, now: datetime) -> None:
        """Collect the object's items whose time (plus the lag) has come.

        Each removal counts a revision of the object, as a delete would. Mass expiry
        costs time in proportion to what expires: when most of the collection goes,
        one sequential pass over the records replaces a lookup per key, the index is
        rebuilt once, no container is allocated per key, and, without listeners, the
        object's record is rebuilt once.
        """
        if state.items is None:
            return
        items: Items[Any] = state.items
        limit = self._limit(now)
        buckets = items.expiry.pop_buckets(limit)
        if not buckets:
            return
        records = items.records
        keys: list[Any] = []
        times: list[datetime] = []
        if sum(len(bucket) for _, bucket in buckets) * 4 >= len(records):
            kept = {}
            for key, record in records.items():
                expires = record.date_expires
                if expires is not None and expires <= limit:
                    keys.append(key)
                    times.append(expires)
                else:
                    kept[key] = record
            items.records = kept
        else:
            for when, bucket in buckets:
                for key in dict.fromkeys(bucket):
                    if items.deadline(key) == when:
                        del records[key]
                        keys.append(key)
                        times.append(when)
        if not keys:
            return
        items.expiry.released(len(keys))
        items.index.discard_many(keys)
        remember_many(items.expired, keys, times)
        if not self.listeners:
            state.record = replace(state.record, revision=state.record.revision + len(keys))
            return
        kind_name = _kind_name(state.record)
        for key in keys:
            state.record = replace(state.record, revision=state.record.revision + 1)
            self.emit(f"{kind_name}_item_removed", "expiry", now, service, state.record, key=key)

    def collect(self) -> None:
        """Collect every expired object and item now, instead of at their next access.

        Expiry is otherwise lazy (each operation collects what it touches), which gives
        the same answers; collecting eagerly after the test clock moves means a later
        move backwards cannot bring back what had expired.
        """
        with self._lock:
            now = self.clock.now()
            for service in list(self._services.values()):
                for ns in service.namespaces.values():
                    self.purge_objects(service, ns, now)
                    for state in ns.objects.values():
                        if state.items is not None:
                            self.purge_items(service, state, now)

    # -------------------------------------------------------------- events
    def emit(
        self,
        type_: str,
        cause: str,
        now: datetime,
        service: ServiceState,
        record: ObjectRecord,
        *,
        item: ItemFields | None = None,
        key: str | int | None = None,
        message: StreamMessage | None = None,
    ) -> None:
        """Tell the listeners about a mutation (nothing is built when none listens)."""
        if not self.listeners:
            return
        self._event_id += 1
        event = SyncEvent(
            id=self._event_id,
            type=type_,
            cause=cause,
            date=now,
            service=service.record,
            object=record,
            item_key=key,
            item_data_json=item.data_json if item is not None else None,
            item_revision=item.revision if item is not None else None,
            message=message,
        )
        for listener in self.listeners:
            listener(event)


def items_of(state: ObjectState) -> Items[Any]:
    """The items of a Map or List state (the kind guarantees there are some)."""
    assert state.items is not None
    return state.items


def _kind_name(record: ObjectRecord) -> str:
    return _RECORD_KINDS[type(record)]


_RECORD_KINDS = {kind.record: kind.name for kind in KINDS.values()}
