"""Items of Maps (by key) and Lists (by index): the collections with a cursor index.

:class:`ItemsOf` holds what the two share: revisions (an item's revision is its
object's write counter at the time of its write, so revisions only grow, even across
delete and re-create), TTLs and expiry, ``CollectionTtl`` refreshing the parent,
compare-and-set on ``If-Match`` under the lock, and cursor paging in both orders.
:class:`MapItems` adds the key (create refuses a taken one; ``put`` upserts) and
:class:`ListItems` the index (assigned on append from a counter that never goes back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from .core import Core, expires_at
from .errors import ItemAlreadyExists, ItemNotFound, ListItemNotFound, NothingToUpdate, SyncError
from .ids import revision_str
from .kinds import LIST, MAP, Kind
from .paging import page
from .records import ItemFields, ItemRecord, ListItemRecord, ObjectRecord, Page
from .state import Items, ObjectState, ServiceState
from .validation import check_key, check_revision, check_ttl, serialize_data

__all__ = ["ItemsOf", "ListItems", "MapItems"]

K = TypeVar("K", str, int)
R = TypeVar("R", bound=ItemFields)


class ItemsOf(Generic[K, R]):
    """The items of every Map (or every List) of a store."""

    kind: Kind
    #: What the records say about themselves in messages (``Map Item``, ``List Item``).
    label: str

    def __init__(self, core: Core, kind: Kind, label: str) -> None:
        self._core = core
        self.kind = kind
        self.label = label

    # ---------------------------------------------------------------- hooks
    def _new(self, parent: ObjectRecord, key: K, data_json: str, ttl: int | None,
             now: datetime) -> R:  # fmt: skip
        raise NotImplementedError

    def _missing(self, parent: ObjectRecord, key: K) -> SyncError:
        raise NotImplementedError

    @staticmethod
    def _key_of(record: R) -> K:
        raise NotImplementedError

    def _next_key(self, items: Items[K]) -> K:
        """The key an item created without one gets (Lists: the next index)."""
        raise NotImplementedError

    # ------------------------------------------------------------- plumbing
    def _data(self, data: Mapping[str, Any]) -> str:
        choices = self._core.choices
        return serialize_data(
            data, choices.data_max_bytes, self.label, max_depth=choices.data_max_depth
        )

    def _open(self, service_ref: str, ref: str, now: datetime) -> tuple[ServiceState, ObjectState,
                                                                         Items[K]]:  # fmt: skip
        core = self._core
        service = core.service(service_ref, now)
        state = core.find(service, self.kind, ref, now)
        assert state.items is not None
        return service, state, cast(Items[K], state.items)

    def _write(
        self,
        service: ServiceState,
        state: ObjectState,
        items: Items[K],
        item: R,
        collection_ttl: int | None,
        now: datetime,
    ) -> R:
        """Store ``item`` under the object's next revision and bump the object."""
        core = self._core
        revision = state.record.revision + 1
        key = self._key_of(item)
        old = items.records.get(key)
        item = replace(item, revision=revision)
        if old is None:
            items.index.add(key)
            items.expired.pop(key, None)
        items.records[key] = item
        items.expiry.schedule(key, None if old is None else old.date_expires, item.date_expires)
        if collection_ttl is not None:
            core.set_ttl(service.namespace(self.kind), state, collection_ttl, now)
        state.record = replace(state.record, revision=revision, date_updated=now)
        change = "added" if old is None else "updated"
        core.emit(f"{self.kind.name}_item_{change}", "write", now, service, state.record,
                  item=item, key=key)  # fmt: skip
        return item

    def _add(
        self,
        service: str,
        ref: str,
        key: K | None,
        data: Mapping[str, Any],
        ttl: int | None,
        collection_ttl: int | None,
    ) -> R:
        """Create an item under ``key`` (refused if taken), or the List's next index."""
        data_json = self._data(data)
        check_ttl("ItemTtl", ttl)
        check_ttl("CollectionTtl", collection_ttl)
        with self._core.transaction() as now:
            service_state, state, items = self._open(service, ref, now)
            if key is None:
                key = self._next_key(items)
            elif key in items.records:
                raise ItemAlreadyExists(state.record.sid, str(key))
            item = self._new(state.record, key, data_json, ttl, now)
            return self._write(service_state, state, items, item, collection_ttl, now)

    def _live(self, state: ObjectState, items: Items[K], key: K) -> R:
        item = items.records.get(key)
        if item is None:
            raise self._missing(state.record, key)
        return cast(R, item)

    # ---------------------------------------------------------------- reads
    def get(self, service: str, ref: str, key: K) -> R:
        """A live item."""
        with self._core.transaction() as now:
            _, state, items = self._open(service, ref, now)
            return self._live(state, items, key)

    def page(
        self,
        service: str,
        ref: str,
        *,
        limit: int,
        descending: bool = False,
        start: K | None = None,
        start_inclusive: bool = True,
        after: K | None = None,
        before: K | None = None,
        before_inclusive: bool = False,
    ) -> Page[R]:
        """A page of the object's items in key (or index) order.

        ``start``/``start_inclusive`` are ``From``/``Bounds``; ``after``/``before``
        are the cursors of the next and previous pages.
        """
        with self._core.transaction() as now:
            _, _, items = self._open(service, ref, now)
            records = items.records
            return page(
                items.index,
                lambda key: cast("R | None", records.get(key)),
                self._key_of,
                limit=limit,
                descending=descending,
                start=start,
                start_inclusive=start_inclusive,
                after=after,
                before=before,
                before_inclusive=before_inclusive,
            )

    def all(self, service: str, ref: str) -> list[R]:
        """Every live item in order (for test-side inspection)."""
        with self._core.transaction() as now:
            _, _, items = self._open(service, ref, now)
            return [cast(R, items.records[k]) for k in items.index]

    def count(self, service: str, ref: str) -> int:
        """How many live items the object holds."""
        with self._core.transaction() as now:
            return len(self._open(service, ref, now)[2].records)

    def expired_at(self, service: str, ref: str, key: K) -> datetime | None:
        """When expiry collected the item ``key`` (if it did and it was not re-created)."""
        with self._core.transaction() as now:
            _, _, items = self._open(service, ref, now)
            return None if key in items.records else items.expired.get(key)

    def peek_revision(self, service: str, ref: str, key: K) -> str | None:
        """The item's current revision, or ``None`` if it (or its object) is not there."""
        try:
            return revision_str(self.get(service, ref, key).revision)
        except SyncError:
            return None

    # --------------------------------------------------------------- writes
    def update(
        self,
        service: str,
        ref: str,
        key: K,
        *,
        data: Mapping[str, Any] | None = None,
        ttl: int | None = None,
        collection_ttl: int | None = None,
        if_match: str | None = None,
    ) -> R:
        """Replace the item's data (wholesale) and/or TTL; with ``if_match``, only at that
        revision. ``collection_ttl`` refreshes the parent's TTL in the same write."""
        if data is None and ttl is None:
            if collection_ttl is not None:
                raise NothingToUpdate(
                    f"CollectionTtl can only be used when the {self.label}'s data or ttl is "
                    "updated in the same request"
                )
            raise NothingToUpdate("Expected at least 1 optional parameter, but none were provided")
        data_json = None if data is None else self._data(data)
        check_ttl("ItemTtl", ttl)
        check_ttl("CollectionTtl", collection_ttl)
        with self._core.transaction() as now:
            service_state, state, items = self._open(service, ref, now)
            item = self._live(state, items, key)
            check_revision(item.revision, if_match, key, f"{self.kind.name}_item")
            changes: dict[str, Any] = {"date_updated": now}
            if data_json is not None:
                changes["data_json"] = data_json
            if ttl is not None:
                changes["date_expires"] = expires_at(now, ttl)
            return self._write(
                service_state, state, items, replace(item, **changes), collection_ttl, now
            )

    def delete(self, service: str, ref: str, key: K, *, if_match: str | None = None) -> None:
        """Remove the item; with ``if_match``, only at that revision."""
        core = self._core
        with core.transaction() as now:
            service_state, state, items = self._open(service, ref, now)
            item = self._live(state, items, key)
            check_revision(item.revision, if_match, key, f"{self.kind.name}_item")
            del items.records[key]
            items.index.remove(key)
            items.expiry.schedule(key, item.date_expires, None)
            state.record = replace(
                state.record, revision=state.record.revision + 1, date_updated=now
            )
            core.emit(f"{self.kind.name}_item_removed", "write", now, service_state,
                      state.record, key=key)  # fmt: skip


class MapItems(ItemsOf[str, ItemRecord]):
    """Map Items, addressed by key."""

    def __init__(self, core: Core) -> None:
        super().__init__(core, MAP, "Map Item")

    def _new(self, parent: ObjectRecord, key: str, data_json: str, ttl: int | None,
             now: datetime) -> ItemRecord:  # fmt: skip
        return ItemRecord(
            key=key,
            map_sid=parent.sid,
            service_sid=parent.service_sid,
            data_json=data_json,
            revision=0,
            date_created=now,
            date_updated=now,
            date_expires=expires_at(now, ttl),
        )

    def _missing(self, parent: ObjectRecord, key: str) -> SyncError:
        return ItemNotFound(parent.sid, key)

    @staticmethod
    def _key_of(record: ItemRecord) -> str:
        return record.key

    def create(
        self,
        service: str,
        ref: str,
        key: str,
        data: Mapping[str, Any],
        *,
        ttl: int | None = None,
        collection_ttl: int | None = None,
    ) -> ItemRecord:
        """Add an item; :class:`ItemAlreadyExists` if the key is taken."""
        check_key(key, self._core.choices.key_max_length)
        return self._add(service, ref, key, data, ttl, collection_ttl)

    def put(
        self, service: str, ref: str, key: str, data: Mapping[str, Any], *, ttl: int | None = None
    ) -> ItemRecord:
        """Create the item, or replace its data (and TTL, when given): an atomic upsert."""
        check_key(key, self._core.choices.key_max_length)
        data_json = self._data(data)
        check_ttl("ItemTtl", ttl)
        with self._core.transaction() as now:
            service_state, state, items = self._open(service, ref, now)
            item = items.records.get(key)
            if item is None:
                new = self._new(state.record, key, data_json, ttl, now)
            else:
                new = replace(cast(ItemRecord, item), data_json=data_json, date_updated=now)
                if ttl is not None:
                    new = replace(new, date_expires=expires_at(now, ttl))
            return self._write(service_state, state, items, new, None, now)


class ListItems(ItemsOf[int, ListItemRecord]):
    """List Items, addressed by an index the List assigns: 0, 1, 2... never reused."""

    def __init__(self, core: Core) -> None:
        super().__init__(core, LIST, "List Item")

    def _new(self, parent: ObjectRecord, key: int, data_json: str, ttl: int | None,
             now: datetime) -> ListItemRecord:  # fmt: skip
        return ListItemRecord(
            index=key,
            list_sid=parent.sid,
            service_sid=parent.service_sid,
            data_json=data_json,
            revision=0,
            date_created=now,
            date_updated=now,
            date_expires=expires_at(now, ttl),
        )

    def _missing(self, parent: ObjectRecord, key: int) -> SyncError:
        return ListItemNotFound(parent.sid, key)

    @staticmethod
    def _key_of(record: ListItemRecord) -> int:
        return record.index

    def _next_key(self, items: Items[int]) -> int:
        index = items.next_index
        items.next_index += 1
        return index

    def create(
        self,
        service: str,
        ref: str,
        data: Mapping[str, Any],
        *,
        ttl: int | None = None,
        collection_ttl: int | None = None,
    ) -> ListItemRecord:
        """Append an item; it gets the List's next index."""
        return self._add(service, ref, None, data, ttl, collection_ttl)
