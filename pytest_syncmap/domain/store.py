"""The :class:`Store`: all Sync state of one emulator, behind one lock.

It is organised the way the REST API is::

    store.create_service(...)                      # Services
    store.maps.create(service, unique_name="m")    # Maps, Lists, Documents, Streams
    store.maps.items.put(service, "m", "k", {...}) # Map Items (by key)
    store.lists.items.create(service, "l", {...})  # List Items (appended, by index)
    store.documents.update(service, "d", data={...}, if_match="1")
    store.streams.publish(service, "s", {...})
    store.maps.permissions.put(service, "m", "alice", read=True, write=False, manage=False)

Arguments are parsed Python values (the HTTP layer turns form strings into them) and
every method is atomic; records returned are immutable snapshots. ``service`` is a
Service SID or ``default``; an object is addressed by SID or unique name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from .core import SERVICE_DEFAULTS, Core
from .objects import Documents, Lists, Maps, Streams
from .paging import page
from .records import ItemRecord, MapRecord, Page, ServiceRecord

__all__ = ["Store"]


class Store(Core):
    """All Sync state of one emulator; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Sync Maps; ``maps.items`` are their items, ``maps.permissions`` their ACL.
        self.maps = Maps(self)
        #: Sync Lists; ``lists.items`` are their items, ``lists.permissions`` their ACL.
        self.lists = Lists(self)
        #: Sync Documents; ``documents.permissions`` their ACL.
        self.documents = Documents(self)
        #: Sync Streams and their (never stored) messages.
        self.streams = Streams(self)

    # --------------------------------------------------------------- services
    @property
    def default_service_sid(self) -> str:
        """The SID that the literal ``default`` currently stands for."""
        with self.transaction() as now:
            return self.default_service(now).record.sid

    def create_service(self, **fields: Any) -> ServiceRecord:
        """Create a Service; ``fields`` are ``SERVICE_DEFAULTS`` names."""
        _check_service_fields(fields)
        with self.transaction() as now:
            return self.add_service(now, fields).record

    def get_service(self, ref: str) -> ServiceRecord:
        """Fetch a Service by SID or ``default``."""
        with self.transaction() as now:
            return self.service(ref, now).record

    def update_service(self, ref: str, **fields: Any) -> ServiceRecord:
        """Change some of a Service's settings."""
        _check_service_fields(fields)
        with self.transaction() as now:
            state = self.service(ref, now)
            if fields:
                state.record = replace(state.record, date_updated=now, **fields)
            return state.record

    def delete_service(self, ref: str) -> None:
        """Delete a Service with all its objects."""
        with self.transaction() as now:
            self._forget_service(self.service(ref, now))

    def list_services(
        self,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        before_inclusive: bool = False,
    ) -> Page[ServiceRecord]:
        """A page of Services in creation order; ``after``/``before`` are page cursors."""
        with self.transaction() as now:
            self.default_service(now)
            services, by_seq = self._services, self._service_by_seq
            return page(
                self._service_order,
                lambda seq: services[by_seq[seq]].record,
                lambda rec: services[rec.sid].seq,
                limit=limit,
                after=after,
                before=before,
                before_inclusive=before_inclusive,
            )

    # ------------------------------------------------- Maps (short names)
    # The Map operations under the names the rest of the package has always used.
    def create_map(
        self, service_ref: str, *, unique_name: str | None = None, ttl: int | None = None
    ) -> MapRecord:
        """Create a Map (``maps.create``)."""
        return self.maps.create(service_ref, unique_name=unique_name, ttl=ttl)

    def get_map(self, service_ref: str, map_ref: str) -> MapRecord:
        """Fetch a Map by SID or unique name (``maps.get``)."""
        return self.maps.get(service_ref, map_ref)

    def update_map(self, service_ref: str, map_ref: str, *, ttl: int | None) -> MapRecord:
        """Set a Map's TTL (``maps.update``)."""
        return self.maps.update(service_ref, map_ref, ttl=ttl)

    def delete_map(self, service_ref: str, map_ref: str) -> None:
        """Delete a Map and its items (``maps.delete``)."""
        self.maps.delete(service_ref, map_ref)

    def list_maps(self, service_ref: str, **kw: Any) -> Page[MapRecord]:
        """A page of a Service's Maps (``maps.page``)."""
        return self.maps.page(service_ref, **kw)

    def create_item(
        self, service_ref: str, map_ref: str, key: str, data: Mapping[str, Any], **kw: Any
    ) -> ItemRecord:
        """Add a Map item (``maps.items.create``)."""
        return self.maps.items.create(service_ref, map_ref, key, data, **kw)

    def put_item(
        self, service_ref: str, map_ref: str, key: str, data: Mapping[str, Any], **kw: Any
    ) -> ItemRecord:
        """Create or replace a Map item (``maps.items.put``)."""
        return self.maps.items.put(service_ref, map_ref, key, data, **kw)

    def get_item(self, service_ref: str, map_ref: str, key: str) -> ItemRecord:
        """Fetch a live Map item (``maps.items.get``)."""
        return self.maps.items.get(service_ref, map_ref, key)

    def update_item(self, service_ref: str, map_ref: str, key: str, **kw: Any) -> ItemRecord:
        """Update a Map item (``maps.items.update``)."""
        return self.maps.items.update(service_ref, map_ref, key, **kw)

    def delete_item(self, service_ref: str, map_ref: str, key: str, **kw: Any) -> None:
        """Remove a Map item (``maps.items.delete``)."""
        self.maps.items.delete(service_ref, map_ref, key, **kw)

    def list_items(self, service_ref: str, map_ref: str, **kw: Any) -> Page[ItemRecord]:
        """A page of a Map's items (``maps.items.page``)."""
        return self.maps.items.page(service_ref, map_ref, **kw)

    def item_count(self, service_ref: str, map_ref: str) -> int:
        """How many live items the Map holds (``maps.items.count``)."""
        return self.maps.items.count(service_ref, map_ref)

    def peek_revision(self, service_ref: str, map_ref: str, key: str) -> str | None:
        """A Map item's revision, or ``None`` (``maps.items.peek_revision``)."""
        return self.maps.items.peek_revision(service_ref, map_ref, key)

    def expired_at(self, service_ref: str, map_ref: str, key: str) -> datetime | None:
        """When expiry collected a Map item (``maps.items.expired_at``)."""
        return self.maps.items.expired_at(service_ref, map_ref, key)

    def all_items(self, service_ref: str, map_ref: str) -> list[ItemRecord]:
        """Every live Map item in key order (``maps.items.all``)."""
        return self.maps.items.all(service_ref, map_ref)


def _check_service_fields(fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - set(SERVICE_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown Service field(s): {', '.join(sorted(unknown))}")
