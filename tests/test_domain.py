"""The domain model on its own: Lists, Documents, Streams, permissions, expiry at scale.

Everything here goes through :class:`~pytest_syncmap.domain.model.Store` with a
:class:`~pytest_syncmap.domain.clock.FixedClock`, no HTTP: the invariants every layer
above relies on (indexes never reused, revisions that only grow, data replaced not
merged, a refused operation leaves no trace, expiry that costs what expires).
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from pytest_syncmap import Choices
from pytest_syncmap.domain.clock import FixedClock
from pytest_syncmap.domain.errors import (
    DataTooLarge,
    DocumentNotFound,
    InvalidData,
    InvalidIdentity,
    ListItemNotFound,
    ListNotFound,
    NothingToUpdate,
    PermissionNotFound,
    RevisionMismatch,
    ServiceNotFound,
    StreamNotFound,
    UniqueNameTaken,
)
from pytest_syncmap.domain.model import Store, SyncEvent
from pytest_syncmap.domain.sorted_keys import BLOCK, SortedKeys

START = datetime(2025, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def store(clock: FixedClock) -> Store:
    return Store(clock)


@pytest.fixture
def service(store: Store) -> str:
    return store.create_service(friendly_name="domain").sid


def later(clock: FixedClock, seconds: float) -> None:
    clock.set(clock.now() + timedelta(seconds=seconds))


# ===================================================================== Lists
def test_list_indexes_start_at_zero_and_are_never_reused(store, service):
    sid = store.lists.create(service, unique_name="chat").sid
    items = store.lists.items
    assert [items.create(service, sid, {"n": n}).index for n in range(3)] == [0, 1, 2]
    items.delete(service, sid, 2)  # the highest index goes ...
    items.delete(service, sid, 0)
    assert items.create(service, "chat", {"n": 3}).index == 3  # ... and is not given again
    assert [r.index for r in items.all(service, sid)] == [1, 3]
    with pytest.raises(ListItemNotFound):
        items.get(service, sid, 2)


def test_list_revision_counts_every_item_write(store, service):
    sid = store.lists.create(service).sid
    items = store.lists.items
    first = items.create(service, sid, {"a": 1})
    second = items.update(service, sid, first.index, data={"a": 2})
    assert int(second.revision) > int(first.revision)
    items.delete(service, sid, first.index)
    assert store.lists.get(service, sid).revision == 3
    assert second.data == {"a": 2}


@pytest.mark.parametrize("descending", [False, True])
def test_list_paging_over_gaps_positions_from_at_a_missing_index(store, service, descending):
    sid = store.lists.create(service).sid
    items = store.lists.items
    for n in range(10):
        items.create(service, sid, {"n": n})
    for gone in (3, 4, 7):
        items.delete(service, sid, gone)
    page = items.page(service, sid, limit=3, descending=descending, start=4)
    # From=4 does not exist: asc starts at 5, desc at 2.
    assert [r.index for r in page.records] == ([5, 6, 8] if not descending else [2, 1, 0])
    assert page.has_next is (not descending)
    if not descending:
        rest = items.page(service, sid, limit=3, start=4, after=page.last)
        assert [r.index for r in rest.records] == [9]


def test_an_expiring_list_takes_its_items_and_frees_its_name(store, service, clock):
    sid = store.lists.create(service, unique_name="temp", ttl=60).sid
    store.lists.items.create(service, sid, {"x": 1}, ttl=3600)
    later(clock, 60)
    with pytest.raises(ListNotFound):
        store.lists.items.get(service, sid, 0)
    assert store.lists.page(service, limit=50).records == []
    assert store.lists.expired_at(service, sid) == START + timedelta(seconds=60)
    assert store.lists.create(service, unique_name="temp").unique_name == "temp"


def test_collection_ttl_on_an_item_write_refreshes_the_list(store, service, clock):
    sid = store.lists.create(service, ttl=10).sid
    later(clock, 5)
    store.lists.items.create(service, sid, {}, collection_ttl=100)
    assert store.lists.get(service, sid).date_expires == START + timedelta(seconds=105)
    with pytest.raises(NothingToUpdate):
        store.lists.items.update(service, sid, 0, collection_ttl=5)


# ================================================================= Documents
def test_document_without_data_holds_an_empty_object(store, service):
    doc = store.documents.create(service, unique_name="call")
    assert doc.data == {}
    assert doc.revision == 0


def test_document_update_replaces_data_and_a_ttl_update_keeps_it(store, service):
    store.documents.create(service, unique_name="d", data={"a": 1, "b": 2})
    updated = store.documents.update(service, "d", data={"c": 3}, if_match="0")
    assert updated.data == {"c": 3}  # replaced, not merged
    assert updated.revision == 1
    ttl_only = store.documents.update(service, "d", ttl=60)
    assert ttl_only.data == {"c": 3}
    assert ttl_only.revision == 2
    assert ttl_only.date_expires == START + timedelta(seconds=60)


def test_document_compare_and_set(store, service):
    sid = store.documents.create(service, data={"v": 0}).sid
    with pytest.raises(RevisionMismatch) as exc:
        store.documents.update(service, sid, data={"v": 1}, if_match="7")
    assert (exc.value.kind, exc.value.actual) == ("document", "0")
    with pytest.raises(RevisionMismatch):
        store.documents.delete(service, sid, if_match="1")
    store.documents.delete(service, sid, if_match="*")
    with pytest.raises(DocumentNotFound):
        store.documents.get(service, sid)


def test_document_data_limits(store, service):
    with pytest.raises(InvalidData):
        store.documents.create(service, data=[1, 2])
    with pytest.raises(DataTooLarge):
        store.documents.create(service, data={"x": "y" * 16 * 1024})
    assert store.documents.page(service, limit=10).records == []


# =================================================================== Streams
def test_stream_messages_are_relayed_to_listeners_and_not_kept(store, service):
    events: list[SyncEvent] = []
    store.listeners.append(events.append)
    stream = store.streams.create(service, unique_name="typing")
    message = store.streams.publish(service, "typing", {"user": "ann"})
    assert message.sid.startswith("TZ")
    assert message.data == {"user": "ann"}
    assert [e.type for e in events] == ["stream_created", "stream_message_published"]
    assert events[-1].message == message
    assert store.streams.get(service, stream.sid).revision == 0


def test_stream_message_limit_is_4_kib(store, service):
    sid = store.streams.create(service).sid
    store.streams.publish(service, sid, {"x": "y" * 4000})
    with pytest.raises(DataTooLarge):
        store.streams.publish(service, sid, {"x": "y" * 4097})
    with pytest.raises(StreamNotFound):
        store.streams.publish(service, "nope", {})


def test_stream_ttl_update_changes_only_dates(store, service, clock):
    sid = store.streams.create(service).sid
    later(clock, 1)
    updated = store.streams.update(service, sid, ttl=30)
    assert updated.revision == 0
    assert updated.date_updated == START + timedelta(seconds=1)


# =============================================================== Permissions
def test_permissions_are_upserted_listed_in_identity_order_and_go_with_the_object(store, service):
    sid = store.maps.create(service, unique_name="m").sid
    perms = store.maps.permissions
    perms.put(service, sid, "zoe", read=True, write=False, manage=False)
    perms.put(service, "m", "amy", read=False, write=False, manage=False)
    replaced = perms.put(service, sid, "zoe", read=False, write=True, manage=True)
    assert (replaced.read, replaced.write, replaced.manage) == (False, True, True)
    page = perms.page(service, sid, limit=1)
    assert [p.identity for p in page.records] == ["amy"]
    assert page.has_next
    rest = perms.page(service, sid, limit=1, after=page.last)
    assert [p.identity for p in rest.records] == ["zoe"]
    perms.delete(service, sid, "amy")
    with pytest.raises(PermissionNotFound):
        perms.get(service, sid, "amy")
    with pytest.raises(InvalidIdentity):
        perms.put(service, sid, "", read=True, write=True, manage=True)
    store.maps.delete(service, sid)
    recreated = store.maps.create(service, unique_name="m").sid
    assert perms.page(service, recreated, limit=10).records == []


# ============================================================= unique names
def test_unique_names_are_per_kind_by_default(store, service):
    store.maps.create(service, unique_name="shared")
    store.lists.create(service, unique_name="shared")
    store.documents.create(service, unique_name="shared")
    with pytest.raises(UniqueNameTaken):
        store.lists.create(service, unique_name="shared")


def test_unique_names_per_service_when_chosen(clock):
    store = Store(clock, choices=Choices(unique_name_scope="service"))
    service = store.create_service().sid
    store.maps.create(service, unique_name="shared")
    with pytest.raises(UniqueNameTaken):
        store.documents.create(service, unique_name="shared")


# ========================================================== refused = no trace
def test_a_refused_operation_does_not_create_the_default_service(store):
    """The default Service appears on first use, but never through a refused request."""
    store.delete_service(store.default_service_sid)
    assert store._services == {}
    with pytest.raises(DocumentNotFound):
        store.documents.update("default", "missing", data={})
    with pytest.raises(ListNotFound):
        store.lists.items.create("default", "missing", {})
    store.maps.create("default", unique_name="x")
    with pytest.raises(UniqueNameTaken):
        store.maps.create("default", unique_name="x")
    assert len(store._services) == 1  # the successful create made it, once
    store.delete_service("default")
    with pytest.raises(InvalidData):
        store.documents.create("default", data=[1])
    assert store._services == {}
    store.maps.create("default", unique_name="m")
    assert store.list_services(limit=50).records[0].friendly_name == "Default Service"


def test_unknown_service_is_an_error_not_a_creation(store):
    with pytest.raises(ServiceNotFound):
        store.maps.create("IS" + "0" * 32)


# ===================================================================== events
def test_every_kind_announces_its_writes_in_order(store, service):
    events: list[SyncEvent] = []
    store.listeners.append(events.append)
    store.documents.create(service, unique_name="d")
    store.documents.update(service, "d", data={"a": 1})
    lst = store.lists.create(service, unique_name="l").sid
    store.lists.items.create(service, lst, {"m": 1})
    store.lists.items.update(service, lst, 0, data={"m": 2})
    store.lists.items.delete(service, lst, 0)
    store.lists.delete(service, lst)
    store.documents.delete(service, "d")
    assert [e.type for e in events] == [
        "document_created",
        "document_updated",
        "list_created",
        "list_item_added",
        "list_item_updated",
        "list_item_removed",
        "list_removed",
        "document_removed",
    ]
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert events[3].item_key == 0
    assert events[1].object.data == {"a": 1}


# ================================================================ expiry scale
def test_mass_expiry_collects_everything_and_keeps_revisions_counting(store, service, clock):
    """100,000 items expiring at once go in one collection, well within a generous bound.

    The ratio to 1,000 items (at most 1.5x per item) belongs in benchmarks/bench.py; this
    bound only catches a return to quadratic removal (2.3 s per 100,000 before).
    """
    sid = store.maps.create(service).sid
    for n in range(100_000):
        store.maps.items.put(service, sid, f"k{n:06d}", {"n": n}, ttl=60)
    store.maps.items.put(service, sid, "keep", {}, ttl=0)
    revision = store.maps.get(service, sid).revision
    later(clock, 60)
    started = time.process_time()
    store.collect()
    assert time.process_time() - started < 2.0
    assert [r.key for r in store.maps.items.all(service, sid)] == ["keep"]
    assert store.maps.get(service, sid).revision == revision + 100_000
    assert store.maps.items.expired_at(service, sid, "k099999") == START + timedelta(seconds=60)


def test_expiry_heap_stays_bounded_by_live_ttls(store, service):
    sid = store.maps.create(service).sid
    for n in range(20_000):
        store.maps.items.put(service, sid, "one", {"n": n}, ttl=60 + n % 50)
    state = store._services[service].namespaces["map"].objects[sid]
    assert state.items is not None
    assert len(state.items.expiry) <= 2 + 64


def test_sorted_keys_agree_with_a_sorted_list_under_random_operations():
    rng = random.Random(7)
    keys: SortedKeys[int] = SortedKeys()
    model: set[int] = set()
    for step in range(20_000):
        value = rng.randrange(3 * BLOCK)
        if rng.random() < 0.6:
            keys.add(value)
            model.add(value)
        else:
            keys.remove(value)
            model.discard(value)
        if step % 997 == 0:
            batch = rng.sample(sorted(model), k=min(len(model), rng.randrange(1, 2 * BLOCK)))
            keys.discard_many(batch)
            model.difference_update(batch)
    assert list(keys) == sorted(model)
    assert len(keys) == len(model)
    ordered = sorted(model)
    for start in rng.sample(range(3 * BLOCK), 50):
        got, _ = keys.window(start, inclusive=True, descending=True, limit=5, accept=lambda k: k)
        assert got == [k for k in reversed(ordered) if k <= start][:5]
        got, _ = keys.window(start, inclusive=False, descending=False, limit=5, accept=lambda k: k)
        assert got == [k for k in ordered if k > start][:5]
