"""Who is online: a presence tracker on a Twilio Sync Map.

Each user's presence is one Map Item keyed by user id. Every heartbeat (re)sets the
item's TTL, so a user whose app stops sending heartbeats drops out of the Map by
itself: no cleanup job, no "last seen" scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


@dataclass(frozen=True)
class Presence:
    user_id: str
    status: str
    device: str | None
    expires_at: datetime | None


class PresenceTracker:
    """Heartbeats in, "who is online" out, for one Sync Map (``presence`` by default)."""

    def __init__(self, service_sid: str, map_name: str = "presence", ttl: int = 60) -> None:
        self.ttl = ttl
        client = Client()  # credentials from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN
        self._items = client.sync.v1.services(service_sid).sync_maps(map_name).sync_map_items

    def heartbeat(self, user_id: str, status: str = "online", device: str | None = None) -> None:
        """Mark ``user_id`` present for the next ``ttl`` seconds."""
        data: dict[str, Any] = {"status": status, "device": device}
        try:
            self._items(user_id).update(data=data, ttl=self.ttl)
            return
        except TwilioRestException as exc:
            if exc.status != 404:
                raise
        try:
            self._items.create(key=user_id, data=data, ttl=self.ttl)
        except TwilioRestException as exc:
            if exc.status != 409:  # 409: another device of the same user created it first
                raise
            self._items(user_id).update(data=data, ttl=self.ttl)

    def leave(self, user_id: str) -> bool:
        """Remove ``user_id`` now (logout); ``False`` if they were not present."""
        try:
            return bool(self._items(user_id).delete())
        except TwilioRestException as exc:
            if exc.status == 404:
                return False
            raise

    def get(self, user_id: str) -> Presence | None:
        try:
            item = self._items(user_id).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise
        return _presence(item.key, item.data, item.date_expires)

    def online(self) -> list[Presence]:
        """Everyone present, by user id. Twilio may serve an expired item for a
        little while after its expiry, so those are filtered out here."""
        now = datetime.now(timezone.utc)
        return [
            _presence(item.key, item.data, item.date_expires)
            for item in self._items.stream(page_size=100)
            if item.date_expires is None or item.date_expires > now
        ]


def _presence(key: str, data: dict[str, Any], expires: datetime | None) -> Presence:
    return Presence(key, data.get("status", "online"), data.get("device"), expires)
