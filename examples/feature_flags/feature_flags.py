"""Feature flags kept in a Sync Map, read with twilio's asyncio client.

Each Map Item is one flag: ``{"enabled": true, "rollout": 25, "allow": ["user-1"]}``.
A service loads them all at start-up (and on ``refresh``) and answers
``is_enabled(flag, user_id)`` from memory; a user lands in a stable bucket per flag,
so the same 25 % of users see a feature on every request.
"""

from __future__ import annotations

import hashlib
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client


class FeatureFlags:
    """Use inside a running event loop: ``async with FeatureFlags(sid) as flags: ...``."""

    def __init__(self, service_sid: str, map_name: str = "feature-flags") -> None:
        self._http = AsyncTwilioHttpClient()
        client = Client(http_client=self._http)  # credentials from the environment
        self._items = client.sync.v1.services(service_sid).sync_maps(map_name).sync_map_items
        self._flags: dict[str, dict[str, Any]] = {}

    async def __aenter__(self) -> FeatureFlags:
        await self.refresh()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.close()

    async def refresh(self) -> None:
        items = await self._items.list_async(page_size=100)
        self._flags = {item.key: item.data for item in items}

    def is_enabled(self, flag: str, user_id: str) -> bool:
        spec = self._flags.get(flag)
        if not spec or not spec.get("enabled", False):
            return False
        if user_id in spec.get("allow", ()):
            return True
        digest = hashlib.sha256(f"{flag}:{user_id}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % 100 < int(spec.get("rollout", 100))

    async def set_rollout(self, flag: str, percent: int) -> None:
        """Enable ``flag`` for ``percent`` % of users, keeping its other settings."""
        for _ in range(5):  # retry while someone else edits the same flag
            try:
                item = await self._items(flag).fetch_async()
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
                await self._items.create_async(key=flag, data={"enabled": True, "rollout": percent})
                return
            data = {**item.data, "enabled": True, "rollout": percent}
            try:
                await self._items(flag).update_async(data=data, if_match=item.revision)
                return
            except TwilioRestException as exc:
                if exc.status != 412:
                    raise
        raise RuntimeError(f"flag {flag!r} kept changing; try again")
