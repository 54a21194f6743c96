"""Lists and List Items: ``/v1/Services/{service}/Lists[/{list}[/Items[/{index}]]]``.

A List is addressed by SID or unique name; its items by the index the List gave them
on append (from 0, never reused, so indexes have gaps after deletes; ``SYNC_OTHER.md``
3.5). Item answers carry ``ETag: <revision>``; ``If-Match`` is read on item update and
delete only. An ``{index}`` or ``From`` that is not a non-negative integer is 400 /
54458; an item create without ``Data`` (or with it empty or ``null``) is 400 / 54156.

The item listing reads ``Order``, ``From`` and ``Bounds`` like the Map Item listing,
with an index cursor in ``PageToken`` so pages stay right while items come and go;
a ``From`` in a gap (or past the end) starts at the next index in the reading order.
"""

from __future__ import annotations

from pytest_syncmap.domain.model import ListItemRecord, ListRecord, revision_str
from pytest_syncmap.http.api import Api, Call, Result, dumps
from pytest_syncmap.http.paging import list_page, read_item_query, read_paging
from pytest_syncmap.http.params import (
    null_data,
    parse_index,
    parse_nullable_data,
    parse_ttl,
)
from pytest_syncmap.http.render import iso, with_data
from pytest_syncmap.http.routing import Operation, Route

__all__ = ["ROUTES", "list_item_json", "list_json"]


def list_json(rec: ListRecord, base: str, account_sid: str) -> str:
    """The List resource as JSON text (it has no data of its own)."""
    url = f"{base}/v1/Services/{rec.service_sid}/Lists/{rec.sid}"
    return dumps(
        {
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
    )


def list_item_json(rec: ListItemRecord, base: str, account_sid: str) -> str:
    """The List Item resource as JSON text (no ``sid``, no ``links``: it has neither)."""
    head = {
        "index": rec.index,
        "account_sid": account_sid,
        "service_sid": rec.service_sid,
        "list_sid": rec.list_sid,
        "url": f"{base}/v1/Services/{rec.service_sid}/Lists/{rec.list_sid}/Items/{rec.index}",
        "revision": revision_str(rec.revision),
    }
    tail = {
        "date_expires": iso(rec.date_expires),
        "date_created": iso(rec.date_created),
        "date_updated": iso(rec.date_updated),
        "created_by": rec.created_by,
    }
    return with_data(head, rec.data_json, tail)


# ------------------------------------------------------------------ lists
def create_list(api: Api, call: Call) -> Result:
    """CreateSyncList: ``UniqueName``, ``CollectionTtl`` (alias ``Ttl``)."""
    form = call.form
    rec = api.store.lists.create(
        call.params["service"],
        unique_name=form.get("UniqueName"),
        ttl=parse_ttl(form, "CollectionTtl", "Ttl"),
    )
    return 201, list_json(rec, call.base, api.account_sid), {}


def fetch_list(api: Api, call: Call) -> Result:
    """FetchSyncList."""
    rec = api.store.lists.get(call.params["service"], call.params["list"])
    return 200, list_json(rec, call.base, api.account_sid), {}


def update_list(api: Api, call: Call) -> Result:
    """UpdateSyncList: only its TTL can change."""
    ttl = parse_ttl(call.form, "CollectionTtl", "Ttl")
    rec = api.store.lists.update(call.params["service"], call.params["list"], ttl=ttl)
    return 200, list_json(rec, call.base, api.account_sid), {}


def delete_list(api: Api, call: Call) -> Result:
    """DeleteSyncList, with its items and permissions."""
    api.store.lists.delete(call.params["service"], call.params["list"])
    return 204, "", {}


def list_lists(api: Api, call: Call) -> Result:
    """ListSyncList: a Service's Lists in creation order."""
    paging = read_paging(call, api.choices, int)
    page = api.store.lists.page(call.params["service"], limit=paging.size, **paging.cursor)
    records = [list_json(r, call.base, api.account_sid) for r in page.records]
    return 200, list_page(call, "lists", records, page, paging), {}


# ------------------------------------------------------------------ items
def _item(api: Api, call: Call, rec: ListItemRecord, status: int) -> Result:
    body = list_item_json(rec, call.base, api.account_sid)
    return status, body, {"ETag": revision_str(rec.revision)}


def _index(api: Api, call: Call) -> int:
    return parse_index(
        call.params["index"], api.choices.invalid_index_code, path=call.exchange.path
    )


def create_item(api: Api, call: Call) -> Result:
    """CreateSyncListItem: ``Data`` is required; the List assigns the index."""
    form = call.form
    raw = form.get("Data")
    data = None if raw is None else parse_nullable_data(raw, api.choices)
    if data is None:
        raise null_data(api.choices.missing_list_item_data_code, "List Item")
    rec = api.store.lists.items.create(
        call.params["service"],
        call.params["list"],
        data,
        ttl=parse_ttl(form, "ItemTtl", "Ttl"),
        collection_ttl=parse_ttl(form, "CollectionTtl"),
    )
    return _item(api, call, rec, 201)


def fetch_item(api: Api, call: Call) -> Result:
    """FetchSyncListItem."""
    index = _index(api, call)
    rec = api.store.lists.items.get(call.params["service"], call.params["list"], index)
    return _item(api, call, rec, 200)


def update_item(api: Api, call: Call) -> Result:
    """UpdateSyncListItem: new data (replacing the old) and/or TTL, on ``If-Match``."""
    index = _index(api, call)
    form = call.form
    data = None
    if "Data" in form:
        data = parse_nullable_data(form["Data"], api.choices)
        if data is None:
            raise null_data(api.choices.missing_list_item_data_code, "List Item")
    rec = api.store.lists.items.update(
        call.params["service"],
        call.params["list"],
        index,
        data=data,
        ttl=parse_ttl(form, "ItemTtl", "Ttl"),
        collection_ttl=parse_ttl(form, "CollectionTtl"),
        if_match=call.if_match,
    )
    return _item(api, call, rec, 200)


def delete_item(api: Api, call: Call) -> Result:
    """DeleteSyncListItem, conditional on ``If-Match``; its index is never reused."""
    index = _index(api, call)
    api.store.lists.items.delete(
        call.params["service"], call.params["list"], index, if_match=call.if_match
    )
    return 204, "", {}


def list_items(api: Api, call: Call) -> Result:
    """ListSyncListItem: index order, ``Order``/``From``/``Bounds``, index cursor."""
    items = read_item_query(
        call,
        api.choices,
        lambda raw: parse_index(raw, api.choices.invalid_index_code, name="From"),
    )
    paging = read_paging(call, api.choices, int)
    page = api.store.lists.items.page(
        call.params["service"],
        call.params["list"],
        limit=paging.size,
        **items.bounds,
        **paging.cursor,
    )
    records = [list_item_json(r, call.base, api.account_sid) for r in page.records]
    return 200, list_page(call, "items", records, page, paging, items.filters), {}


ROUTES = (
    Route(
        "/v1/Services/{service}/Lists",
        {
            "GET": Operation("ListSyncList", list_lists, "list", collection=True),
            "POST": Operation("CreateSyncList", create_list, "list", collection=True),
        },
    ),
    Route(
        "/v1/Services/{service}/Lists/{list}",
        {
            "GET": Operation("FetchSyncList", fetch_list, "list"),
            "POST": Operation("UpdateSyncList", update_list, "list"),
            "DELETE": Operation("DeleteSyncList", delete_list, "list"),
        },
    ),
    Route(
        "/v1/Services/{service}/Lists/{list}/Items",
        {
            "GET": Operation("ListSyncListItem", list_items, "list_item", collection=True),
            "POST": Operation("CreateSyncListItem", create_item, "list_item", collection=True),
        },
    ),
    Route(
        "/v1/Services/{service}/Lists/{list}/Items/{index}",
        {
            "GET": Operation("FetchSyncListItem", fetch_item, "list_item"),
            "POST": Operation("UpdateSyncListItem", update_item, "list_item", if_match=True),
            "DELETE": Operation("DeleteSyncListItem", delete_item, "list_item", if_match=True),
        },
    ),
)
