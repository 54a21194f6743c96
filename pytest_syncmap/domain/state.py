"""The store's mutable state, private to the domain layer.

Records (``records.py``) are immutable snapshots; these containers hold the current
snapshot of each Service, object, item and permission, plus the indexes that make
lookups, paging and expiry cheap. Only the store touches them, under its lock.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Generic, TypeVar

from .expiry import ExpiryQueue
from .kinds import Kind
from .records import ItemFields, ObjectRecord, PermissionRecord, ServiceRecord
from .sorted_keys import SortedKeys

__all__ = [
    "GRAVEYARD_SIZE",
    "Items",
    "Namespace",
    "ObjectState",
    "Permissions",
    "ServiceState",
    "remember",
    "remember_many",
]

K = TypeVar("K", str, int)

#: How many expired keys (or objects) a collection remembers, for "has it expired?".
GRAVEYARD_SIZE = 10_000


def remember(graveyard: OrderedDict[K, datetime], key: K, when: datetime) -> None:
    """Note that ``key`` expired at ``when``, forgetting the oldest beyond the bound.

    An ``OrderedDict`` because dropping the oldest entry of a plain dict again and again
    makes each ``next(iter(...))`` skip every slot deleted before it: quadratic.
    """
    graveyard[key] = when
    if len(graveyard) > GRAVEYARD_SIZE:
        graveyard.popitem(last=False)


def remember_many(
    graveyard: OrderedDict[K, datetime], keys: list[K], times: list[datetime]
) -> None:
    """:func:`remember` for a batch (only the newest :data:`GRAVEYARD_SIZE` can stay)."""
    for key, when in zip(keys[-GRAVEYARD_SIZE:], times[-GRAVEYARD_SIZE:], strict=True):
        remember(graveyard, key, when)


class Items(Generic[K]):
    """The items of one Map (keys) or List (indexes)."""

    __slots__ = ("expired", "expiry", "index", "next_index", "records")

    def __init__(self) -> None:
        self.records: dict[K, ItemFields] = {}
        self.index: SortedKeys[K] = SortedKeys()
        self.expiry: ExpiryQueue[K] = ExpiryQueue(self.deadline)
        #: Key -> ``date_expires`` of items collected by expiry (bounded).
        self.expired: OrderedDict[K, datetime] = OrderedDict()
        #: The index the next List item gets; never goes back.
        self.next_index = 0

    def deadline(self, key: K) -> datetime | None:
        """The live item's ``date_expires`` (``None`` if it has none or is gone)."""
        record = self.records.get(key)
        return None if record is None else record.date_expires


class Permissions:
    """Identity -> permission on one object, in identity order."""

    __slots__ = ("index", "records")

    def __init__(self) -> None:
        self.records: dict[str, PermissionRecord] = {}
        self.index: SortedKeys[str] = SortedKeys()


class ObjectState:
    """One Map, List, Document or Stream."""

    __slots__ = ("items", "permissions", "record", "seq")

    def __init__(self, record: ObjectRecord, seq: int, kind: Kind) -> None:
        self.record = record
        #: Creation number: objects are listed in creation order.
        self.seq = seq
        self.items: Items[str] | Items[int] | None = (
            None if kind.items is None else Items[str]() if kind.items == "keyed" else Items[int]()
        )
        self.permissions: Permissions | None = Permissions() if kind.permissions else None


class Namespace:
    """The objects of one kind in one Service."""

    __slots__ = ("by_name", "by_seq", "expired", "expiry", "kind", "objects", "order")

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.objects: dict[str, ObjectState] = {}
        self.by_name: dict[str, str] = {}
        self.order: SortedKeys[int] = SortedKeys()
        self.by_seq: dict[int, str] = {}
        self.expiry: ExpiryQueue[str] = ExpiryQueue(self.deadline)
        #: SID -> ``date_expires`` of objects collected by expiry (bounded).
        self.expired: OrderedDict[str, datetime] = OrderedDict()

    def deadline(self, sid: str) -> datetime | None:
        """The live object's ``date_expires``."""
        state = self.objects.get(sid)
        return None if state is None else state.record.date_expires

    def add(self, state: ObjectState) -> None:
        """Register a new object under its SID, unique name and creation number."""
        record = state.record
        self.objects[record.sid] = state
        if record.unique_name is not None:
            self.by_name[record.unique_name] = record.sid
        self.order.add(state.seq)
        self.by_seq[state.seq] = record.sid
        self.expiry.schedule(record.sid, None, record.date_expires)

    def remove(self, state: ObjectState) -> None:
        """Forget an object (deleted or expired)."""
        record = state.record
        del self.objects[record.sid]
        if record.unique_name is not None:
            self.by_name.pop(record.unique_name, None)
        self.order.remove(state.seq)
        del self.by_seq[state.seq]
        self.expiry.schedule(record.sid, record.date_expires, None)


class ServiceState:
    """One Service and its objects, by kind."""

    __slots__ = ("namespaces", "record", "seq")

    def __init__(self, record: ServiceRecord, seq: int) -> None:
        self.record = record
        self.seq = seq
        self.namespaces: dict[str, Namespace] = {}

    def namespace(self, kind: Kind) -> Namespace:
        """The Service's objects of ``kind`` (created on first use)."""
        ns = self.namespaces.get(kind.name)
        if ns is None:
            ns = self.namespaces[kind.name] = Namespace(kind)
        return ns
