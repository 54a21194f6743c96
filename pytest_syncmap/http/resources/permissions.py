"""Permissions on Maps, Lists and Documents: ``…/{object}/Permissions[/{identity...}]``.

The three families share one shape (``SYNC_OTHER.md`` 1.3, 3.9): there is no create,
the POST to an identity's URL is an upsert that needs all three of ``Read``, ``Write``
and ``Manage``; fetch and delete answer 404 / 54354 for an identity without a
permission; the listing is in identity order with an identity cursor. Permissions are
stored and shown, never enforced on REST (``choices.py``, SYNC_OTHER Q21).

The identity is everything after ``/Permissions/`` (slashes included, as for Map Item
keys: twilio-python and twilio-node put it raw into the path), and the resource ``url``
carries it percent-encoded as one segment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from pytest_syncmap.domain.model import PermissionRecord, Store
from pytest_syncmap.domain.permissions import PermissionsOf
from pytest_syncmap.domain.validation import check_identity
from pytest_syncmap.http.api import Api, Call, Result
from pytest_syncmap.http.paging import list_page, read_paging
from pytest_syncmap.http.params import parse_required_bool
from pytest_syncmap.http.routing import Handler, Operation, Route

__all__ = ["ROUTES", "permission_json"]


@dataclass(frozen=True)
class _Family:
    """What differs between the permissions of Maps, Lists and Documents."""

    #: Path segment of the object collection: ``Maps``, ``Lists``, ``Documents``.
    segment: str
    #: Path parameter naming the object in the route templates.
    param: str
    #: Body field holding the object's SID: ``map_sid``, ``list_sid``, ``document_sid``.
    sid_field: str
    #: The middle of the operation ids: ``SyncMap``, ``SyncList``, ``Document``.
    op_name: str
    #: The permissions of this kind in a store.
    permissions: Callable[[Store], PermissionsOf]


MAP = _Family("Maps", "map", "map_sid", "SyncMap", lambda store: store.maps.permissions)
LIST = _Family("Lists", "list", "list_sid", "SyncList", lambda store: store.lists.permissions)
DOCUMENT = _Family(
    "Documents", "document", "document_sid", "Document", lambda store: store.documents.permissions
)


def permission_json(rec: PermissionRecord, base: str, account_sid: str, sid_field: str) -> str:
    """A Map, List or Document Permission resource as JSON text (no SID, no dates)."""
    segment = {"map_sid": "Maps", "list_sid": "Lists", "document_sid": "Documents"}[sid_field]
    return json.dumps(
        {
            "account_sid": account_sid,
            "service_sid": rec.service_sid,
            sid_field: rec.object_sid,
            "identity": rec.identity,
            "read": rec.read,
            "write": rec.write,
            "manage": rec.manage,
            "url": (
                f"{base}/v1/Services/{rec.service_sid}/{segment}/{rec.object_sid}"
                f"/Permissions/{quote(rec.identity, safe='')}"
            ),
        }
    )


def _handlers(family: _Family) -> tuple[Handler, Handler, Handler, Handler]:
    """List, fetch, update (upsert) and delete for one family."""

    def render(api: Api, call: Call, rec: PermissionRecord) -> str:
        return permission_json(rec, call.base, api.account_sid, family.sid_field)

    def identity(call: Call) -> str:
        value = call.params["identity"]
        check_identity(value)
        return value

    def list_permissions(api: Api, call: Call) -> Result:
        paging = read_paging(call, api.choices, str)
        page = family.permissions(api.store).page(
            call.params["service"],
            call.params[family.param],
            limit=paging.size,
            **paging.cursor,
        )
        records = [render(api, call, r) for r in page.records]
        return 200, list_page(call, "permissions", records, page, paging), {}

    def fetch_permission(api: Api, call: Call) -> Result:
        rec = family.permissions(api.store).get(
            call.params["service"], call.params[family.param], identity(call)
        )
        return 200, render(api, call, rec), {}

    def update_permission(api: Api, call: Call) -> Result:
        form = call.form
        flags = {name.lower(): parse_required_bool(form, name) for name in _FLAGS}
        rec = family.permissions(api.store).put(
            call.params["service"], call.params[family.param], identity(call), **flags
        )
        return 200, render(api, call, rec), {}

    def delete_permission(api: Api, call: Call) -> Result:
        family.permissions(api.store).delete(
            call.params["service"], call.params[family.param], identity(call)
        )
        return 204, "", {}

    return list_permissions, fetch_permission, update_permission, delete_permission


#: The upsert's required flags, in the order they are checked.
_FLAGS = ("Read", "Write", "Manage")


def _routes(family: _Family) -> tuple[Route, Route]:
    list_, fetch, update, delete = _handlers(family)
    resource = f"{family.param}_permission"
    name = f"{family.op_name}Permission"
    base = f"/v1/Services/{{service}}/{family.segment}/{{{family.param}}}/Permissions"
    return (
        Route(base, {"GET": Operation(f"List{name}", list_, resource, collection=True)}),
        Route(
            base + "/{identity...}",
            {
                "GET": Operation(f"Fetch{name}", fetch, resource),
                "POST": Operation(f"Update{name}", update, resource),
                "DELETE": Operation(f"Delete{name}", delete, resource),
            },
        ),
    )


#: Map, Document and List Permission routes (the table places each after its object).
MAP_ROUTES = _routes(MAP)
LIST_ROUTES = _routes(LIST)
DOCUMENT_ROUTES = _routes(DOCUMENT)
ROUTES = (*MAP_ROUTES, *DOCUMENT_ROUTES, *LIST_ROUTES)
