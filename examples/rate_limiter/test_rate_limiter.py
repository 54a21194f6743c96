"""Tests for rate_limiter.py against the emulator, including real 412 conflicts.

The emulator implements Twilio's If-Match semantics, so the retry path is exercised
for real: by threads racing on one counter, and deterministically by a competing
write slipped in (through twilio's own ``http_client`` hook) right before an update.
"""

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from rate_limiter import Decision, FixedWindowLimiter, TooMuchContention
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

NOW = 1_900_000_030.0  # 30 s into a 60 s window
WINDOW = 1_900_000_020  # ...that starts here (a multiple of 60)


def limiter_for(sync_map, client=None, **options):
    options.setdefault("clock", lambda: NOW)
    return FixedWindowLimiter(client or Client(), sync_map.service_sid, **options)


@pytest.mark.sync_map(unique_name="rate-limits")
def test_allows_up_to_the_limit_then_denies(sync_map):
    limiter = limiter_for(sync_map, limit=3)

    decisions = [limiter.hit("key-1") for _ in range(4)]

    reset = WINDOW + 60
    assert decisions == [
        Decision(True, 2, reset),
        Decision(True, 1, reset),
        Decision(True, 0, reset),
        Decision(False, 0, reset),
    ]
    assert sync_map[f"key-1:{WINDOW}"] == {"count": 3}
    assert limiter.hit("key-2").allowed  # counted per API key


@pytest.mark.sync_map(unique_name="rate-limits", items={f"busy:{WINDOW}": {"count": 100}})
def test_a_new_window_starts_from_zero(sync_map):
    now = [NOW]
    limiter = limiter_for(sync_map, clock=lambda: now[0])
    assert limiter.hit("busy") == Decision(False, 0, WINDOW + 60)

    now[0] += 60
    assert limiter.hit("busy") == Decision(True, 99, WINDOW + 120)
    assert sync_map.item(f"busy:{WINDOW + 60}").date_expires is not None  # TTL cleans up


class CompetingWriter(TwilioHttpClient):
    """Runs ``compete`` right before each of our next ``times`` conditional updates."""

    def __init__(self, compete: Callable[[], None], times: int) -> None:
        super().__init__()
        self.compete, self.times = compete, times

    def request(self, method, url, params=None, data=None, headers=None, **kwargs):
        if method == "POST" and headers and "If-Match" in headers and self.times > 0:
            self.times -= 1
            self.compete()
        return super().request(method, url, params, data, headers, **kwargs)


def client_with(http_client):
    return Client(
        os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"], http_client=http_client
    )


def bump(sync_map, key):
    sync_map.put(key, {"count": sync_map[key]["count"] + 1})


@pytest.mark.sync_map(unique_name="rate-limits", items={f"k:{WINDOW}": {"count": 5}})
def test_a_lost_race_is_retried_on_fresh_data(sync_map):
    writer = CompetingWriter(lambda: bump(sync_map, f"k:{WINDOW}"), times=2)
    limiter = limiter_for(sync_map, client_with(writer))

    assert limiter.hit("k") == Decision(True, 100 - 8, WINDOW + 60)

    assert limiter.conflicts == 2
    assert sync_map[f"k:{WINDOW}"] == {"count": 8}  # 5 + 2 competing + ours: none lost


@pytest.mark.sync_map(unique_name="rate-limits", items={f"k:{WINDOW}": {"count": 0}})
def test_gives_up_when_every_attempt_conflicts(sync_map):
    writer = CompetingWriter(lambda: bump(sync_map, f"k:{WINDOW}"), times=1000)
    limiter = limiter_for(sync_map, client_with(writer), max_attempts=3)

    with pytest.raises(TooMuchContention, match="after 3 attempts"):
        limiter.hit("k")
    assert sync_map[f"k:{WINDOW}"] == {"count": 3}  # only the competitor's writes landed


@pytest.mark.sync_map(unique_name="rate-limits")
def test_concurrent_workers_never_lose_a_count(sync_map):
    workers, hits_each, limit = 4, 8, 25
    barrier = threading.Barrier(workers)

    def worker(_):
        limiter = limiter_for(sync_map, limit=limit, max_attempts=100)  # its own Client()
        barrier.wait()
        return [limiter.hit("shared").allowed for _ in range(hits_each)]

    with ThreadPoolExecutor(workers) as pool:
        allowed = [ok for results in pool.map(worker, range(workers)) for ok in results]

    assert allowed.count(True) == limit
    assert allowed.count(False) == workers * hits_each - limit
    assert sync_map[f"shared:{WINDOW}"] == {"count": limit}
