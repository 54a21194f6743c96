"""Twilio-shaped JSON for Services, Maps, Map Items and list pages.

Field names, order of keys and the date format follow the OpenAPI schemas
(``SYNC_API.md`` 1.3): dates are exactly ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (the only
form twilio-python parses), ``date_expires`` is ``null`` without a TTL, ``revision``
is a string, and ``url`` fields are absolute on the emulator's own host with the
canonical SIDs. Item data is stored as compact JSON text and spliced in as it is,
so a fetch never re-serialises it.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from pytest_syncmap.domain.model import ItemRecord, MapRecord, ServiceRecord, revision_str

__all__ = ["iso", "item_json", "list_json", "map_json", "service_json"]


def iso(moment: datetime | None) -> str | None:
    """Twilio's date format: second precision, UTC, ``Z`` suffix."""
    return None if moment is None else _iso(moment)


@lru_cache(maxsize=8192)
def _iso(moment: datetime) -> str:
    # strftime is the most expensive step of rendering an item; the same few
    # timestamps are rendered again and again.
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def service_json(rec: ServiceRecord, base: str, account_sid: str) -> dict[str, Any]:
    """The Service resource."""
    url = f"{base}/v1/Services/{rec.sid}"
    return {
        "sid": rec.sid,
        # Read-only and "cannot be assigned using REST API": always null here.
        "unique_name": None,
        "account_sid": account_sid,
        "friendly_name": rec.friendly_name,
        "date_created": iso(rec.date_created),
        "date_updated": iso(rec.date_updated),
        "url": url,
        "webhook_url": rec.webhook_url,
        "webhooks_from_rest_enabled": rec.webhooks_from_rest_enabled,
        "reachability_webhooks_enabled": rec.reachability_webhooks_enabled,
        "acl_enabled": rec.acl_enabled,
        "reachability_debouncing_enabled": rec.reachability_debouncing_enabled,
        "reachability_debouncing_window": rec.reachability_debouncing_window,
        "links": {
            "documents": f"{url}/Documents",
            "lists": f"{url}/Lists",
            "maps": f"{url}/Maps",
            "streams": f"{url}/Streams",
        },
    }


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
    """The Map Item resource as JSON text (no ``sid``, no ``links``: it has neither)."""
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


def list_json(key: str, records: list[str], meta: dict[str, Any]) -> str:
    """A list page: ``{<key>: [...], "meta": {...}}`` with ``meta.key`` naming the array."""
    return f'{{"{key}": [{", ".join(records)}], "meta": {json.dumps(meta)}}}'
