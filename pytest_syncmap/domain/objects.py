"""Maps, Lists, Documents and Streams as objects: create, fetch, update, delete, list.

:class:`Objects` holds what the four kinds share (unique names, TTL, revisions, creation
order, events); its subclasses add only what Twilio adds: a Document's data and
conditional writes, a Stream's messages, the items and permissions of Maps and Lists.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from .core import Core, expires_at
from .errors import NothingToUpdate, SyncError
from .ids import new_sid, revision_str
from .items import ListItems, MapItems
from .kinds import DOCUMENT, LIST, MAP, STREAM, Kind
from .paging import page
from .permissions import PermissionsOf
from .records import (
    DocumentRecord,
    ListRecord,
    MapRecord,
    ObjectRecord,
    Page,
    StreamMessage,
    StreamRecord,
)
from .state import ObjectState
from .validation import check_revision, check_ttl, check_unique_name, serialize_data

__all__ = ["Documents", "Lists", "Maps", "Objects", "Streams"]

R = TypeVar("R", bound=ObjectRecord)


class Objects(Generic[R]):
    """The objects of one kind, in every Service of a store."""

    kind: Kind

    def __init__(self, core: Core, kind: Kind) -> None:
        self._core = core
        self.kind = kind

    # ------------------------------------------------------------- creation
    def _create(
        self, service_ref: str, unique_name: str | None, ttl: int | None, **extra: Any
    ) -> R:
        core = self._core
        if unique_name is not None:
            check_unique_name(unique_name, core.choices)
        check_ttl("Ttl", ttl)
        with core.transaction() as now:
            service = core.service(service_ref, now)
            if unique_name is not None:
                core.check_name_free(service, self.kind, unique_name, now)
            record = self.kind.record(
                sid=new_sid(self.kind.prefix),
                service_sid=service.record.sid,
                unique_name=unique_name,
                revision=0,
                date_created=now,
                date_updated=now,
                date_expires=expires_at(now, ttl),
                **extra,
            )
            state = ObjectState(record, core.next_seq(), self.kind)
            service.namespace(self.kind).add(state)
            core.emit(f"{self.kind.name}_created", "write", now, service, record)
            return cast(R, record)

    def create(self, service: str, *, unique_name: str | None = None, ttl: int | None = None) -> R:
        """Create an object, optionally with a unique name and a TTL in seconds."""
        return self._create(service, unique_name, ttl)

    # ---------------------------------------------------------------- reads
    def get(self, service: str, ref: str) -> R:
        """The live object by SID or unique name."""
        core = self._core
        with core.transaction() as now:
            return cast(R, core.lookup(self.kind, service, ref, now).record)

    def page(
        self,
        service: str,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        before_inclusive: bool = False,
    ) -> Page[R]:
        """A page of the Service's objects of this kind in creation order.

        ``after``/``before`` are creation numbers from a previous page's ends.
        """
        core = self._core
        with core.transaction() as now:
            svc = core.service(service, now)
            ns = svc.namespace(self.kind)
            core.purge_objects(svc, ns, now)
            objects, by_seq = ns.objects, ns.by_seq
            return page(
                ns.order,
                lambda seq: cast(R, objects[by_seq[seq]].record),
                lambda rec: objects[rec.sid].seq,
                limit=limit,
                after=after,
                before=before,
                before_inclusive=before_inclusive,
            )

    def expired_at(self, service: str, ref: str) -> datetime | None:
        """When expiry collected the object with this SID, if it did (``None`` otherwise)."""
        core = self._core
        with core.transaction() as now:
            svc = core.service(service, now)
            ns = svc.namespace(self.kind)
            core.purge_objects(svc, ns, now)
            return None if ref in ns.objects else ns.expired.get(ref)

    # --------------------------------------------------------------- writes
    def _update(
        self,
        service_ref: str,
        ref: str,
        *,
        ttl: int | None,
        if_match: str | None = None,
        **changes: Any,
    ) -> R:
        if ttl is None and not changes:
            raise NothingToUpdate("Expected at least 1 optional parameter, but none were provided")
        check_ttl("Ttl", ttl)
        core = self._core
        with core.transaction() as now:
            service = core.service(service_ref, now)
            state = core.find(service, self.kind, ref, now)
            check_revision(state.record.revision, if_match, state.record.sid, self.kind.name)
            if ttl is not None:
                core.set_ttl(service.namespace(self.kind), state, ttl, now)
            if self.kind.revisions:
                changes["revision"] = state.record.revision + 1
            state.record = replace(state.record, date_updated=now, **changes)
            self._updated(core, service, state, now)
            return cast(R, state.record)

    def _updated(self, core: Core, service: Any, state: ObjectState, now: datetime) -> None:
        """Hook: what an update announces (Documents say ``document_updated``)."""

    def update(self, service: str, ref: str, *, ttl: int | None) -> R:
        """Set the object's TTL (0 removes the expiry); ``None`` means nothing was sent."""
        return self._update(service, ref, ttl=ttl)

    def _delete(self, service_ref: str, ref: str, if_match: str | None = None) -> None:
        core = self._core
        with core.transaction() as now:
            service = core.service(service_ref, now)
            state = core.find(service, self.kind, ref, now)
            check_revision(state.record.revision, if_match, state.record.sid, self.kind.name)
            core.drop(service, state, now, cause="write")

    def delete(self, service: str, ref: str) -> None:
        """Delete the object (with its items and permissions)."""
        self._delete(service, ref)


class Maps(Objects[MapRecord]):
    """Sync Maps (``MP``); their items are :class:`~.items.MapItems`."""

    def __init__(self, core: Core) -> None:
        super().__init__(core, MAP)
        #: The items of every Map, by key.
        self.items = MapItems(core)
        #: Identities' permissions on Maps.
        self.permissions = PermissionsOf(core, MAP)


class Lists(Objects[ListRecord]):
    """Sync Lists (``ES``); their items are :class:`~.items.ListItems`."""

    def __init__(self, core: Core) -> None:
        super().__init__(core, LIST)
        #: The items of every List, by index.
        self.items = ListItems(core)
        #: Identities' permissions on Lists.
        self.permissions = PermissionsOf(core, LIST)


class Documents(Objects[DocumentRecord]):
    """Sync Documents (``ET``): one JSON object each, with conditional updates."""

    def __init__(self, core: Core) -> None:
        super().__init__(core, DOCUMENT)
        #: Identities' permissions on Documents.
        self.permissions = PermissionsOf(core, DOCUMENT)

    def _data(self, data: Any) -> str:
        choices = self._core.choices
        return serialize_data(
            data, choices.data_max_bytes, "Document", max_depth=choices.data_max_depth
        )

    def create(
        self,
        service: str,
        *,
        unique_name: str | None = None,
        data: Any = None,
        ttl: int | None = None,
    ) -> DocumentRecord:
        """Create a Document; without ``data`` it holds ``{}``."""
        data_json = "{}" if data is None else self._data(data)
        return self._create(service, unique_name, ttl, data_json=data_json)

    def update(
        self,
        service: str,
        ref: str,
        *,
        data: Any = None,
        ttl: int | None = None,
        if_match: str | None = None,
    ) -> DocumentRecord:
        """Replace the data (wholesale) and/or the TTL; with ``if_match``, only at that
        revision."""
        changes = {} if data is None else {"data_json": self._data(data)}
        return self._update(service, ref, ttl=ttl, if_match=if_match, **changes)

    def _updated(self, core: Core, service: Any, state: ObjectState, now: datetime) -> None:
        core.emit("document_updated", "write", now, service, state.record)

    def delete(self, service: str, ref: str, *, if_match: str | None = None) -> None:
        """Delete the Document; with ``if_match``, only at that revision."""
        self._delete(service, ref, if_match)

    def peek_revision(self, service: str, ref: str) -> str | None:
        """The Document's revision now, or ``None`` if it is not there."""
        try:
            return revision_str(self.get(service, ref).revision)
        except SyncError:
            return None


class Streams(Objects[StreamRecord]):
    """Sync Streams (``TO``): messages are published, relayed to listeners, never kept."""

    def __init__(self, core: Core) -> None:
        super().__init__(core, STREAM)

    def publish(self, service: str, ref: str, data: Any) -> StreamMessage:
        """Publish a message (at most ``choices.stream_message_max_bytes`` of JSON)."""
        core = self._core
        data_json = serialize_data(
            data,
            core.choices.stream_message_max_bytes,
            "Stream Message",
            max_depth=core.choices.data_max_depth,
        )
        with core.transaction() as now:
            svc = core.service(service, now)
            state = core.find(svc, STREAM, ref, now)
            message = StreamMessage(
                sid=new_sid("TZ"),
                service_sid=svc.record.sid,
                stream_sid=state.record.sid,
                data_json=data_json,
                date_published=now,
            )
            core.emit("stream_message_published", "write", now, svc, state.record, message=message)
            return message
