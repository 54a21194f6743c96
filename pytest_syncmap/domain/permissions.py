"""Permissions of identities on Documents, Lists and Maps.

A permission binds an identity to one object with three flags (``read``, ``write``,
``manage``). Twilio applies them only to client SDK tokens when the Service has
``acl_enabled``; REST calls with account credentials are never subject to them, so the
emulator stores, upserts, lists and deletes them but never enforces them
(``SYNC_OTHER.md`` Q21). There is no create: the upsert is the only writer. They are
listed in identity order (Q17), and go with their object when it is deleted or expires.
"""

from __future__ import annotations

from datetime import datetime

from .core import Core
from .errors import PermissionNotFound
from .kinds import Kind
from .paging import page
from .records import Page, PermissionRecord
from .state import Permissions, ServiceState
from .validation import check_identity

__all__ = ["PermissionsOf"]


class PermissionsOf:
    """The permissions on every object of one kind (Maps, Lists or Documents)."""

    def __init__(self, core: Core, kind: Kind) -> None:
        assert kind.permissions, kind
        self._core = core
        self.kind = kind

    def _open(self, service: str, ref: str, now: datetime) -> tuple[ServiceState, str, Permissions]:
        core = self._core
        svc = core.service(service, now)
        state = core.find(svc, self.kind, ref, now)
        assert state.permissions is not None
        return svc, state.record.sid, state.permissions

    def put(
        self, service: str, ref: str, identity: str, *, read: bool, write: bool, manage: bool
    ) -> PermissionRecord:
        """Create or replace the identity's permission (all three flags at once)."""
        check_identity(identity)
        with self._core.transaction() as now:
            svc, sid, permissions = self._open(service, ref, now)
            record = PermissionRecord(
                service_sid=svc.record.sid,
                kind=self.kind.name,
                object_sid=sid,
                identity=identity,
                read=read,
                write=write,
                manage=manage,
            )
            if identity not in permissions.records:
                permissions.index.add(identity)
            permissions.records[identity] = record
            return record

    def get(self, service: str, ref: str, identity: str) -> PermissionRecord:
        """The identity's permission; :class:`PermissionNotFound` if it has none."""
        with self._core.transaction() as now:
            _, sid, permissions = self._open(service, ref, now)
            record = permissions.records.get(identity)
            if record is None:
                raise PermissionNotFound(sid, identity)
            return record

    def delete(self, service: str, ref: str, identity: str) -> None:
        """Remove the identity's permission; :class:`PermissionNotFound` if it has none."""
        with self._core.transaction() as now:
            _, sid, permissions = self._open(service, ref, now)
            if permissions.records.pop(identity, None) is None:
                raise PermissionNotFound(sid, identity)
            permissions.index.remove(identity)

    def page(
        self,
        service: str,
        ref: str,
        *,
        limit: int,
        after: str | None = None,
        before: str | None = None,
        before_inclusive: bool = False,
    ) -> Page[PermissionRecord]:
        """A page of the object's permissions in identity order."""
        with self._core.transaction() as now:
            _, _, permissions = self._open(service, ref, now)
            records = permissions.records
            return page(
                permissions.index,
                records.get,
                lambda record: record.identity,
                limit=limit,
                after=after,
                before=before,
                before_inclusive=before_inclusive,
            )
