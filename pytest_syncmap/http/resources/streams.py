"""Streams and Stream Messages: ``/v1/Services/{service}/Streams[/{stream}[/Messages]]``.

A Stream is addressed by SID or unique name (``SYNC_OTHER.md`` Q5). It shows no
revision and no data; its only mutable property is its TTL. Messages can only be
published (``{"sid": "TZ…", "data": …}``, 201): Twilio keeps none, so there is nothing
to fetch, list or delete. A message without ``Data`` (or with it empty or ``null``) is
400 / 54251; one over ``choices.stream_message_max_bytes`` (4 KiB) is 54006.
"""

from __future__ import annotations

import json

from pytest_syncmap.domain.model import StreamMessage, StreamRecord
from pytest_syncmap.http.api import Api, Call, Result, dumps
from pytest_syncmap.http.paging import list_page, read_paging
from pytest_syncmap.http.params import null_data, parse_nullable_data, parse_ttl
from pytest_syncmap.http.render import iso
from pytest_syncmap.http.routing import Operation, Route

__all__ = ["ROUTES", "message_json", "stream_json"]


def stream_json(rec: StreamRecord, base: str, account_sid: str) -> str:
    """The Stream resource as JSON text (no ``revision``, no ``data``)."""
    url = f"{base}/v1/Services/{rec.service_sid}/Streams/{rec.sid}"
    return dumps(
        {
            "sid": rec.sid,
            "unique_name": rec.unique_name,
            "account_sid": account_sid,
            "service_sid": rec.service_sid,
            "url": url,
            "links": {"messages": f"{url}/Messages"},
            "date_expires": iso(rec.date_expires),
            "date_created": iso(rec.date_created),
            "date_updated": iso(rec.date_updated),
            "created_by": rec.created_by,
        }
    )


def message_json(message: StreamMessage) -> str:
    """The Stream Message resource: exactly its SID and data."""
    return f'{{"sid": {json.dumps(message.sid)}, "data": {message.data_json}}}'


def _stream(api: Api, call: Call, rec: StreamRecord, status: int) -> Result:
    return status, stream_json(rec, call.base, api.account_sid), {}


def create_stream(api: Api, call: Call) -> Result:
    """CreateSyncStream: ``UniqueName`` and ``Ttl``, neither required."""
    form = call.form
    rec = api.store.streams.create(
        call.params["service"], unique_name=form.get("UniqueName"), ttl=parse_ttl(form, "Ttl")
    )
    return _stream(api, call, rec, 201)


def fetch_stream(api: Api, call: Call) -> Result:
    """FetchSyncStream."""
    return _stream(
        api, call, api.store.streams.get(call.params["service"], call.params["stream"]), 200
    )


def update_stream(api: Api, call: Call) -> Result:
    """UpdateSyncStream: only its TTL can change."""
    ttl = parse_ttl(call.form, "Ttl")
    rec = api.store.streams.update(call.params["service"], call.params["stream"], ttl=ttl)
    return _stream(api, call, rec, 200)


def delete_stream(api: Api, call: Call) -> Result:
    """DeleteSyncStream (there are no stored messages to take with it)."""
    api.store.streams.delete(call.params["service"], call.params["stream"])
    return 204, "", {}


def list_streams(api: Api, call: Call) -> Result:
    """ListSyncStream: a Service's Streams in creation order."""
    paging = read_paging(call, api.choices, int)
    page = api.store.streams.page(call.params["service"], limit=paging.size, **paging.cursor)
    records = [stream_json(r, call.base, api.account_sid) for r in page.records]
    return 200, list_page(call, "streams", records, page, paging), {}


def create_message(api: Api, call: Call) -> Result:
    """CreateStreamMessage: publish ``Data`` (required, at most 4 KiB of JSON)."""
    raw = call.form.get("Data")
    data = None if raw is None else parse_nullable_data(raw, api.choices)
    if data is None:
        raise null_data(api.choices.missing_stream_message_data_code, "Message Stream Message")
    message = api.store.streams.publish(call.params["service"], call.params["stream"], data)
    return 201, message_json(message), {}


ROUTES = (
    Route(
        "/v1/Services/{service}/Streams",
        {
            "GET": Operation("ListSyncStream", list_streams, "stream", collection=True),
            "POST": Operation("CreateSyncStream", create_stream, "stream", collection=True),
        },
    ),
    Route(
        "/v1/Services/{service}/Streams/{stream}",
        {
            "GET": Operation("FetchSyncStream", fetch_stream, "stream"),
            "POST": Operation("UpdateSyncStream", update_stream, "stream"),
            "DELETE": Operation("DeleteSyncStream", delete_stream, "stream"),
        },
    ),
    Route(
        "/v1/Services/{service}/Streams/{stream}/Messages",
        {
            "POST": Operation(
                "CreateStreamMessage", create_message, "stream_message", collection=True
            ),
        },
    ),
)
