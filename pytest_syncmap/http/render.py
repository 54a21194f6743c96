"""Twilio-shaped JSON: dates, resources holding data, and list pages.

Field names, order of keys and the date format follow the OpenAPI schemas
(``SYNC_API.md`` 1.3): dates are exactly ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (the only
form twilio-python parses), ``date_expires`` is ``null`` without a TTL, ``revision``
is a string, and ``url`` fields are absolute on the emulator's own host with the
canonical SIDs. Data is stored as compact JSON text and spliced in as it is, so a
fetch never re-serialises it. Each resource family renders its own resources
(``http/resources/``) with these helpers.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

__all__ = ["iso", "list_json", "with_data"]


def iso(moment: datetime | None) -> str | None:
    """Twilio's date format: second precision, UTC, ``Z`` suffix."""
    return None if moment is None else _iso(moment)


@lru_cache(maxsize=8192)
def _iso(moment: datetime) -> str:
    # strftime is the most expensive step of rendering an item; the same few
    # timestamps are rendered again and again.
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def with_data(head: dict[str, Any], data_json: str, tail: dict[str, Any]) -> str:
    """A resource as JSON text: ``head``'s fields, ``"data"``, then ``tail``'s.

    The data is stored as compact JSON text and spliced in as it is, so rendering
    never re-serialises it, and the keys keep the order of the OpenAPI schema.
    """
    return f'{json.dumps(head)[:-1]}, "data": {data_json}, {json.dumps(tail)[1:]}'


def list_json(key: str, records: list[str], meta: dict[str, Any]) -> str:
    """A list page: ``{<key>: [...], "meta": {...}}`` with ``meta.key`` naming the array."""
    return f'{{"{key}": [{", ".join(records)}], "meta": {json.dumps(meta)}}}'
