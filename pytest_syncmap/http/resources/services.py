"""Services: ``/v1/Services[/{service}]`` (create, fetch, update, delete, list).

The literal ``default`` stands for the account's default Service in every path
(``SYNC_API.md`` 3.4); the body always carries its real ``IS`` SID.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pytest_syncmap.domain.model import ServiceRecord
from pytest_syncmap.http.api import Api, Call, Result, dumps
from pytest_syncmap.http.paging import list_page, read_paging
from pytest_syncmap.http.params import parse_bool, parse_int
from pytest_syncmap.http.render import iso
from pytest_syncmap.http.routing import Operation, Route
from pytest_syncmap.http.twilio_errors import TwilioError

__all__ = ["ROUTES", "check_webhook_url", "service_fields", "service_json"]


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


def service_fields(form: Mapping[str, str]) -> dict[str, Any]:
    """The Service settings a create or update form carries, as model field names."""
    fields: dict[str, Any] = {}
    if "FriendlyName" in form:
        fields["friendly_name"] = form["FriendlyName"] or None
    if "WebhookUrl" in form:
        url = form["WebhookUrl"].strip()
        if url:
            check_webhook_url(url)
        fields["webhook_url"] = url or None
    for name, attr in (
        ("WebhooksFromRestEnabled", "webhooks_from_rest_enabled"),
        ("ReachabilityWebhooksEnabled", "reachability_webhooks_enabled"),
        ("AclEnabled", "acl_enabled"),
        ("ReachabilityDebouncingEnabled", "reachability_debouncing_enabled"),
    ):
        value = parse_bool(form, name)
        if value is not None:
            fields[attr] = value
    window = parse_int(form, "ReachabilityDebouncingWindow", 1000, 30000)
    if window is not None:
        fields["reachability_debouncing_window"] = window
    return fields


#: A host name: letters, digits, ``-``, ``_`` and dots (IDNs in their ``xn--`` form).
_HOSTNAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")


def check_webhook_url(url: str) -> None:
    """Refuse (400 / 20001) a ``WebhookUrl`` that no delivery could be made to.

    It must be an absolute ``http``/``https`` URL with a valid host (a name, an IPv4
    or a bracketed IPv6 address) and, if given, a port from 1 to 65535, and hold no
    whitespace or control characters (which no HTTP request line can carry).
    """

    def bad(why: str) -> TwilioError:
        return TwilioError.invalid("WebhookUrl", f"{why}; it must be an absolute http(s) URL")

    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise bad("it holds whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. brackets around something that is not an address
        raise bad(str(exc)) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise bad(f"{parts.scheme or 'no'} scheme")
    host = parts.hostname or ""
    if parts.netloc.rpartition("@")[2].startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise bad(f"{host!r} is not an IPv6 address") from None
    elif not _HOSTNAME.fullmatch(host):
        raise bad(f"{host!r} is not a valid host" if host else "no host")
    try:
        port = parts.port
    except ValueError:
        raise bad("the port is not a number from 1 to 65535") from None
    if port == 0:
        raise bad("the port is not a number from 1 to 65535")


def _json(api: Api, call: Call, rec: ServiceRecord) -> str:
    return dumps(service_json(rec, call.base, api.account_sid))


def create_service(api: Api, call: Call) -> Result:
    """CreateService."""
    rec = api.store.create_service(**service_fields(call.form))
    return 201, _json(api, call, rec), {}


def fetch_service(api: Api, call: Call) -> Result:
    """FetchService."""
    return 200, _json(api, call, api.store.get_service(call.params["service"])), {}


def update_service(api: Api, call: Call) -> Result:
    """UpdateService."""
    rec = api.store.update_service(call.params["service"], **service_fields(call.form))
    return 200, _json(api, call, rec), {}


def delete_service(api: Api, call: Call) -> Result:
    """DeleteService."""
    api.store.delete_service(call.params["service"])
    return 204, "", {}


def list_services(api: Api, call: Call) -> Result:
    """ListService: every Service, in creation order."""
    paging = read_paging(call, api.choices, int)
    page = api.store.list_services(limit=paging.size, **paging.cursor)
    records = [_json(api, call, r) for r in page.records]
    return 200, list_page(call, "services", records, page, paging), {}


ROUTES = (
    Route(
        "/v1/Services",
        {
            "GET": Operation("ListService", list_services, "service", collection=True),
            "POST": Operation("CreateService", create_service, "service", collection=True),
        },
    ),
    Route(
        "/v1/Services/{service}",
        {
            "GET": Operation("FetchService", fetch_service, "service"),
            "POST": Operation("UpdateService", update_service, "service"),
            "DELETE": Operation("DeleteService", delete_service, "service"),
        },
    ),
)
