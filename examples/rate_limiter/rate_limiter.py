"""A fixed-window rate limiter shared by every worker process, on a Twilio Sync Map.

One Map Item per API key and window (key ``"<api key>:<window start>"``) holds the
request count. Workers increment it optimistically: read the item, write
``count + 1`` with ``If-Match: <revision read>``, and when Twilio answers 412 (another
worker wrote in between) read again and retry. Old windows expire through the TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    reset_at: int  # epoch seconds at which the window ends


class TooMuchContention(RuntimeError):
    """Every attempt lost the race to another worker."""


class FixedWindowLimiter:
    def __init__(
        self,
        client: Client,
        service_sid: str,
        *,
        map_name: str = "rate-limits",
        limit: int = 100,
        window: int = 60,
        max_attempts: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit, self.window, self.max_attempts = limit, window, max_attempts
        self._clock = clock
        self._items = client.sync.v1.services(service_sid).sync_maps(map_name).sync_map_items
        #: How many conditional updates lost to a concurrent writer (412) so far.
        self.conflicts = 0

    def hit(self, api_key: str) -> Decision:
        """Count one request for ``api_key``; say whether it may go ahead."""
        start = int(self._clock()) // self.window * self.window
        key, reset_at = f"{api_key}:{start}", start + self.window
        for _ in range(self.max_attempts):
            try:
                item = self._items(key).fetch()
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
                try:  # first request of the window
                    self._items.create(key=key, data={"count": 1}, ttl=2 * self.window)
                except TwilioRestException as exc:
                    if exc.status == 409:  # another worker opened the window first
                        continue
                    raise
                return Decision(True, self.limit - 1, reset_at)
            count = int(item.data["count"])
            if count >= self.limit:
                return Decision(False, 0, reset_at)
            try:
                self._items(key).update(data={"count": count + 1}, if_match=item.revision)
            except TwilioRestException as exc:
                if exc.status != 412:
                    raise
                self.conflicts += 1
                continue
            return Decision(True, self.limit - count - 1, reset_at)
        raise TooMuchContention(f"gave up on {key!r} after {self.max_attempts} attempts")
