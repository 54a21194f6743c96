"""Maps and Map Items: ``/v1/Services/{service}/Maps[/{map}[/Items[/{key...}]]]``.

A Map is addressed by SID or unique name. Everything after ``/Items/`` is the item key
(greedy, slashes included). Item answers carry ``ETag: <revision>``; ``If-Match`` is
read on item update and delete only.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from pytest_syncmap.domain.model import ItemRecord, MapRecord, revision_str
from pytest_syncmap.http.api import Api, Call, Result, dumps
from pytest_syncmap.http.paging import list_page, read_item_query, read_paging
from pytest_syncmap.http.params import parse_data, parse_ttl
from pytest_syncmap.http.render import iso
from pytest_syncmap.http.routing import Operation, Route
from pytest_syncmap.http.twilio_errors import TwilioError

__all__ = ["ROUTES", "item_json", "map_json"]


def map_json(rec: MapRecord, base: str, account_sid: str) -> dict[str, Any]:
    """The Map resource."""
    url = f"{base}/v1/Services/{rec.service_sid}/Maps/{rec.sid}"
    return {
        "sid": rec.sid,
        "unique_name": rec.unique_name,
        "account_sid": account_sid,
        "service_sid": rec.service_sid,
        "url": url,
        "links": {"items": f"{url}/Items", "permissions": f"{url}/Permissions"},
        "revision": revision_str(rec.revision),
        "date_expires": iso(rec.date_expires),
        "date_created": iso(rec.date_created),
        "date_updated": iso(rec.date_updated),
        "created_by": rec.created_by,
    }


def item_json(rec: ItemRecord, base: str, account_sid: str) -> str:
    """The Map Item resource as JSON text (no ``sid``, no ``links``: it has neither).

    The item's data is stored as compact JSON text and spliced in as it is, so a fetch
    never re-serialises it.
    """
    fields = {
        "key": rec.key,
        "account_sid": account_sid,
        "service_sid": rec.service_sid,
        "map_sid": rec.map_sid,
        "url": (
            f"{base}/v1/Services/{rec.service_sid}/Maps/{rec.map_sid}"
            f"/Items/{quote(rec.key, safe='')}"
        ),
        "revision": revision_str(rec.revision),
        "date_expires": iso(rec.date_expires),
        "date_created": iso(rec.date_created),
        "date_updated": iso(rec.date_updated),
        "created_by": rec.created_by,
    }
    text = json.dumps(fields)
    return f'{text[:-1]}, "data": {rec.data_json}}}'


# ------------------------------------------------------------------- maps
def _map(api: Api, call: Call, rec: MapRecord) -> str:
    return dumps(map_json(rec, call.base, api.account_sid))


def create_map(api: Api, call: Call) -> Result:
    """CreateSyncMap."""
    form = call.form
    ttl = parse_ttl(form, "CollectionTtl", "Ttl")
    rec = api.store.create_map(call.params["service"], unique_name=form.get("UniqueName"), ttl=ttl)
    return 201, _map(api, call, rec), {}


def fetch_map(api: Api, call: Call) -> Result:
    """FetchSyncMap."""
    return 200, _map(api, call, api.store.get_map(call.params["service"], call.params["map"])), {}


def update_map(api: Api, call: Call) -> Result:
    """UpdateSyncMap: only its TTL can change."""
    ttl = parse_ttl(call.form, "CollectionTtl", "Ttl")
    rec = api.store.update_map(call.params["service"], call.params["map"], ttl=ttl)
    return 200, _map(api, call, rec), {}


def delete_map(api: Api, call: Call) -> Result:
    """DeleteSyncMap, with all its items."""
    api.store.delete_map(call.params["service"], call.params["map"])
    return 204, "", {}


def list_maps(api: Api, call: Call) -> Result:
    """ListSyncMap: a Service's Maps in creation order."""
    paging = read_paging(call, api.choices, int)
    page = api.store.list_maps(call.params["service"], limit=paging.size, **paging.cursor)
    records = [_map(api, call, r) for r in page.records]
    return 200, list_page(call, "maps", records, page, paging), {}


# ------------------------------------------------------------------ items
def _item(api: Api, call: Call, rec: ItemRecord, status: int) -> Result:
    return status, item_json(rec, call.base, api.account_sid), {"ETag": revision_str(rec.revision)}


def create_item(api: Api, call: Call) -> Result:
    """CreateSyncMapItem: ``Key`` and ``Data`` are required."""
    form = call.form
    key = form.get("Key")
    if key is None:
        raise TwilioError.missing("Key")
    raw = form.get("Data")
    if raw is None:
        raise TwilioError.missing("Data")
    data = parse_data(raw, api.choices)
    ttl = parse_ttl(form, "ItemTtl", "Ttl")
    collection_ttl = parse_ttl(form, "CollectionTtl")
    rec = api.store.create_item(
        call.params["service"], call.params["map"], key, data, ttl=ttl,
        collection_ttl=collection_ttl,
    )  # fmt: skip
    return _item(api, call, rec, 201)


def fetch_item(api: Api, call: Call) -> Result:
    """FetchSyncMapItem."""
    params = call.params
    rec = api.store.get_item(params["service"], params["map"], params["key"])
    return _item(api, call, rec, 200)


def update_item(api: Api, call: Call) -> Result:
    """UpdateSyncMapItem: new data and/or TTL, conditional on ``If-Match``."""
    form, params = call.form, call.params
    data = parse_data(form["Data"], api.choices) if "Data" in form else None
    rec = api.store.update_item(
        params["service"],
        params["map"],
        params["key"],
        data=data,
        ttl=parse_ttl(form, "ItemTtl", "Ttl"),
        collection_ttl=parse_ttl(form, "CollectionTtl"),
        if_match=call.if_match,
    )
    return _item(api, call, rec, 200)


def delete_item(api: Api, call: Call) -> Result:
    """DeleteSyncMapItem, conditional on ``If-Match``."""
    params = call.params
    api.store.delete_item(params["service"], params["map"], params["key"], if_match=call.if_match)
    return 204, "", {}


def list_items(api: Api, call: Call) -> Result:
    """ListSyncMapItem: key order, ``Order``/``From``/``Bounds``, key cursor."""
    items = read_item_query(call, api.choices)
    paging = read_paging(call, api.choices, str)
    page = api.store.maps.items.page(
        call.params["service"],
        call.params["map"],
        limit=paging.size,
        **items.bounds,
        **paging.cursor,
    )
    records = [item_json(r, call.base, api.account_sid) for r in page.records]
    return 200, list_page(call, "items", records, page, paging, items.filters), {}


ROUTES = (
    Route(
        "/v1/Services/{service}/Maps",
        {
            "GET": Operation("ListSyncMap", list_maps, "map", collection=True),
            "POST": Operation("CreateSyncMap", create_map, "map", collection=True),
        },
    ),
    Route(
        "/v1/Services/{service}/Maps/{map}",
        {
            "GET": Operation("FetchSyncMap", fetch_map, "map"),
            "POST": Operation("UpdateSyncMap", update_map, "map"),
            "DELETE": Operation("DeleteSyncMap", delete_map, "map"),
        },
    ),
    Route(
        "/v1/Services/{service}/Maps/{map}/Items",
        {
            "GET": Operation("ListSyncMapItem", list_items, "map_item", collection=True),
            "POST": Operation("CreateSyncMapItem", create_item, "map_item", collection=True),
        },
    ),
    Route(
        "/v1/Services/{service}/Maps/{map}/Items/{key...}",
        {
            "GET": Operation("FetchSyncMapItem", fetch_item, "map_item"),
            "POST": Operation("UpdateSyncMapItem", update_item, "map_item", if_match=True),
            "DELETE": Operation("DeleteSyncMapItem", delete_item, "map_item", if_match=True),
        },
    ),
)
