"""Map, List and Document Permissions (MP1-4, LP1-4, DP1-4) through the client and HTTP.

The three families share one shape, so every test runs for each: the POST to an
identity's URL is an upsert needing all three flags, fetch and delete answer 404 /
54354 without a permission, the listing is in identity order with an identity cursor,
and permissions are stored but never enforced on REST.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from sync_http import (
    CLIENT_WARNINGS,
    assert_twilio_error,
    last_response,
    page_error,
    query_of,
    raw,
    rest_error,
    service_url,
    unchanged,
)
from twilio.base.exceptions import TwilioRestException

pytestmark = CLIENT_WARNINGS


@dataclass(frozen=True)
class Kind:
    """How to reach one family's permissions."""

    name: str
    segment: str
    sid_field: str
    #: ``services(svc)`` -> the object's context -> its permission list.
    permissions: Callable[[Any, str], Any]
    #: The not-found code of an unknown SID of this kind (choices.py).
    sid_not_found: int
    unknown_sid: str


KINDS = [
    Kind(
        "map",
        "Maps",
        "map_sid",
        lambda svc, ref: svc.sync_maps(ref).sync_map_permissions,
        20404,
        "MP" + "0" * 32,
    ),
    Kind(
        "list",
        "Lists",
        "list_sid",
        lambda svc, ref: svc.sync_lists(ref).sync_list_permissions,
        54150,
        "ES" + "0" * 32,
    ),
    Kind(
        "document",
        "Documents",
        "document_sid",
        lambda svc, ref: svc.documents(ref).document_permissions,
        54100,
        "ET" + "0" * 32,
    ),
]


@dataclass(frozen=True)
class Target:
    """An object of one kind, called ``obj``, in the test's Service."""

    kind: Kind
    service: str
    sid: str
    server: Any

    @property
    def url(self) -> str:
        """The object's permissions URL, addressed by unique name."""
        return f"{service_url(self.server, self.service)}/{self.kind.segment}/obj/Permissions"

    def collection(self) -> Any:
        """The store's collection of this kind."""
        store = self.server.store
        return {"map": store.maps, "list": store.lists, "document": store.documents}[self.kind.name]

    def put(self, identity: str, *flags: bool) -> None:
        read, write, manage = flags
        self.collection().permissions.put(
            self.service, "obj", identity, read=read, write=write, manage=manage
        )

    def identities(self) -> list[str]:
        page = self.collection().permissions.page(self.service, "obj", limit=100)
        return [p.identity for p in page.records]


@pytest.fixture(params=KINDS, ids=[k.name for k in KINDS])
def target(request: pytest.FixtureRequest, sync_server: Any, sync_service: Any) -> Target:
    kind: Kind = request.param
    store = sync_server.store
    collection = {"map": store.maps, "list": store.lists, "document": store.documents}[kind.name]
    record = collection.create(sync_service.sid, unique_name="obj")
    return Target(kind, sync_service.sid, record.sid, sync_server)


def perms(client: Any, target: Target, ref: str = "obj") -> Any:
    return target.kind.permissions(client.sync.v1.services(target.service), ref)


# ==================================================================== upsert
def test_update_creates_then_replaces(twilio_client, sync_server, target):
    ctx = perms(twilio_client, target)("alice")
    created = ctx.update(read=True, write=False, manage=True)
    response = last_response(twilio_client)
    assert response.status_code == 200
    assert "ETag" not in response.headers
    assert created.account_sid == sync_server.account_sid
    assert created.service_sid == target.service
    assert getattr(created, target.kind.sid_field) == target.sid
    assert created.identity == "alice"
    assert (created.read, created.write, created.manage) == (True, False, True)
    base = f"{service_url(sync_server, target.service)}/{target.kind.segment}/{target.sid}"
    assert created.url == f"{base}/Permissions/alice"
    replaced = ctx.update(read=False, write=True, manage=False)
    assert last_response(twilio_client).status_code == 200
    assert (replaced.read, replaced.write, replaced.manage) == (False, True, False)
    assert target.identities() == ["alice"]
    fetched = ctx.fetch()
    assert (fetched.read, fetched.write, fetched.manage) == (False, True, False)


def test_permission_body_has_exactly_the_spec_keys_in_order(sync_server, target):
    resp = raw(
        sync_server,
        "POST",
        f"{target.url}/alice",
        data={"Read": "true", "Write": "true", "Manage": "false"},
    )
    assert list(resp.json()) == [
        "account_sid",
        "service_sid",
        target.kind.sid_field,
        "identity",
        "read",
        "write",
        "manage",
        "url",
    ]


@pytest.mark.parametrize("value", ["true", "True", "TRUE", " false "])
def test_flags_are_twilio_booleans(sync_server, target, value):
    form = {"Read": value, "Write": value, "Manage": value}
    body = raw(sync_server, "POST", f"{target.url}/alice", data=form).json()
    expected = value.strip().lower() == "true"
    assert (body["read"], body["write"], body["manage"]) == (expected,) * 3


def test_all_false_permission_is_stored_and_listed(twilio_client, target):
    perms(twilio_client, target)("bob").update(read=False, write=False, manage=False)
    listed = perms(twilio_client, target).list()
    assert [(p.identity, p.read, p.write, p.manage) for p in listed] == [
        ("bob", False, False, False)
    ]


def test_permissions_are_never_enforced_on_rest(twilio_client, sync_server, target):
    """SYNC_OTHER Q21: REST calls with account credentials are not subject to the ACL."""
    twilio_client.sync.v1.services(target.service).update(acl_enabled=True)
    perms(twilio_client, target)("alice").update(read=False, write=False, manage=False)
    svc = twilio_client.sync.v1.services(target.service)
    if target.kind.name == "map":
        svc.sync_maps("obj").sync_map_items.create(key="k", data={})
        assert svc.sync_maps("obj").sync_map_items("k").fetch().data == {}
    elif target.kind.name == "list":
        svc.sync_lists("obj").sync_list_items.create(data={})
        assert svc.sync_lists("obj").sync_list_items(0).fetch().data == {}
    else:
        assert svc.documents("obj").update(data={"v": 1}).data == {"v": 1}
    assert perms(twilio_client, target)("alice").fetch().read is False
    assert perms(twilio_client, target).list()[0].identity == "alice"
    segment = target.kind.segment
    assert (
        raw(
            sync_server, "DELETE", f"{service_url(sync_server, target.service)}/{segment}/obj"
        ).status_code
        == 204
    )


# ============================================================ fetch, delete
def test_delete_permission(twilio_client, target):
    target.put("alice", True, True, True)
    ctx = perms(twilio_client, target)("alice")
    assert ctx.delete() is True
    assert last_response(twilio_client).status_code == 204
    assert rest_error(ctx.fetch) == (404, 54354)
    assert rest_error(ctx.delete) == (404, 54354)
    assert target.identities() == []


def test_missing_permission_is_404_54354(sync_server, target):
    with unchanged(sync_server, target.service):
        for method in ("GET", "DELETE"):
            resp = raw(sync_server, method, f"{target.url}/nobody")
            assert_twilio_error(resp, 404, 54354, "Permission not found")


def test_permissions_go_with_their_object(twilio_client, sync_server, target):
    target.put("alice", True, True, True)
    target.collection().delete(target.service, "obj")
    target.collection().create(target.service, unique_name="obj")
    assert perms(twilio_client, target).list() == []
    assert rest_error(perms(twilio_client, target)("alice").fetch) == (404, 54354)


# ====================================================================== list
def test_list_in_identity_order_with_paging(twilio_client, target):
    names = ["zoe", "Bob", "alice", "émile", "ann", "carl", "10"]
    for name in names:
        target.put(name, True, False, False)
    ordered = sorted(names)  # code point order
    listing = perms(twilio_client, target)
    assert [p.identity for p in listing.list(page_size=2)] == ordered
    first = listing.page(page_size=3)
    assert [p.identity for p in first] == ordered[:3]
    second = first.next_page()
    assert [p.identity for p in second] == ordered[3:6]
    # Identities added and removed between pages neither repeat nor skip.
    target.collection().permissions.delete(target.service, "obj", ordered[6])
    target.put("zz-late", True, True, True)
    target.put("a-early", True, True, True)
    third = second.next_page()
    assert [p.identity for p in third] == ["zz-late"]
    assert [p.identity for p in third.previous_page()] == ordered[3:6]


def test_list_meta_echoes_the_path_as_addressed(sync_server, target):
    target.put("alice", True, True, True)
    target.put("bob", True, True, True)
    body = raw(sync_server, "GET", target.url, params={"PageSize": "1"}).json()
    assert list(body) == ["permissions", "meta"]
    meta = body["meta"]
    assert meta["key"] == "permissions"
    assert meta["url"] == f"{target.url}?PageSize=1&Page=0"
    assert meta["next_page_url"].startswith(f"{target.url}?")
    assert query_of(meta["next_page_url"])["PageToken"]
    assert body["permissions"][0]["url"].endswith(f"/{target.sid}/Permissions/alice")
    second = raw(sync_server, "GET", meta["next_page_url"]).json()
    assert [p["identity"] for p in second["permissions"]] == ["bob"]
    assert second["meta"]["next_page_url"] is None


def test_empty_listing(twilio_client, sync_server, target):
    assert perms(twilio_client, target).list() == []
    body = raw(sync_server, "GET", target.url).json()
    assert body["permissions"] == []
    assert body["meta"]["previous_page_url"] is None


# ================================================================ identities
@pytest.mark.parametrize(
    "identity",
    ["alice@example.com", "with space", "ünï ✓", "a+b", "100%", "a/b", "q?x#y", "x" * 256],
    ids=["email", "space", "unicode", "plus", "percent", "slash", "query", "256"],
)
def test_identities_are_percent_encoded_in_urls(sync_server, target, identity):
    encoded = quote(identity, safe="")
    form = {"Read": "true", "Write": "false", "Manage": "false"}
    created = raw(sync_server, "POST", f"{target.url}/{encoded}", data=form)
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["identity"] == identity
    assert body["url"].endswith(f"/Permissions/{encoded}")
    fetched = raw(sync_server, "GET", body["url"])
    assert fetched.json()["identity"] == identity
    assert target.identities() == [identity]
    assert raw(sync_server, "DELETE", body["url"]).status_code == 204


def test_slash_identity_addressed_raw(sync_server, target):
    """twilio-python and twilio-node put an identity raw into the path, as keys."""
    target.put("team/alice", True, True, True)
    assert raw(sync_server, "GET", f"{target.url}/team/alice").json()["identity"] == "team/alice"


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_identity_over_256_characters_is_400_54351(sync_server, target, method):
    form = {"Read": "true", "Write": "true", "Manage": "true"} if method == "POST" else None
    with unchanged(sync_server, target.service):
        resp = raw(sync_server, method, f"{target.url}/{'x' * 257}", data=form)
        assert_twilio_error(resp, 400, 54351, "Invalid identity")


def test_empty_identity_is_a_routing_miss(sync_server, target):
    """``Permissions/`` names no identity: there is no resource there (404 / 20404)."""
    with unchanged(sync_server, target.service):
        form = {"Read": "true", "Write": "true", "Manage": "true"}
        assert_twilio_error(raw(sync_server, "POST", f"{target.url}/", data=form), 404, 20404)


# ==================================================================== errors
@pytest.mark.parametrize(
    "form",
    [
        {"Write": "true", "Manage": "true"},
        {"Read": "true", "Manage": "true"},
        {"Read": "true", "Write": "true"},
        {},
    ],
    ids=["no-read", "no-write", "no-manage", "none"],
)
def test_missing_flag_is_400_20001(sync_server, target, form):
    with unchanged(sync_server, target.service):
        resp = raw(sync_server, "POST", f"{target.url}/alice", data=form)
        assert_twilio_error(resp, 400, 20001, "Missing required parameter")


@pytest.mark.parametrize("value", ["maybe", "", "1", "yes"])
def test_non_boolean_flag_is_400_20001(sync_server, target, value):
    with unchanged(sync_server, target.service):
        form = {"Read": "true", "Write": value, "Manage": "false"}
        resp = raw(sync_server, "POST", f"{target.url}/alice", data=form)
        assert_twilio_error(resp, 400, 20001, "Write")


def test_unknown_object_sid(twilio_client, target):
    listing = perms(twilio_client, target, target.kind.unknown_sid)
    code = target.kind.sid_not_found
    assert page_error(listing.list) == (404, code)
    assert rest_error(listing("alice").fetch) == (404, code)
    assert rest_error(lambda: listing("alice").update(read=True, write=True, manage=True)) == (
        404,
        code,
    )
    assert rest_error(listing("alice").delete) == (404, code)


def test_unknown_object_name_is_404_54300(twilio_client, target):
    listing = perms(twilio_client, target, "nope")
    assert page_error(listing.list) == (404, 54300)
    assert rest_error(listing("alice").fetch) == (404, 54300)
    assert rest_error(lambda: listing("alice").update(read=True, write=True, manage=True)) == (
        404,
        54300,
    )
    assert rest_error(listing("alice").delete) == (404, 54300)


def test_bad_page_token_is_400_54453(sync_server, target):
    resp = raw(sync_server, "GET", target.url, params={"PageToken": "PTnope"})
    assert_twilio_error(resp, 400, 54453)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("POST", ""), ("DELETE", ""), ("PUT", "/alice"), ("PATCH", "/alice")],
)
def test_wrong_method_is_405(sync_server, target, method, suffix):
    with unchanged(sync_server, target.service):
        assert_twilio_error(raw(sync_server, method, target.url + suffix), 405, 20004)


# ===================================================================== async
def test_permissions_async(twilio_async_client, target):
    listing = perms(twilio_async_client, target)

    async def scenario() -> None:
        created = await listing("alice").update_async(read=True, write=True, manage=False)
        assert (created.identity, created.manage) == ("alice", False)
        assert (await listing("alice").fetch_async()).write is True
        assert [p.identity for p in await listing.list_async()] == ["alice"]
        assert await listing("alice").delete_async() is True
        with pytest.raises(TwilioRestException) as exc:
            await listing("alice").fetch_async()
        assert (exc.value.status, exc.value.code) == (404, 54354)

    asyncio.run(scenario())
    assert target.identities() == []


def test_permissions_in_the_default_service(twilio_client, sync_server):
    svc = twilio_client.sync.v1.services("default")
    svc.sync_maps.create(unique_name="m")
    svc.sync_lists.create(unique_name="l")
    svc.documents.create(unique_name="d")
    for listing in (
        svc.sync_maps("m").sync_map_permissions,
        svc.sync_lists("l").sync_list_permissions,
        svc.documents("d").document_permissions,
    ):
        created = listing("alice").update(read=True, write=True, manage=True)
        assert created.service_sid == sync_server.store.default_service_sid
        assert [p.identity for p in listing.list()] == ["alice"]
