"""Helpers shared by the tests of Documents, Lists, Streams and Permissions.

Plain functions only (fixtures live in ``conftest.py``): raw HTTP with the emulator's
credentials, the shape of a Twilio error, the error a twilio call raised, and a
snapshot of everything a Service holds, so a refused request can be shown to have
changed nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

TIMEOUT = 10
#: Filters on every warning twilio's async client raises about aiohttp.
CLIENT_WARNINGS = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]


def raw(server: Any, method: str, url: str, **kwargs: Any) -> requests.Response:
    """One plain HTTP request with the emulator's credentials."""
    return requests.request(method, url, auth=server.auth, timeout=TIMEOUT, **kwargs)


def service_url(server: Any, service: str) -> str:
    """``…/v1/Services/<service>`` on the emulator (``service`` may be ``default``)."""
    return f"{server.url}/v1/Services/{service}"


def assert_twilio_error(
    resp: requests.Response, status: int, code: int, message: str | None = None
) -> dict[str, Any]:
    """``resp`` is Twilio's JSON error with this status and code (and message part)."""
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    assert resp.headers.get("Content-Type") == "application/json"
    body = resp.json()
    assert set(body) == {"code", "message", "more_info", "status"}, body
    assert (body["status"], body["code"]) == (status, code), body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    if message is not None:
        assert message in body["message"], body["message"]
    return body


def rest_error(call: Callable[[], Any]) -> tuple[int, int]:
    """``(status, code)`` of the TwilioRestException the twilio call raises."""
    with pytest.raises(TwilioRestException) as exc:
        call()
    return exc.value.status, exc.value.code


def page_error(call: Callable[[], Any]) -> tuple[int, int]:
    """``(status, code)`` of a failed list page (twilio-python raises TwilioException
    with the raw response as its second argument)."""
    with pytest.raises(TwilioException) as exc:
        call()
    response = exc.value.args[1]
    return response.status_code, json.loads(response.text)["code"]


def last_response(client: Any) -> Any:
    """The client's last HTTP answer."""
    return client.http_client._test_only_last_response


def assert_recent(moment: Any) -> None:
    """A datetime twilio parsed (so the wire format was Twilio's), close to now."""
    assert isinstance(moment, datetime), moment
    assert moment.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - moment) <= timedelta(seconds=5)


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (first value each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


@dataclass(frozen=True)
class ServiceSnapshot:
    """Everything one Service holds, as immutable records."""

    documents: tuple[Any, ...]
    lists: tuple[Any, ...]
    streams: tuple[Any, ...]
    maps: tuple[Any, ...]


def snapshot(server: Any, service: str) -> ServiceSnapshot:
    """Documents, Lists (with items and permissions), Streams and Maps of ``service``."""
    store = server.store

    def permissions(collection: Any, sid: str) -> tuple[Any, ...]:
        return tuple(collection.permissions.page(service, sid, limit=100).records)

    docs = store.documents.page(service, limit=100).records
    lists = store.lists.page(service, limit=100).records
    maps = store.maps.page(service, limit=100).records
    return ServiceSnapshot(
        documents=tuple((d, permissions(store.documents, d.sid)) for d in docs),
        lists=tuple(
            (
                lst,
                tuple(store.lists.items.all(service, lst.sid)),
                permissions(store.lists, lst.sid),
            )
            for lst in lists
        ),
        streams=tuple(store.streams.page(service, limit=100).records),
        maps=tuple(
            (m, tuple(store.maps.items.all(service, m.sid)), permissions(store.maps, m.sid))
            for m in maps
        ),
    )


@contextlib.contextmanager
def unchanged(server: Any, service: str) -> Iterator[None]:
    """Assert that the block leaves the Service exactly as it found it."""
    before = snapshot(server, service)
    yield
    assert snapshot(server, service) == before
