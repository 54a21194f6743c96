"""Optimistic concurrency under contention: read, If-Match update, retry on 412.

Several writers increment one counter item through the official twilio client, each
with its own ``Client`` built the way application code builds it (credentials from
the environment, no base URL: the plugin's redirect sends it to the emulator). If the
compare-and-set were not atomic, two writers could both succeed from the same
revision and an increment would be lost. An observer on the emulator records every
answer, so the test can also check the server's side: no 5xx, one 200 per increment,
and exactly the 412s the clients saw.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from pytest_syncmap import DEFAULT_CHOICES

KEY = "counter"
WRITERS = 8
INCREMENTS = 12  # per writer
MAX_ATTEMPTS = 500  # per increment; only guards against a livelock hanging the test


class Tally:
    """What the clients saw, shared between writers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conflicts = 0
        self.successes = 0
        self.unexpected: list[BaseException] = []

    def add(self, *, conflict: bool) -> None:
        with self.lock:
            if conflict:
                self.conflicts += 1
            else:
                self.successes += 1


@pytest.fixture
def answers(sync_server) -> Iterator[list[tuple[str | None, int, int | None]]]:
    """(operation, status, code) of every answer the emulator sends during the test."""
    seen: list[tuple[str | None, int, int | None]] = []

    def observe(exchange: Any) -> None:
        seen.append((exchange.operation, exchange.status, exchange.code))  # list.append is atomic

    sync_server.app.observers.append(observe)
    try:
        yield seen
    finally:
        sync_server.app.observers.remove(observe)


def check_outcome(sync_map, answers, tally: Tally, start_revision: int) -> None:
    total = WRITERS * INCREMENTS
    assert not tally.unexpected, tally.unexpected
    assert tally.successes == total
    # Eight writers released together on one item collide hundreds of times in
    # practice; zero would mean the writers never overlapped and nothing was tested.
    assert tally.conflicts > 0
    assert sync_map[KEY] == {"count": total}
    # Every successful write took exactly one new revision, and nothing else wrote.
    assert sync_map.item(KEY).revision == start_revision + total
    assert sync_map.record.revision == start_revision + total

    statuses = Counter(status for _, status, _ in answers)
    assert not [s for s in statuses if s >= 500], statuses
    updates = Counter((status, code) for op, status, code in answers if op == "UpdateSyncMapItem")
    assert updates[(200, None)] == total
    assert updates[(412, DEFAULT_CHOICES.revision_mismatch_code)] == tally.conflicts
    assert sum(updates.values()) == total + tally.conflicts
    assert statuses[412] == tally.conflicts
    # Each attempt is one fetch plus one update.
    fetches = sum(1 for op, _, _ in answers if op == "FetchSyncMapItem")
    assert fetches == total + tally.conflicts


# ====================================================================== threads
def _writer(service_sid: str, map_sid: str, barrier: threading.Barrier, tally: Tally) -> None:
    try:
        client = Client()  # credentials and destination come from the plugin's redirect
        item = client.sync.v1.services(service_sid).sync_maps(map_sid).sync_map_items(KEY)
        barrier.wait(timeout=10)
        for _ in range(INCREMENTS):
            for _attempt in range(MAX_ATTEMPTS):
                current = item.fetch()
                try:
                    item.update(
                        data={"count": current.data["count"] + 1}, if_match=current.revision
                    )
                except TwilioRestException as exc:
                    if exc.status != 412:
                        raise
                    tally.add(conflict=True)
                    continue
                tally.add(conflict=False)
                break
            else:
                raise AssertionError(f"no progress after {MAX_ATTEMPTS} attempts")
    except BaseException as exc:
        with tally.lock:
            tally.unexpected.append(exc)


@pytest.mark.sync_map(items={KEY: {"count": 0}})
def test_threads_increment_one_item_without_losing_updates(sync_map, answers):
    start_revision = sync_map.item(KEY).revision
    tally = Tally()
    barrier = threading.Barrier(WRITERS)
    threads = [
        threading.Thread(target=_writer, args=(sync_map.service_sid, sync_map.sid, barrier, tally))
        for _ in range(WRITERS)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    elapsed = time.perf_counter() - started
    assert not [t for t in threads if t.is_alive()], "a writer hung"
    check_outcome(sync_map, answers, tally, start_revision)
    assert elapsed < 10, f"{elapsed:.1f}s"


@pytest.mark.sync_map(items={KEY: {"count": 0}})
def test_stale_if_match_never_overwrites(twilio_client, sync_map):
    """The clients' retry loop relies on this: a revision once read fails after any write."""
    item = (
        twilio_client.sync.v1.services(sync_map.service_sid)
        .sync_maps(sync_map.sid)
        .sync_map_items(KEY)
    )
    first = item.fetch()
    item.update(data={"count": 1}, if_match=first.revision)
    with pytest.raises(TwilioRestException) as info:
        item.update(data={"count": 100}, if_match=first.revision)
    assert info.value.status == 412
    assert sync_map[KEY] == {"count": 1}


# ======================================================================== async
async def _async_writer(item: Any, tally: Tally) -> None:
    for _ in range(INCREMENTS):
        for _attempt in range(MAX_ATTEMPTS):
            current = await item.fetch_async()
            try:
                await item.update_async(
                    data={"count": current.data["count"] + 1}, if_match=current.revision
                )
            except TwilioRestException as exc:
                if exc.status != 412:
                    raise
                tally.add(conflict=True)
                continue
            tally.add(conflict=False)
            break
        else:
            raise AssertionError(f"no progress after {MAX_ATTEMPTS} attempts")


@pytest.mark.filterwarnings(
    # twilio's aiohttp client still uses aiohttp's deprecated BasicAuth (not our code).
    "ignore:BasicAuth is deprecated:DeprecationWarning",
    "ignore:The 'auth' parameter is deprecated:DeprecationWarning",
)
@pytest.mark.sync_map(items={KEY: {"count": 0}})
def test_async_gather_increments_one_item_without_losing_updates(
    twilio_async_client, sync_server, sync_map, answers
):
    start_revision = sync_map.item(KEY).revision
    tally = Tally()

    def context(client: Client) -> Any:
        return client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)

    async def main() -> None:
        # The fixture's client plus clients built like application code builds them.
        clients = [twilio_async_client] + [
            Client(
                sync_server.account_sid,
                sync_server.auth_token,
                http_client=AsyncTwilioHttpClient(pool_connections=False),
            )
            for _ in range(WRITERS - 1)
        ]
        await asyncio.gather(
            *(_async_writer(context(c).sync_map_items(KEY), tally) for c in clients)
        )

    started = time.perf_counter()
    asyncio.run(asyncio.wait_for(main(), timeout=30))
    elapsed = time.perf_counter() - started
    check_outcome(sync_map, answers, tally, start_revision)
    assert elapsed < 10, f"{elapsed:.1f}s"
