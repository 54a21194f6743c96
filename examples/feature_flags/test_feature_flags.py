"""Tests for feature_flags.py: async application code, plain (non-async) tests.

``asyncio.run`` drives the coroutines, so no pytest-asyncio is needed. The app builds
its own aiohttp-based ``Client``; ``twilio_async_client`` plays an admin tool.
"""

import asyncio

import pytest
from feature_flags import FeatureFlags

FLAGS = {
    "new-checkout": {"enabled": True, "rollout": 100},
    "beta-search": {"enabled": True, "rollout": 0, "allow": ["u-1"]},
    "dark-mode": {"enabled": False, "rollout": 100},
    "gradual": {"enabled": True, "rollout": 30},
}
flags_map = pytest.mark.sync_map(unique_name="feature-flags", items=FLAGS)
USERS = [f"u-{n}" for n in range(1000)]


async def load(service_sid):
    async with FeatureFlags(service_sid) as flags:
        return flags


@flags_map
def test_flags_come_from_the_map(sync_map):
    flags = asyncio.run(load(sync_map.service_sid))

    assert flags.is_enabled("new-checkout", "u-7")
    assert flags.is_enabled("beta-search", "u-1")
    assert not flags.is_enabled("beta-search", "u-2")
    assert not flags.is_enabled("dark-mode", "u-7")
    assert not flags.is_enabled("no-such-flag", "u-7")


@flags_map
def test_a_rollout_picks_a_stable_share_of_users(sync_map):
    first, second = (asyncio.run(load(sync_map.service_sid)) for _ in range(2))

    chosen = [u for u in USERS if first.is_enabled("gradual", u)]
    assert 250 < len(chosen) < 350
    assert chosen == [u for u in USERS if second.is_enabled("gradual", u)]


@flags_map
def test_set_rollout_keeps_the_other_settings(sync_map):
    async def scenario():
        async with FeatureFlags(sync_map.service_sid) as flags:
            await flags.set_rollout("beta-search", 100)
            await flags.set_rollout("brand-new", 10)

    asyncio.run(scenario())

    assert sync_map["beta-search"] == {"enabled": True, "rollout": 100, "allow": ["u-1"]}
    assert sync_map["brand-new"] == {"enabled": True, "rollout": 10}


@flags_map
def test_refresh_sees_changes_made_elsewhere(sync_map, twilio_async_client):
    admin = (
        twilio_async_client.sync.v1.services(sync_map.service_sid)
        .sync_maps("feature-flags")
        .sync_map_items
    )

    async def scenario():
        async with FeatureFlags(sync_map.service_sid) as flags:
            before = flags.is_enabled("dark-mode", "u-7")
            await admin("dark-mode").update_async(data={"enabled": True})
            await flags.refresh()
            return before, flags.is_enabled("dark-mode", "u-7")

    assert asyncio.run(scenario()) == (False, True)
