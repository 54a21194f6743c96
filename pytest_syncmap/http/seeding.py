"""``POST /_syncmap/seed``: arrange an object of any kind, with its data, in one request.

The JSON body names the ``kind`` (``map`` by default, ``list``, ``document``,
``stream``) and, for every kind, ``service`` (a Service SID or ``default``, the
default), ``unique_name`` and ``ttl`` (seconds); then what the kind holds:

* ``map``: ``items``, an object of key to data;
* ``list``: ``items``, an array of data objects, appended in order (indexes from 0);
* ``document``: ``data``, the Document's object (``{}`` when absent);
* ``stream``: nothing more (its messages are never stored).

Everything is checked before anything is made (a setting of another kind, a value of
the wrong type, data that is not a JSON object or is too large, a bad key), so a
refused seed leaves no half-filled object behind: it is answered with the same Twilio
error a client would get for the same value (400 / 20001 for the shape of the body,
54008, 54006, 54209, 54011, 54301, 54302 ...). The answer is 201 with the created
resource exactly as the API renders it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pytest_syncmap.domain.choices import Choices
from pytest_syncmap.domain.errors import SyncError
from pytest_syncmap.domain.model import Store, check_ttl, serialize_data
from pytest_syncmap.domain.validation import check_key

from .addressing import objects_of
from .api import Result
from .resources.documents import document_json
from .resources.lists import list_json
from .resources.maps import map_json
from .resources.streams import stream_json
from .twilio_errors import TwilioError, from_domain

__all__ = ["SEED_FIELDS", "seed"]

#: What each kind's seed takes beyond ``kind``, ``service``, ``unique_name``, ``ttl``.
SEED_FIELDS: dict[str, tuple[str, ...]] = {
    "map": ("items",),
    "list": ("items",),
    "document": ("data",),
    "stream": (),
}
_COMMON = ("kind", "service", "unique_name", "ttl")

_RENDER: dict[str, Callable[[Any, str, str], str]] = {
    "map": lambda rec, base, account: json.dumps(map_json(rec, base, account)),
    "list": list_json,
    "document": document_json,
    "stream": stream_json,
}


def seed(store: Store, choices: Choices, payload: dict[str, Any], base: str,
         account_sid: str) -> Result:  # fmt: skip
    """Create the object ``payload`` describes (see the module docstring)."""
    kind = payload.get("kind", "map")
    if not isinstance(kind, str) or kind not in SEED_FIELDS:
        raise _invalid("kind", f"must be one of {', '.join(SEED_FIELDS)}, not {kind!r}")
    allowed = (*_COMMON, *SEED_FIELDS[kind])
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        raise _invalid(", ".join(unknown), f"a {kind} seed takes only {', '.join(allowed)}")
    service = payload.get("service", "default")
    if not isinstance(service, str) or not service:
        raise _invalid("service", "must be a Service SID or 'default'")
    unique_name = payload.get("unique_name")
    if unique_name is not None and not isinstance(unique_name, str):
        raise _invalid("unique_name", "must be a string")
    ttl = payload.get("ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)):
        raise _invalid("ttl", "must be an integer number of seconds")
    path = f"/v1/Services/{service}"
    try:
        check_ttl("Ttl", ttl)
        contents = _contents(kind, payload, choices)
        objects = objects_of(store, kind)
        extra = {} if kind != "document" else {"data": contents}
        record = objects.create(service, unique_name=unique_name, ttl=ttl, **extra)
        if kind == "map":
            for key, data in contents.items():
                objects.items.put(service, record.sid, key, data)
        elif kind == "list":
            for data in contents:
                objects.items.create(service, record.sid, data)
        record = objects.get(service, record.sid)
    except SyncError as exc:
        raise from_domain(exc, choices, path) from None
    return 201, _RENDER[kind](record, base, account_sid), {}


def _contents(kind: str, payload: dict[str, Any], choices: Choices) -> Any:
    """The kind's data from ``payload``, every value checked as the API would."""
    limit, depth = choices.data_max_bytes, choices.data_max_depth
    if kind == "map":
        items = payload.get("items", {})
        if not isinstance(items, dict):
            raise _invalid("items", "a map seed takes an object of key to data")
        for key, data in items.items():
            check_key(key, choices.key_max_length)
            serialize_data(data, limit, max_depth=depth)
        return items
    if kind == "list":
        items = payload.get("items", [])
        if not isinstance(items, list):
            raise _invalid("items", "a list seed takes an array of data objects")
        for data in items:
            serialize_data(data, limit, "List Item", max_depth=depth)
        return items
    if kind == "document":
        data = payload.get("data")
        if data is not None:
            serialize_data(data, limit, "Document", max_depth=depth)
        return data
    return None


def _invalid(name: str, detail: str) -> TwilioError:
    return TwilioError.invalid(name, detail)
