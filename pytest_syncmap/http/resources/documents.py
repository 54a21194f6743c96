"""Documents: ``/v1/Services/{service}/Documents[/{document}]``.

A Document is one JSON object (``SYNC_OTHER.md`` 3.3), addressed by SID or unique
name. Created without ``Data`` it holds ``{}``; an update replaces the data wholesale
(or only the TTL). Create, fetch and update answer ``ETag: <revision>``; ``If-Match``
is read on update and, by ``choices.document_delete_if_match`` (SYNC_OTHER Q12), on
delete. ``Data`` sent empty or ``null`` is 400 / 54101.
"""

from __future__ import annotations

from typing import Any

from pytest_syncmap.domain.model import DocumentRecord, revision_str
from pytest_syncmap.http.api import Api, Call, Result
from pytest_syncmap.http.paging import list_page, read_paging
from pytest_syncmap.http.params import null_data, parse_nullable_data, parse_ttl
from pytest_syncmap.http.render import iso, with_data
from pytest_syncmap.http.routing import Operation, Route

__all__ = ["ROUTES", "document_json"]

#: "Invalid Document data": ``Data`` explicitly null or empty.
INVALID_DOCUMENT_DATA = 54101


def document_json(rec: DocumentRecord, base: str, account_sid: str) -> str:
    """The Document resource as JSON text, its data spliced in as stored."""
    url = f"{base}/v1/Services/{rec.service_sid}/Documents/{rec.sid}"
    head = {
        "sid": rec.sid,
        "unique_name": rec.unique_name,
        "account_sid": account_sid,
        "service_sid": rec.service_sid,
        "url": url,
        "links": {"permissions": f"{url}/Permissions"},
        "revision": revision_str(rec.revision),
    }
    tail = {
        "date_expires": iso(rec.date_expires),
        "date_created": iso(rec.date_created),
        "date_updated": iso(rec.date_updated),
        "created_by": rec.created_by,
    }
    return with_data(head, rec.data_json, tail)


def _answer(api: Api, call: Call, rec: DocumentRecord, status: int) -> Result:
    body = document_json(rec, call.base, api.account_sid)
    return status, body, {"ETag": revision_str(rec.revision)}


def _data(api: Api, call: Call) -> dict[str, Any] | None:
    """``Data`` as sent (``None`` when absent); empty or ``null`` is 54101."""
    raw = call.form.get("Data")
    if raw is None:
        return None
    data = parse_nullable_data(raw, api.choices)
    if data is None:
        raise null_data(INVALID_DOCUMENT_DATA, "Document")
    return data


def create_document(api: Api, call: Call) -> Result:
    """CreateDocument: ``UniqueName``, ``Data`` and ``Ttl``, none required."""
    form = call.form
    data = _data(api, call)
    rec = api.store.documents.create(
        call.params["service"],
        unique_name=form.get("UniqueName"),
        data=data,
        ttl=parse_ttl(form, "Ttl"),
    )
    return _answer(api, call, rec, 201)


def fetch_document(api: Api, call: Call) -> Result:
    """FetchDocument."""
    rec = api.store.documents.get(call.params["service"], call.params["document"])
    return _answer(api, call, rec, 200)


def update_document(api: Api, call: Call) -> Result:
    """UpdateDocument: new data (replacing the old) and/or TTL, conditional on ``If-Match``."""
    data = _data(api, call)
    rec = api.store.documents.update(
        call.params["service"],
        call.params["document"],
        data=data,
        ttl=parse_ttl(call.form, "Ttl"),
        if_match=call.if_match,
    )
    return _answer(api, call, rec, 200)


def delete_document(api: Api, call: Call) -> Result:
    """DeleteDocument, with its permissions; conditional on ``If-Match`` by choice."""
    if_match = call.if_match if api.choices.document_delete_if_match else None
    api.store.documents.delete(call.params["service"], call.params["document"], if_match=if_match)
    return 204, "", {}


def list_documents(api: Api, call: Call) -> Result:
    """ListDocument: a Service's Documents in creation order."""
    paging = read_paging(call, api.choices, int)
    page = api.store.documents.page(call.params["service"], limit=paging.size, **paging.cursor)
    records = [document_json(r, call.base, api.account_sid) for r in page.records]
    return 200, list_page(call, "documents", records, page, paging), {}


ROUTES = (
    Route(
        "/v1/Services/{service}/Documents",
        {
            "GET": Operation("ListDocument", list_documents, "document", collection=True),
            "POST": Operation("CreateDocument", create_document, "document", collection=True),
        },
    ),
    Route(
        "/v1/Services/{service}/Documents/{document}",
        {
            "GET": Operation("FetchDocument", fetch_document, "document"),
            "POST": Operation("UpdateDocument", update_document, "document", if_match=True),
            # If-Match left the spec's DeleteDocument in 2021; read by choice (Q12).
            "DELETE": Operation("DeleteDocument", delete_document, "document", if_match=True),
        },
    ),
)
