"""Compatibility promises: the plugin under the pytest options and plugins users run with.

One pytester run per promise, each on the same small suite that uses every fixture
family (markers, the clock, faults, webhooks, the sync and asyncio clients, tests
repeating the same names): ``-p no:cacheprovider``, ``--strict-markers``, xdist
``-n 4`` and ``--dist loadgroup``, pytest-randomly, and ``-W error::DeprecationWarning``
with only the two warnings aiohttp raises under twilio's asyncio client filtered.
"""

from __future__ import annotations

import re

import pytest

SUITE = """
import asyncio
import os

import pytest
from twilio.base.exceptions import TwilioRestException


def items_of(client, sync_map):
    return client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid).sync_map_items


@pytest.mark.sync_clock("2030-01-01T00:00:00Z")
@pytest.mark.sync_map(unique_name="carts", items={"a": {"n": 1}})
def test_markers_clock_and_expiry(sync_map, sync_clock, twilio_client):
    items = items_of(twilio_client, sync_map)
    items.create(key="b", data={"n": 2}, ttl=10)
    sync_clock.advance(10)
    sync_map.assert_expired("b")
    assert items("a").fetch().data == {"n": 1}


@pytest.mark.sync_fault("conflict", key="a")
@pytest.mark.sync_map(items={"a": {"n": 1}})
def test_fault_marker(sync_map, twilio_client):
    items = items_of(twilio_client, sync_map)
    item = items("a").fetch()
    with pytest.raises(TwilioRestException) as refused:
        items("a").update(data={"n": 2}, if_match=item.revision)
    assert refused.value.status == 412


def test_signed_webhooks(sync_map, sync_webhooks, twilio_client):
    items_of(twilio_client, sync_map).create(key="k", data={})
    sync_webhooks.wait_for(2)
    sync_webhooks.assert_types("map_created", "map_item_added")
    sync_webhooks.assert_signed(os.environ["TWILIO_AUTH_TOKEN"])


def test_asyncio_client(sync_map, twilio_async_client):
    items = items_of(twilio_async_client, sync_map)

    async def scenario():
        await items.create_async(key="k", data={"on": True})
        return (await items("k").fetch_async()).data

    assert asyncio.run(scenario()) == {"on": True}


@pytest.mark.parametrize("n", range(6))
@pytest.mark.sync_map(unique_name="shared")
def test_same_names_never_meet(n, sync_map, twilio_client):
    items = items_of(twilio_client, sync_map)
    items.create(key=f"k{n}", data={"n": n})
    assert [item.key for item in items.list()] == [f"k{n}"]
    sync_map.assert_written(f"k{n}", times=1)
"""
SUITE_TESTS = 10

#: The warnings aiohttp (3.14 and newer) raises when twilio's asyncio client calls it.
THIRD_PARTY_WARNINGS = (
    "ignore:BasicAuth is deprecated:DeprecationWarning",
    "ignore:The 'auth' parameter is deprecated:DeprecationWarning",
)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def _passes(result: pytest.RunResult, passed: int = SUITE_TESTS) -> None:
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=passed)


def test_without_the_cache_provider(suite: pytest.Pytester) -> None:
    _passes(suite.runpytest_subprocess("-p", "no:cacheprovider"))
    assert not (suite.path / ".pytest_cache").exists()


def test_with_strict_markers(suite: pytest.Pytester) -> None:
    _passes(suite.runpytest_subprocess("--strict-markers"))
    # ...and strict really is on: a misspelt marker is refused.
    suite.makepyfile(test_typo="import pytest\n\n@pytest.mark.sync_mapp\ndef test_x():\n    pass\n")
    typo = suite.runpytest_subprocess("--strict-markers", "test_typo.py")
    assert typo.ret != 0
    typo.stdout.fnmatch_lines(["*'sync_mapp' not found in `markers`*"])


def test_under_xdist_with_four_workers(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("-n", "4")
    _passes(result)
    result.stdout.fnmatch_lines(["*4 workers*"])


def test_under_xdist_loadgroup(suite: pytest.Pytester) -> None:
    grouped = SUITE.replace(
        '@pytest.mark.parametrize("n", range(6))',
        '@pytest.mark.xdist_group("same-names")\n@pytest.mark.parametrize("n", range(6))',
    )
    assert grouped != SUITE
    suite.makepyfile(test_suite=grouped)
    _passes(suite.runpytest_subprocess("-n", "2", "--dist", "loadgroup"))


def test_with_pytest_randomly(suite: pytest.Pytester) -> None:
    orders = []
    for seed in ("1", "2", "3"):
        # The conftest's pytester pins "-p no:randomly"; "-p randomly" after it wins.
        result = suite.runpytest_subprocess("-p", "randomly", "-v", f"--randomly-seed={seed}")
        _passes(result)
        result.stdout.fnmatch_lines([f"*randomly-seed={seed}*"])
        orders.append(re.findall(r"test_suite\.py::(\S+) PASSED", result.stdout.str()))
    assert all(len(order) == SUITE_TESTS for order in orders)
    assert len({tuple(order) for order in orders}) > 1, "pytest-randomly did not shuffle"


def test_deprecation_warnings_are_errors_for_our_code(suite: pytest.Pytester) -> None:
    filters = [arg for warning in THIRD_PARTY_WARNINGS for arg in ("-W", warning)]
    result = suite.runpytest_subprocess("-W", "error::DeprecationWarning", *filters)
    _passes(result)
    result.stdout.no_fnmatch_line("*DeprecationWarning*")
