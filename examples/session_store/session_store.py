"""Server-side web sessions in a Twilio Sync Map named ``sessions``.

A session is one Map Item: the key is the random session id handed to the browser in
a cookie, the data holds the user id and whatever the app stores. The item's TTL is
the idle timeout: ``touch`` on every request pushes it back, and an abandoned session
disappears by itself.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    data: dict[str, Any]
    expires_at: datetime | None


class SessionStore:
    def __init__(self, service_sid: str, idle_timeout: int = 30 * 60) -> None:
        self.idle_timeout = idle_timeout
        client = Client(os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"])
        self._items = client.sync.v1.services(service_sid).sync_maps("sessions").sync_map_items

    def create(self, user_id: str, data: dict[str, Any] | None = None) -> Session:
        session_id = secrets.token_urlsafe(24)  # URL-safe: the key goes into the path
        value = {"user_id": user_id, "data": data or {}}
        item = self._items.create(key=session_id, data=value, ttl=self.idle_timeout)
        return _session(item)

    def get(self, session_id: str) -> Session | None:
        try:
            return _session(self._items(session_id).fetch())
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise

    def touch(self, session_id: str) -> Session | None:
        """Restart the idle timeout; ``None`` if the session is gone (log in again)."""
        try:
            return _session(self._items(session_id).update(ttl=self.idle_timeout))
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise

    def destroy(self, session_id: str) -> bool:
        try:
            return bool(self._items(session_id).delete())
        except TwilioRestException as exc:
            if exc.status == 404:
                return False
            raise

    def destroy_all(self, user_id: str) -> int:
        """Log ``user_id`` out everywhere; returns how many sessions ended."""
        ids = [i.key for i in self._items.stream() if i.data.get("user_id") == user_id]
        return sum(self.destroy(session_id) for session_id in ids)


def _session(item: Any) -> Session:
    return Session(item.key, item.data["user_id"], item.data.get("data", {}), item.date_expires)
