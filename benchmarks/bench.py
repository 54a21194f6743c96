#!/usr/bin/env python
"""Benchmarks of pytest-syncmap, each reported as a ratio against a baseline.

Run from the repository root::

    python benchmarks/bench.py                 # full run (about 7 minutes)
    python benchmarks/bench.py --quick         # smoke run (a few seconds)
    python benchmarks/bench.py --json out.json # also write every sample as JSON

Six figures, measured in one run (see ``benchmarks/README.md``):

1. **fetch**: requests/second of ``GET .../Items/<key>`` through one ``Session``: the
   emulator vs a bare Werkzeug server answering the same bytes (no keep-alive: the
   ceiling before the keep-alive transport), with ``requests`` and with the official
   ``twilio`` client; vs the same keep-alive transport answering a constant body; and
   how many connections 200 fetches open;
   **transport**: the same app and a constant body served by the emulator's transport,
   waitress and cheroot (when installed), against bare Werkzeug;
   **cpu**: the server process's CPU per request, against the code of a git ref;
2. **paging**: time to read one page from the middle of a 100,000-item Map vs a
   100-item Map, over HTTP and in the model alone;
3. **fixture cost**: extra per-test time of the ``sync_map`` fixture (and, for
   reference, pytest-httpserver's ``httpserver``) in a real pytest run;
   **fixture-steps**: the same figure before and after the commits that added the
   other kinds, in interleaved runs of both trees;
4. **server cycle**: ``SyncServer()`` start + stop vs pytest-httpserver's ``HTTPServer``.

Competing measurements run in interleaved rounds (A B, B A, A B, ...). The
``ours``/``baseline`` columns are medians over the rounds; a ratio is the median of
the per-round ratios, each taken between two neighbouring measurements, which keeps
drift and background load of a small (2-core) machine out of it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import keepalive as ka
import requests
from pytest_httpserver import HTTPServer

from pytest_syncmap import SyncServer
from pytest_syncmap.domain.clock import FixedClock
from pytest_syncmap.domain.model import Store
from pytest_syncmap.http.params import encode_page_token


# ------------------------------------------------------------------ settings
@dataclass(frozen=True)
class Settings:
    """How much work each benchmark does (``--quick`` uses the small set)."""

    fetch_rounds: int
    fetch_requests: int  # per round and server, with requests
    fetch_twilio_requests: int  # per round and server, with the twilio client
    fetch_warmup: int
    transport_rounds: int
    transport_requests: int  # per round and server
    cpu_rounds: int
    cpu_requests: int  # per round and server process
    big_map: int
    small_map: int
    page_size: int
    paging_rounds: int
    paging_requests: int  # per round and map, over HTTP
    paging_model_calls: int  # per round and map, Store.list_items
    fixture_tests: int  # per kind of test
    fixture_rounds: int  # pytest runs per tree, in fixture-steps
    server_cycles: int
    httpserver_cycles: int
    scale_items: int  # items expiring at once, TTL rewrites, items for the memory figure
    scale_rounds: int


FULL = Settings(
    fetch_rounds=12,
    fetch_requests=1000,
    fetch_twilio_requests=600,
    fetch_warmup=200,
    transport_rounds=12,
    transport_requests=600,
    cpu_rounds=8,
    cpu_requests=1000,
    big_map=100_000,
    small_map=100,
    page_size=50,
    paging_rounds=15,
    paging_requests=40,
    paging_model_calls=500,
    fixture_tests=1000,
    fixture_rounds=6,
    server_cycles=50,
    httpserver_cycles=3,
    scale_items=100_000,
    scale_rounds=5,
)
QUICK = Settings(
    fetch_rounds=4,
    fetch_requests=150,
    fetch_twilio_requests=100,
    fetch_warmup=30,
    transport_rounds=4,
    transport_requests=100,
    cpu_rounds=3,
    cpu_requests=150,
    big_map=100_000,
    small_map=100,
    page_size=50,
    paging_rounds=5,
    paging_requests=15,
    paging_model_calls=100,
    fixture_tests=150,
    fixture_rounds=2,
    server_cycles=10,
    httpserver_cycles=1,
    scale_items=100_000,
    scale_rounds=2,
)


# ------------------------------------------------------------------- results
@dataclass
class Row:
    """One line of the report: our figure, the baseline's, and the verdict."""

    metric: str
    ours: float
    baseline: float | None
    unit: str
    ratio: float | None
    target: str
    passed: bool | None  # None: for information, no target
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def paired_ratio(numerators: list[float], denominators: list[float]) -> tuple[float, list[float]]:
    """Median of the per-round ratios, and the ratios themselves."""
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True)]
    return statistics.median(ratios), ratios


def interleaved(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Call each run once per round, alternating which goes first (A B, B A, ...)."""
    names = list(runs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names if i % 2 == 0 else reversed(names):
            samples[name].append(runs[name]())
    return samples


# ------------------------------------------------------------------- 1. fetch
def _rate(call: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        call()
    return n / (time.perf_counter() - start)


def _spread(ratios: list[float]) -> str:
    return f"rounds {min(ratios):.2f}-{max(ratios):.2f}"


def ratio_row(
    metric: str,
    samples: dict[str, list[ka.Sample]],
    ours: str,
    base: str,
    target: float | None,
    note: str,
) -> Row:
    """ours / base in requests per CPU-second; the verdict on the median per-round ratio.

    CPU time (of this process: client and in-process servers) is the verdict because on
    a shared 2-core machine the wall clock mostly measures the other processes; the
    wall-clock ratio and both spreads are in the note and the JSON report.
    """
    cpu, cpu_rounds = paired_ratio(
        [s.cpu_us for s in samples[base]], [s.cpu_us for s in samples[ours]]
    )
    wall, wall_rounds = paired_ratio(
        [s.rate for s in samples[ours]], [s.rate for s in samples[base]]
    )
    return Row(
        metric=metric,
        ours=1e6 / _median(s.cpu_us for s in samples[ours]),
        baseline=1e6 / _median(s.cpu_us for s in samples[base]),
        unit="req/s",
        ratio=cpu,
        target="info" if target is None else f">= {target:.2f}",
        passed=None if target is None else cpu >= target,
        note=(
            f"{note}; requests per CPU-second, {_spread(cpu_rounds)}; wall clock "
            f"{wall:.2f} ({_spread(wall_rounds)}, "
            f"{_median(s.rate for s in samples[ours]):,.0f} vs "
            f"{_median(s.rate for s in samples[base]):,.0f} req/s); "
            f"{samples[ours][0].n} requests per round"
        ),
        details={
            "requests_per_round": samples[ours][0].n,
            "ratio_per_round": cpu_rounds,
            "wall_ratio": wall,
            "wall_ratio_per_round": wall_rounds,
            "samples": {
                name: [{"wall": x.wall, "cpu": x.cpu} for x in values]
                for name, values in samples.items()
            },
        },
    )


def bench_fetch(cfg: Settings) -> list[Row]:
    """GET one Map Item through one Session: emulator vs bare Werkzeug and vs constant."""
    rows: list[Row] = []
    with ka.emulator() as emu:
        transport = emu.server.transport
        assert transport is not None
        with ka.session_for(emu.server.auth) as session:
            before = transport.accepted
            for _ in range(200):
                session.get(emu.url).raise_for_status()
            opened = transport.accepted - before
        app = ka.constant_app(emu.body, emu.content_type)
        with ka.bare_werkzeug(app) as bare, ka.keepalive_transport(app) as const_url:
            bare_path = bare.url + emu.path
            with ka.session_for(emu.server.auth) as session:
                assert session.get(bare_path).content == emu.body
                before = bare.connections
                for _ in range(200):
                    session.get(bare_path)
                counted = bare.connections - before
                rows.append(
                    Row(
                        metric="connections per 200 fetches, one Session",
                        ours=opened,
                        baseline=counted,
                        unit="",
                        ratio=opened / counted,
                        target="== 1",
                        passed=opened == 1,
                        note="ours: connections the emulator accepted; baseline: bare Werkzeug",
                    )
                )
                urls = {
                    "ours": emu.url,
                    "bare": bare_path,
                    "constant": const_url + emu.path,
                }
                for url in urls.values():
                    for _ in range(cfg.fetch_warmup):
                        session.get(url)
                n = cfg.fetch_requests
                samples = ka.interleave(
                    {name: _fetcher(session, url, n) for name, url in urls.items()},
                    cfg.fetch_rounds,
                )
            size = len(emu.body)
            rows.append(
                ratio_row(
                    "fetch item, requests: vs bare Werkzeug",
                    samples,
                    "ours",
                    "bare",
                    1.6,
                    f"baseline: bare Werkzeug (no keep-alive), same {size}-byte body",
                )
            )
            rows.append(
                ratio_row(
                    "fetch item, requests: vs constant body",
                    samples,
                    "ours",
                    "constant",
                    0.85,
                    "baseline: the same keep-alive transport answering the same bytes",
                )
            )
            contexts = {
                "ours": ka.twilio_item(emu.server.url, emu),
                "bare": ka.twilio_item(bare.url, emu),
            }
            for ctx in contexts.values():
                assert ctx.fetch().data == ka.ITEM
                for _ in range(cfg.fetch_warmup):
                    ctx.fetch()
            n = cfg.fetch_twilio_requests
            samples = ka.interleave(
                {name: (lambda c=ctx: ka.measure(c.fetch, n)) for name, ctx in contexts.items()},
                cfg.fetch_rounds,
            )
            rows.append(
                ratio_row(
                    "fetch item, twilio client: vs bare Werkzeug",
                    samples,
                    "ours",
                    "bare",
                    1.5,
                    "official twilio client (sync); baseline: bare Werkzeug, same body",
                )
            )
    return rows


def bench_fetch_kinds(cfg: Settings) -> list[Row]:
    """The fetch ratios again for a Document and a List Item (issue 10).

    As many rounds as the item fetch: with half as many, the list item's verdict
    flipped between runs on a shared machine.
    """
    rows: list[Row] = []
    rounds = cfg.fetch_rounds
    for kind in ("document", "list_item"):
        label = kind.replace("_", " ")
        with ka.emulator(kind) as emu:
            app = ka.constant_app(emu.body, emu.content_type)
            with ka.bare_werkzeug(app) as bare, ka.session_for(emu.server.auth) as session:
                urls = {"ours": emu.url, "bare": bare.url + emu.path}
                assert session.get(urls["bare"]).content == emu.body
                for url in urls.values():
                    for _ in range(cfg.fetch_warmup):
                        session.get(url)
                samples = ka.interleave(
                    {
                        name: _fetcher(session, url, cfg.fetch_requests)
                        for name, url in urls.items()
                    },
                    rounds,
                )
                rows.append(
                    ratio_row(
                        f"fetch {label}, requests: vs bare Werkzeug",
                        samples,
                        "ours",
                        "bare",
                        1.6,
                        f"baseline: bare Werkzeug (no keep-alive), same {len(emu.body)}-byte body",
                    )
                )
                contexts = {
                    "ours": ka.twilio_item(emu.server.url, emu),
                    "bare": ka.twilio_item(bare.url, emu),
                }
                for ctx in contexts.values():
                    assert ctx.fetch().data == ka.ITEM
                n = cfg.fetch_twilio_requests
                samples = ka.interleave(
                    {
                        name: (lambda c=ctx, n=n: ka.measure(c.fetch, n))
                        for name, ctx in contexts.items()
                    },
                    rounds,
                )
                rows.append(
                    ratio_row(
                        f"fetch {label}, twilio client: vs bare Werkzeug",
                        samples,
                        "ours",
                        "bare",
                        1.5,
                        "official twilio client (sync); baseline: bare Werkzeug, same body",
                    )
                )
    return rows


def _fetcher(session: requests.Session, url: str, n: int) -> Callable[[], ka.Sample]:
    return lambda: ka.measure(lambda: session.get(url), n)


def bench_transport(cfg: Settings) -> list[Row]:
    """Which server to serve the app with: the same app on each, one Session each."""
    servers = {"ours": ka.keepalive_transport, **ka.optional_servers()}
    rows: list[Row] = []
    with ka.emulator() as emu:
        for label, app in (
            ("constant body", ka.constant_app(emu.body, emu.content_type)),
            ("emulator app", emu.server._wsgi),
        ):
            with contextlib.ExitStack() as stack:
                urls = {name: stack.enter_context(start(app)) for name, start in servers.items()}
                urls["bare"] = stack.enter_context(ka.bare_werkzeug(app)).url
                sessions = {name: ka.session_for(emu.server.auth) for name in urls}
                for name, url in urls.items():
                    got = sessions[name].get(url + emu.path)
                    assert got.status_code == 200, (name, got.status_code)
                    for _ in range(cfg.fetch_warmup):
                        sessions[name].get(url + emu.path)
                samples = ka.interleave(
                    {
                        name: _fetcher(sessions[name], url + emu.path, cfg.transport_requests)
                        for name, url in urls.items()
                    },
                    cfg.transport_rounds,
                )
                for session in sessions.values():
                    session.close()
            for name in servers:
                rows.append(
                    ratio_row(
                        f"{label} on {name}: vs bare Werkzeug",
                        samples,
                        name,
                        "bare",
                        None,
                        f"{label} served by {name}, one Session; baseline: bare Werkzeug",
                    )
                )
    return rows


def bench_cpu(cfg: Settings, baseline_ref: str = "ec72a0e") -> list[Row]:
    """The server process's CPU per request, this code vs the code at ``baseline_ref``."""
    root = Path(__file__).resolve().parent.parent
    with ka.source_at(baseline_ref) as old:
        if old is None:
            return []
        samples = ka.server_cpu_samples(
            {"ours": root, "baseline": old}, cfg.cpu_rounds, cfg.cpu_requests, cfg.fetch_warmup
        )
    ratio, per_round = paired_ratio(
        [s.cpu_us for s in samples["ours"]], [s.cpu_us for s in samples["baseline"]]
    )
    wall, wall_rounds = paired_ratio(
        [s.rate for s in samples["ours"]], [s.rate for s in samples["baseline"]]
    )
    return [
        Row(
            metric="server CPU per request vs " + baseline_ref,
            ours=_median(s.cpu_us for s in samples["ours"]),
            baseline=_median(s.cpu_us for s in samples["baseline"]),
            unit="us",
            ratio=ratio,
            target="<= 0.60",
            passed=ratio <= 0.6,
            note=(
                f"item fetch through one requests.Session, each server alone in a subprocess; "
                f"{_spread(per_round)}; req/s ratio {wall:.2f} ({_spread(wall_rounds)})"
            ),
            details={
                "baseline_ref": baseline_ref,
                "ratio_per_round": per_round,
                "rate_ratio": wall,
                "rate_ratio_per_round": wall_rounds,
                "samples": {
                    k: [{"wall": x.wall, "cpu": x.cpu} for x in v] for k, v in samples.items()
                },
            },
        )
    ]


# ------------------------------------------------------------------ 2. paging
def _key(i: int) -> str:
    return f"k{i:06d}"


def bench_paging(cfg: Settings) -> list[Row]:
    """One page from the middle of a big Map vs a small one, over HTTP and in the model."""
    size = cfg.page_size
    with SyncServer() as server:
        store = server.store
        service = store.create_service(friendly_name="bench-paging").sid
        maps: dict[str, tuple[str, int]] = {}
        populate_start = time.perf_counter()
        for label, count in (("big", cfg.big_map), ("small", cfg.small_map)):
            sid = store.create_map(service, unique_name=f"paging-{label}").sid
            for i in range(count):
                store.put_item(service, sid, _key(i), {"i": i, "name": f"item {i}"})
            # A page centred on the middle: it has a previous and a next page in both Maps.
            maps[label] = (sid, count // 2 - size // 2)
        populate_s = time.perf_counter() - populate_start

        session = requests.Session()
        session.auth = server.auth
        urls: dict[str, dict[str, str]] = {"from": {}, "token": {}}
        for label, (sid, start) in maps.items():
            items_url = f"{server.url}/v1/Services/{service}/Maps/{sid}/Items"
            # ``From`` is a lower bound: such a page has a next page but no previous one.
            urls["from"][label] = f"{items_url}?PageSize={size}&From={_key(start)}"
            # The PageToken a client holds after following next_page_url from the first
            # page to the middle (checked below against the token the server issues).
            token = encode_page_token("next", _key(start - 1))
            urls["token"][label] = (
                f"{items_url}?PageSize={size}&Page={start // size}&PageToken={token}"
            )
            first_page = session.get(f"{items_url}?PageSize={size}").json()
            expected = f"PageToken={encode_page_token('next', _key(size - 1))}"
            assert first_page["meta"]["next_page_url"].endswith(expected)
            for via in ("from", "token"):
                page = session.get(urls[via][label]).json()
                got = [item["key"] for item in page["items"]]
                assert got == [_key(i) for i in range(start, start + size)], (via, label)
                assert page["meta"]["next_page_url"], (via, label)
                assert bool(page["meta"]["previous_page_url"]) == (via == "token"), (via, label)

        rows: list[Row] = []
        n = cfg.paging_requests

        def ms_per_get(url: str) -> Callable[[], float]:
            return lambda: 1e3 / _rate(lambda: session.get(url), n)

        for via, title in (
            ("token", "page mid-map, HTTP PageToken (ms)"),
            ("from", "page mid-map, HTTP From= (ms)"),
        ):
            big_url, small_url = urls[via]["big"], urls[via]["small"]
            for url in (big_url, small_url):
                for _ in range(max(5, n // 4)):
                    session.get(url)
            samples = interleaved(
                {"big": ms_per_get(big_url), "small": ms_per_get(small_url)}, cfg.paging_rounds
            )
            rows.append(_paging_row(title, samples, cfg, n, populate_s))
        session.close()

        def model(label: str) -> float:
            sid, start = maps[label]
            first = _key(start)
            calls = cfg.paging_model_calls
            t0 = time.perf_counter()
            for _ in range(calls):
                store.maps.items.page(service, sid, limit=size, start=first)
            return (time.perf_counter() - t0) / calls * 1e3

        for label in maps:
            model(label)
        samples = interleaved(
            {"big": lambda: model("big"), "small": lambda: model("small")}, cfg.paging_rounds
        )
        rows.append(
            _paging_row(
                "page mid-map, Store maps.items (ms)", samples, cfg, cfg.paging_model_calls, None
            )
        )
        rows.extend(_list_paging(server, cfg))
    return rows


def _list_paging(server: SyncServer, cfg: Settings) -> list[Row]:
    """One page from the middle of a big List vs a small one (``From`` is an index)."""
    store, size = server.store, cfg.page_size
    service = store.create_service(friendly_name="bench-list-paging").sid
    lists: dict[str, tuple[str, int]] = {}
    populate_start = time.perf_counter()
    for label, count in (("big", cfg.big_map), ("small", cfg.small_map)):
        sid = store.lists.create(service, unique_name=f"paging-{label}").sid
        for i in range(count):
            store.lists.items.create(service, sid, {"i": i, "name": f"item {i}"})
        lists[label] = (sid, count // 2 - size // 2)
    populate_s = time.perf_counter() - populate_start
    session = requests.Session()
    session.auth = server.auth
    urls = {}
    for label, (sid, start) in lists.items():
        url = f"{server.url}/v1/Services/{service}/Lists/{sid}/Items?PageSize={size}&From={start}"
        page = session.get(url).json()
        assert [item["index"] for item in page["items"]] == list(range(start, start + size))
        urls[label] = url
    n = cfg.paging_requests

    def ms_per_get(url: str) -> Callable[[], float]:
        return lambda: 1e3 / _rate(lambda: session.get(url), n)

    for url in urls.values():
        for _ in range(max(5, n // 4)):
            session.get(url)
    samples = interleaved(
        {"big": ms_per_get(urls["big"]), "small": ms_per_get(urls["small"])}, cfg.paging_rounds
    )
    rows = [_paging_row("page mid-list, HTTP From= (ms)", samples, cfg, n, populate_s)]
    session.close()

    def model(label: str) -> float:
        sid, start = lists[label]
        calls = cfg.paging_model_calls
        t0 = time.perf_counter()
        for _ in range(calls):
            store.lists.items.page(service, sid, limit=size, start=start)
        return (time.perf_counter() - t0) / calls * 1e3

    samples = interleaved(
        {"big": lambda: model("big"), "small": lambda: model("small")}, cfg.paging_rounds
    )
    rows.append(
        _paging_row(
            "page mid-list, Store lists.items (ms)", samples, cfg, cfg.paging_model_calls, None
        )
    )
    return rows


def _paging_row(
    metric: str, samples: dict[str, list[float]], cfg: Settings, n: int, populate_s: float | None
) -> Row:
    big, small = _median(samples["big"]), _median(samples["small"])
    ratio, per_round = paired_ratio(samples["big"], samples["small"])
    details: dict[str, Any] = {
        "big_map_items": cfg.big_map,
        "small_map_items": cfg.small_map,
        "page_size": cfg.page_size,
        "calls_per_round": n,
        "samples_big_ms": samples["big"],
        "samples_small_ms": samples["small"],
        "ratio_per_round": per_round,
    }
    if populate_s is not None:
        details["populate_seconds"] = populate_s
    return Row(
        metric=metric,
        ours=big,
        baseline=small,
        unit="ms",
        ratio=ratio,
        target="<= 1.50",
        passed=ratio <= 1.5,
        note=f"ours: {cfg.big_map:,} items; baseline: {cfg.small_map} items",
        details=details,
    )


# ----------------------------------------------------------- 3. fixture cost
_TIMING_CONFTEST = '''
"""Generated by benchmarks/bench.py: time each test, setup to teardown."""

import json
import os
import time

import pytest

_DURATIONS = []


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        _DURATIONS.append((item.name, time.perf_counter() - start))


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["SYNCMAP_BENCH_OUT"], "w") as out:
        json.dump(_DURATIONS, out)
'''

_PROBE_CONFTEST = '''
"""Generated by benchmarks/bench.py: record the fixture graph a test sets up."""

import inspect
import json
import os

import pytest

_GRAPH = {}


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request):
    func = fixturedef.func
    _GRAPH[fixturedef.argname] = {
        "scope": fixturedef.scope,
        "argnames": list(fixturedef.argnames),
        "generator": inspect.isgeneratorfunction(func),
        "module": getattr(func, "__module__", "") or "",
    }


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["SYNCMAP_BENCH_OUT"], "w") as out:
        json.dump(_GRAPH, out)
'''

#: Test kinds of the generated file: name part and the fixture the test takes.
_KINDS = {
    "with_sync_map": "sync_map",
    "without": "",
    "with_httpserver": "httpserver",
    "with_floor": "floor_sync_map",
}


def floor_fixtures(graph: dict[str, dict[str, Any]], package: str = "pytest_syncmap") -> str:
    """Empty fixtures with the shape of ``graph``'s fixtures from ``package``.

    Each gets the same scope, the same arguments (``request`` and fixtures of other
    origins, such as ``monkeypatch``, kept as they are) and is a generator if the real
    one is; its body does nothing. Their cost is what pytest charges for the graph.
    """
    ours = {name for name, spec in graph.items() if spec["module"].startswith(package)}
    lines: list[str] = []
    for name in sorted(ours):
        spec = graph[name]
        args = ", ".join(f"floor_{a}" if a in ours else a for a in spec["argnames"])
        body = "yield None" if spec["generator"] else "return None"
        lines += [
            f"@pytest.fixture(scope={spec['scope']!r})",
            f"def floor_{name}({args}):",
            f"    {body}",
            "",
            "",
        ]
    return "\n".join(lines)


def _test_module(per_kind: int, kinds: dict[str, str] = _KINDS) -> str:
    lines = ["# Generated by benchmarks/bench.py: trivial tests, interleaved by kind.", ""]
    for i in range(per_kind):
        for kind, args in kinds.items():
            lines += [f"def test_{kind}_{i:05d}({args}):", "    pass", "", ""]
    return "\n".join(lines)


def _ms_by_kind(
    durations: list[tuple[str, float]], kinds: Iterable[str]
) -> tuple[dict[str, list[float]], list[str]]:
    """Each kind's per-test times in ms, and the tests left out.

    The first test of a kind starts its session fixtures (the server); the last test of
    the run stops them. Neither is a per-test cost.
    """
    by_kind: dict[str, list[float]] = {kind: [] for kind in kinds}
    excluded: list[str] = []
    seen: set[str] = set()
    for index, (name, seconds) in enumerate(durations):
        kind = name[len("test_") : name.rindex("_")]
        if kind not in seen or index == len(durations) - 1:
            seen.add(kind)
            excluded.append(name)
            continue
        by_kind[kind].append(seconds * 1e3)
    return by_kind, excluded


def _run_pytest(
    root: Path, conftest: str, tests: str, source: Path | None = None
) -> tuple[Any, float]:
    """Run ``tests`` under ``conftest`` in a pytest subprocess; its JSON output and wall time.

    ``source``: a directory holding another ``pytest_syncmap`` (an older tree), put
    first on the subprocess's path so the plugin's entry point loads it instead.
    """
    # An ini file of its own: the repository's pytest settings must not apply.
    (root / "pytest.ini").write_text("[pytest]\naddopts =\n")
    (root / "conftest.py").write_text(conftest)
    (root / "test_generated.py").write_text(tests)
    out = root / "out.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, "SYNCMAP_BENCH_OUT": str(out), "PYTHONDONTWRITEBYTECODE": "1"}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_generated.py"]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"pytest run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text()), wall


def run_fixture_tests(per_kind: int) -> tuple[list[tuple[str, float]], float, str]:
    """Probe sync_map's fixture graph, then time the generated tests; also the floor code."""
    with tempfile.TemporaryDirectory(prefix="syncmap-bench-") as tmp:
        root = Path(tmp)
        graph, _ = _run_pytest(root, _PROBE_CONFTEST, "def test_probe(sync_map):\n    pass\n")
        floor = floor_fixtures(graph)
        conftest = f"{_TIMING_CONFTEST}\n\n# sync_map's fixture graph, empty.\n{floor}"
        raw, wall = _run_pytest(root, conftest, _test_module(per_kind))
    return [(str(name), float(sec)) for name, sec in raw], wall, floor


def bench_fixture_cost(cfg: Settings) -> list[Row]:
    """Per-test time with ``sync_map`` minus without, from a real pytest run."""
    durations, wall, floor_code = run_fixture_tests(cfg.fixture_tests)
    by_kind, excluded = _ms_by_kind(durations, _KINDS)

    medians = {kind: _median(values) for kind, values in by_kind.items()}
    extra = {kind: medians[kind] - medians["without"] for kind in _KINDS}
    ours, reference, floor = extra["with_sync_map"], extra["with_httpserver"], extra["with_floor"]
    details = {
        "tests_per_kind": cfg.fixture_tests,
        "median_ms": medians,
        "extra_ms": extra,
        "mean_ms": {kind: statistics.fmean(v) for kind, v in by_kind.items()},
        "p90_ms": {kind: statistics.quantiles(v, n=10)[-1] for kind, v in by_kind.items()},
        "excluded": excluded,
        "pytest_wall_seconds": wall,
        "floor_fixtures": floor_code,
    }
    counted = cfg.fixture_tests - 1
    return [
        Row(
            metric="sync_map fixture, extra per test (ms)",
            ours=ours,
            baseline=reference,
            unit="ms",
            ratio=ours / reference if reference > 0 else None,
            target="<= 0.25 ms",
            passed=ours <= 0.25,
            note=(
                f"median of ~{counted} tests minus median of tests without a fixture "
                f"({medians['without']:.3f} ms); baseline: pytest-httpserver's httpserver"
            ),
            details=details,
        ),
        Row(
            metric="  same fixture graph, empty (ms)",
            ours=floor,
            baseline=ours,
            unit="ms",
            ratio=floor / ours if ours > 0 else None,
            target="info",
            passed=None,
            note=(
                "pytest's own cost for sync_map's fixture graph (same fixtures, scopes and "
                "arguments, empty bodies); ratio: its share of the sync_map figure"
            ),
            details={"extra_ms": extra, "floor_fixtures": floor_code},
        ),
    ]


#: Where the per-test cost of ``sync_map`` is compared across trees (git refs; ``None``:
#: this working tree). The two steps that added Documents, Lists and Streams (issue 10:
#: at most 10 % more), and this tree against the last Maps-only tree, which also
#: predates the test boundary (issue 8), for information.
FIXTURE_STEPS: tuple[tuple[str, str | None, str, float | None], ...] = (
    ("the other kinds in the domain", "ef3cc17", "ec72a0e", 1.10),
    ("their fixtures, markers and handles", "7a43b17", "c7c2f87", 1.10),
    ("this tree vs the last Maps-only tree", None, "f3b1ff7", None),
)

_REF_CONFTEST = _TIMING_CONFTEST.replace(
    "        json.dump(_DURATIONS, out)",
    "        import pytest_syncmap\n"
    "        json.dump({'durations': _DURATIONS, 'module': pytest_syncmap.__file__}, out)",
)


#: The two kinds of test the tree comparison times.
_STEP_KINDS = {"with_sync_map": "sync_map", "without": ""}


def _sync_map_extra_ms(durations: list[tuple[str, float]]) -> float:
    """Median per-test time with ``sync_map`` minus without."""
    by_kind, _ = _ms_by_kind(durations, _STEP_KINDS)
    return _median(by_kind["with_sync_map"]) - _median(by_kind["without"])


def _fixture_cost_samples(
    cfg: Settings, sources: dict[str, Path], tmp: Path
) -> dict[str, list[float]]:
    """Extra ms per test of ``sync_map`` for each source tree, in interleaved pytest runs."""
    tests = _test_module(cfg.fixture_tests, _STEP_KINDS)

    def run(name: str) -> Callable[[], float]:
        def once() -> float:
            got, _ = _run_pytest(tmp, _REF_CONFTEST, tests, sources[name])
            loaded = Path(got["module"]).resolve().parent.parent
            assert loaded == sources[name].resolve(), (name, got["module"])
            return _sync_map_extra_ms(got["durations"])

        return once

    return interleaved({name: run(name) for name in sources}, cfg.fixture_rounds)


def bench_fixture_steps(cfg: Settings) -> list[Row]:
    """Per-test cost of ``sync_map`` before and after each step of :data:`FIXTURE_STEPS`."""
    root = Path(__file__).resolve().parent.parent
    rows: list[Row] = []
    for label, new_ref, old_ref, target in FIXTURE_STEPS:
        with contextlib.ExitStack() as stack:
            old = stack.enter_context(ka.source_at(old_ref))
            new = root if new_ref is None else stack.enter_context(ka.source_at(new_ref))
            if old is None or new is None:
                continue
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            samples = _fixture_cost_samples(cfg, {"ours": new, "baseline": old}, tmp)
        ratio, per_round = paired_ratio(samples["ours"], samples["baseline"])
        rows.append(
            Row(
                metric=f"sync_map per test, {label}",
                ours=_median(samples["ours"]),
                baseline=_median(samples["baseline"]),
                unit="ms",
                ratio=ratio,
                target="info" if target is None else f"<= {target:.2f}",
                passed=None if target is None else ratio <= target,
                note=(
                    f"{new_ref or 'this tree'} vs {old_ref}: extra per test (median with "
                    f"minus median without), {cfg.fixture_tests} tests of each per run, "
                    f"{cfg.fixture_rounds} interleaved runs per tree; {_spread(per_round)}"
                ),
                details={
                    "refs": [new_ref, old_ref],
                    "samples": samples,
                    "ratios": per_round,
                },
            )
        )
    return rows


# ----------------------------------------------------------- 4. server cycle
def _expiring_store(n: int) -> tuple[Any, Any, str, str]:
    """A store holding ``n`` items that all expire one second from now (frozen clock)."""
    clock = FixedClock(datetime(2025, 1, 1, tzinfo=timezone.utc))
    store = Store(clock)
    service = store.create_service().sid
    map_sid = store.maps.create(service).sid
    for i in range(n):
        store.maps.items.put(service, map_sid, _key(i), {"i": i}, ttl=1)
    clock.set(clock.now() + timedelta(seconds=1))
    return store, clock, service, map_sid


def _expiry_seconds_per_item(n: int) -> float:
    """CPU seconds per item of one ``collect()`` that expires ``n`` items at once.

    CPU time of this process rather than wall time: other processes on a small
    machine then only add cache pressure, not their own time slices.
    """
    store, _, service, map_sid = _expiring_store(n)
    started = time.process_time()
    store.collect()
    took = time.process_time() - started
    assert store.maps.items.count(service, map_sid) == 0
    return took / n


def bench_scale(cfg: Settings) -> list[Row]:
    """Mass expiry, the expiry heap's bound and memory per item, in the model."""
    big, small = cfg.scale_items, 1000
    per_item: dict[str, list[float]] = {"big": [], "small": []}
    for _ in range(cfg.scale_rounds):
        # Several small runs per round: one takes well under a millisecond.
        per_item["small"].append(min(_expiry_seconds_per_item(small) for _ in range(5)))
        per_item["big"].append(_expiry_seconds_per_item(big))
    ratio, ratios = paired_ratio(per_item["big"], per_item["small"])
    rows = [
        Row(
            metric=f"expiry per item, {big:,} at once vs {small:,}",
            ours=_median(per_item["big"]) * 1e9,
            baseline=_median(per_item["small"]) * 1e9,
            unit="ns CPU",
            ratio=ratio,
            target="<= 1.5",
            passed=ratio <= 1.5,
            note=_spread(ratios),
            details={"ratios": ratios},
        )
    ]
    # The heap: rewriting one item's TTL many times leaves a bounded number of entries.
    store, _, service, map_sid = _expiring_store(0)
    for i in range(big):
        store.maps.items.put(service, map_sid, "one", {"i": i}, ttl=60 + i % 97)
    entries = len(store._services[service].namespaces["map"].objects[map_sid].items.expiry)
    rows.append(
        Row(
            metric=f"expiry entries after {big:,} TTL rewrites of one item",
            ours=float(entries),
            baseline=None,
            unit="entries",
            ratio=None,
            target="<= 100",
            passed=entries <= 100,
        )
    )
    # Memory: 1 KiB of data per item, measured with tracemalloc while the items go in.
    data = {"p": "x" * (1024 - len('{"p":""}'))}
    raw = len(json.dumps(data, separators=(",", ":")))
    store, _, service, map_sid = _expiring_store(0)
    tracemalloc.start()
    try:
        for i in range(big):
            store.maps.items.put(service, map_sid, _key(i), data, ttl=3600)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ratio = held / (big * raw)
    rows.append(
        Row(
            metric=f"memory of {big:,} items of {raw} bytes vs the raw data",
            ours=held / 2**20,
            baseline=big * raw / 2**20,
            unit="MiB",
            ratio=ratio,
            target="<= 1.4",
            passed=ratio <= 1.4,
        )
    )
    return rows


def _cycle_ms(make: Callable[[], SyncServer | HTTPServer]) -> float:
    start = time.perf_counter()
    server = make()
    server.start()
    server.stop()
    return (time.perf_counter() - start) * 1e3


def bench_server_cycle(cfg: Settings) -> list[Row]:
    """``SyncServer()`` + start + stop vs pytest-httpserver's ``HTTPServer``."""
    _cycle_ms(SyncServer)  # imports and first-use costs are not a cycle's
    ours = [_cycle_ms(SyncServer) for _ in range(cfg.server_cycles)]
    reference = [_cycle_ms(HTTPServer) for _ in range(cfg.httpserver_cycles)]
    details = {
        "cycles": cfg.server_cycles,
        "httpserver_cycles": cfg.httpserver_cycles,
        "samples_ours_ms": ours,
        "samples_httpserver_ms": reference,
        "max_ours_ms": max(ours),
    }
    rows = []
    for label, stat in (("median", statistics.median), ("mean", statistics.fmean)):
        value, base = stat(ours), stat(reference)
        rows.append(
            Row(
                metric=f"server start+stop, {label} (ms)",
                ours=value,
                baseline=base,
                unit="ms",
                ratio=value / base,
                target="<= 15 ms",
                passed=value <= 15.0,
                note=(
                    f"{cfg.server_cycles} cycles; baseline: pytest-httpserver HTTPServer, "
                    f"{cfg.httpserver_cycles} cycle(s)"
                ),
                details=details,
            )
        )
    return rows


# ------------------------------------------------------------------- report
def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit in ("req/s", "us", ""):
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.3f}"


def render_table(rows: list[Row]) -> str:
    """The report as a fixed-width text table."""
    header = ("metric", "ours", "baseline", "ratio", "target", "result")
    body = [
        (
            r.metric,
            _fmt(r.ours, r.unit),
            _fmt(r.baseline, r.unit),
            "-" if r.ratio is None else f"{r.ratio:.3f}",
            r.target,
            {True: "PASS", False: "FAIL", None: "-"}[r.passed],
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    rule = "-" * len(line(header))
    notes = [f"  {r.metric}: {r.note}" for r in rows if r.note]
    return "\n".join([line(header), rule, *(line(b) for b in body), rule, "notes:", *notes])


def environment() -> dict[str, Any]:
    """Where the figures were measured."""
    packages = (
        "pytest-syncmap", "werkzeug", "requests", "twilio", "pytest", "pytest-httpserver",
        "waitress", "cheroot",
    )  # fmt: skip
    versions: dict[str, str] = {}
    for name in packages:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "loadavg": ka.load(),
    }


def load_average() -> float | None:
    """The 1-minute load average, where the OS tells it."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


BENCHMARKS: dict[str, Callable[[Settings], list[Row]]] = {
    "fetch": bench_fetch,
    "fetch-kinds": bench_fetch_kinds,
    "transport": bench_transport,
    "cpu": bench_cpu,
    "paging": bench_paging,
    "fixture": bench_fixture_cost,
    "fixture-steps": bench_fixture_steps,
    "cycle": bench_server_cycle,
    "scale": bench_scale,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (about 10 s)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write all results here")
    parser.add_argument(
        "--only",
        choices=sorted(BENCHMARKS),
        action="append",
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL

    rows: list[Row] = []
    timings: dict[str, float] = {}
    load_before = load_average()
    cpus = os.cpu_count() or 1
    if load_before is not None and load_before > cpus / 2:
        print(
            f"warning: load average {load_before:.2f} on {cpus} CPUs before the run; "
            "other work on this machine makes the figures noisy",
            file=sys.stderr,
        )
    started = time.perf_counter()
    for name, bench in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        rows.extend(bench(cfg))
        timings[name] = time.perf_counter() - t0
    total = time.perf_counter() - started

    print(render_table(rows))
    print(f"\n{'quick' if args.quick else 'full'} run in {total:.1f} s", file=sys.stderr)
    if args.json is not None:
        report = {
            "mode": "quick" if args.quick else "full",
            "settings": asdict(cfg),
            "environment": {
                **environment(),
                "load_average_before": load_before,
                "load_average_after": load_average(),
            },
            "seconds": {"total": total, **timings},
            "results": [asdict(r) for r in rows],
            "all_passed": all(r.passed is not False for r in rows),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if args.strict and any(r.passed is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
