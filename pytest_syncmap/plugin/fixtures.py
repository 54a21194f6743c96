"""The plugin's fixtures: the emulator, its state, time, faults, webhooks and clients.

They follow pytest-httpserver's split: one server per session (per xdist worker),
started once, and cheap function-scoped fixtures that reset its state, so a test pays
for a reset and a fresh Map, not for a server.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from pytest_syncmap.host.server import SyncServer
from pytest_syncmap.http.faults import SyncFaults

from .context import ActiveTest, ServerConfig, activate
from .handles import MapHandle, ServiceHandle
from .receiver import WebhookReceiver
from .timecontrol import SyncClock

if TYPE_CHECKING:
    from twilio.rest import Client

__all__ = [
    "sync_clock",
    "sync_faults",
    "sync_map",
    "sync_server",
    "sync_server_config",
    "sync_server_session",
    "sync_service",
    "sync_webhook_receiver_session",
    "sync_webhooks",
    "twilio_async_client",
    "twilio_client",
]

_MARKER_OPTIONS = ("unique_name", "items", "ttl", "service")


@pytest.fixture(scope="session")
def sync_server_config() -> ServerConfig:
    """How the session's Sync emulator is set up (host, port, credentials, choices).

    Override this session-scoped fixture in a ``conftest.py`` to change it, e.g.
    ``return ServerConfig(auth_token="my-token")``.
    """
    return ServerConfig()


@pytest.fixture(scope="session")
def sync_server_session(sync_server_config: ServerConfig) -> Iterator[SyncServer]:
    """The session's running Sync emulator (one per xdist worker), without any reset.

    Prefer ``sync_server``, which also resets state and redirects twilio clients.
    """
    cfg = sync_server_config
    server = SyncServer(
        cfg.host,
        cfg.port,
        account_sid=cfg.account_sid,
        auth_token=cfg.auth_token,
        choices=cfg.choices,
        expiry_lag=cfg.expiry_lag,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sync_server(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> SyncServer:
    """The Sync emulator, with empty state, for this test.

    While the test runs, every ``twilio.rest.Client`` (built by the test or by the code
    under test, sync or async, whatever ``TWILIO_REGION``/``TWILIO_EDGE`` say) sends its
    Sync requests here, and ``TWILIO_ACCOUNT_SID``/``TWILIO_AUTH_TOKEN`` hold the
    emulator's credentials. ``.url`` is the base URL, ``.auth`` the Basic auth pair,
    ``.store`` the state, ``.journal`` the requests. An error inside the emulator fails
    the test with its traceback.
    """
    return activate(sync_server_session, request).server


@pytest.fixture
def sync_faults(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> SyncFaults:
    """Schedule Twilio-shaped failures for this test: ``sync_faults.conflict(key="k")``.

    Kinds: ``conflict``, ``race``, ``not_found``, ``already_exists``, ``rate_limited``,
    ``server_error``, ``delay``, ``reset``, ``empty_response``, ``truncated``,
    ``malformed``. Each fires once by default (``times=``, ``after=``, ``probability=``
    with ``seed=``), matches by ``key``, ``map``, ``operation``, ``method`` or ``when``.
    A fault that never fires fails the test unless ``expect_fired=False``. Faults never
    outlive the test. The same faults can be declared with
    ``@pytest.mark.sync_fault("conflict", key="k")``.
    """
    return SyncFaults(activate(sync_server_session, request).server.faults)


@pytest.fixture
def sync_service(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> ServiceHandle:
    """A fresh Sync Service for this test (``.sid``, ``.url``, ``.friendly_name``)."""
    context = activate(sync_server_session, request)
    return ServiceHandle(context.server, _test_service(context, request))


@pytest.fixture
def sync_map(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> MapHandle:
    """A fresh Sync Map for this test, in ``sync_service``.

    ``.sid``, ``.unique_name``, ``.url``; reads like a dict of key to data
    (``sync_map["k"]``, ``"k" in sync_map``, ``dict(sync_map)``); ``.item(key)`` gives
    revision and expiry; ``.put(key, data, ttl=...)`` arranges an item without HTTP;
    assertions such as ``assert_item``, ``assert_expired``. Configure it with
    ``@pytest.mark.sync_map(unique_name=..., items={...}, ttl=..., service="default")``;
    ``service="default"`` puts it in the account's default Service (for code that
    addresses ``services("default")``), which is then the test's Service.
    """
    options = _marker_options(request.node.get_closest_marker("sync_map"))
    context = activate(sync_server_session, request)
    server = context.server
    service_sid = _test_service(context, request, options)
    record = server.store.create_map(
        service_sid, unique_name=options.get("unique_name"), ttl=options.get("ttl")
    )
    handle = MapHandle(server, service_sid, record.sid, record=record)
    for key, data in options.get("items", {}).items():
        handle.put(key, data)
    return handle


@pytest.fixture(scope="session")
def sync_webhook_receiver_session() -> Iterator[WebhookReceiver]:
    """The session's webhook receiver (a pytest-httpserver server), without any reset."""
    receiver = WebhookReceiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def sync_webhooks(
    sync_server_session: SyncServer,
    sync_webhook_receiver_session: WebhookReceiver,
    request: pytest.FixtureRequest,
) -> WebhookReceiver:
    """A webhook receiver wired to this test's Service (``sync_service``, ``sync_map``).

    The Service gets ``webhook_url`` = the receiver and ``webhooks_from_rest_enabled``,
    so every Map and item change (and expiry) is POSTed to it, signed, in order.
    ``wait_for(n)`` blocks until n events arrived; ``events``, ``types``,
    ``received`` (with signatures), ``assert_types(...)``, ``assert_signed(token)``;
    set ``.status = 500`` to make the receiver fail. It is set up before the test's
    other fixtures, so ``sync_map``'s creation and seed items are delivered too, in
    either fixture order. Each test gets its own receiver URL: a delivery of an
    earlier test that arrives late is refused and never shows here.
    """
    context = activate(sync_server_session, request)
    receiver = sync_webhook_receiver_session
    receiver.begin_test()
    context.server.store.update_service(
        _test_service(context, request),
        webhook_url=receiver.url,
        webhooks_from_rest_enabled=True,
    )
    return receiver


def _test_service(
    context: ActiveTest, request: pytest.FixtureRequest, options: Mapping[str, Any] | None = None
) -> str:
    """The test's Service: a fresh one, or the default one if ``sync_map`` asks for it."""
    if context.service_sid is None:
        if options is None:
            options = _marker_options(request.node.get_closest_marker("sync_map"))
        if options.get("service") is not None:
            context.service_sid = context.server.store.default_service_sid
    return context.service(request.node.name)


def _marker_options(marker: pytest.Mark | None) -> dict[str, Any]:
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(
            "@pytest.mark.sync_map takes keyword arguments only "
            f"({', '.join(_MARKER_OPTIONS)}), got positional {marker.args!r}"
        )
    unknown = sorted(set(marker.kwargs) - set(_MARKER_OPTIONS))
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.sync_map got unknown argument(s) {', '.join(unknown)}; "
            f"it accepts {', '.join(_MARKER_OPTIONS)}"
        )
    service = marker.kwargs.get("service")
    if service not in (None, "default"):
        raise pytest.UsageError(
            f"@pytest.mark.sync_map(service=...) takes 'default' (the account's default "
            f"Service), not {service!r}; leave it out for a fresh Service"
        )
    items = marker.kwargs.get("items", {})
    if not isinstance(items, Mapping):
        raise pytest.UsageError(
            f"@pytest.mark.sync_map(items=...) must be a dict of key to data, not "
            f"{type(items).__name__}"
        )
    return dict(marker.kwargs)


@pytest.fixture
def sync_clock(
    sync_server_session: SyncServer, request: pytest.FixtureRequest
) -> Iterator[SyncClock]:
    """Frozen time for this test that moves the emulator's clock: TTLs without sleeping.

    ``sync_clock.advance(seconds=60)`` (or ``advance(60)``, ``advance(timedelta(...))``),
    ``sync_clock.move_to("2025-01-31T12:00:00Z")``, ``sync_clock.now()``. Built on
    freezegun; if the test already froze time with freezegun or travels with
    time-machine, that clock is driven instead (never both). Start at a given instant
    with ``@pytest.mark.sync_clock("2025-01-31T12:00:00Z")``.
    """
    marker = request.node.get_closest_marker("sync_clock")
    start: Any = None
    if marker is not None:
        if len(marker.args) > 1 or set(marker.kwargs) - {"start"}:
            raise pytest.UsageError(
                "@pytest.mark.sync_clock takes one argument, the start instant: "
                f"got args={marker.args!r} kwargs={marker.kwargs!r}"
            )
        start = marker.args[0] if marker.args else marker.kwargs.get("start")
    clock = activate(sync_server_session, request).clock()
    # time-machine refuses to start while freezegun is active: when the test travels
    # with time-machine itself, freeze nothing up front and drive its traveller.
    clock.start(start, eager=not _uses_time_machine(request))
    try:
        yield clock
    finally:
        clock.stop()


def _uses_time_machine(request: pytest.FixtureRequest) -> bool:
    """Whether the test travels with time-machine (fixture, marker or decorator)."""
    if "time_machine" in request.fixturenames or request.node.get_closest_marker("time_machine"):
        return True
    function = getattr(request, "function", None)
    seen = 0
    while function is not None and seen < 10:
        for cell in getattr(function, "__closure__", None) or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if type(contents).__module__.startswith("time_machine"):
                return True
        function = getattr(function, "__wrapped__", None)
        seen += 1
    return False


def _twilio_client_class() -> type[Client]:
    try:
        from twilio.rest import Client
    except ImportError:  # pragma: no cover - depends on the environment
        pytest.fail(
            "the twilio_client fixtures need the official 'twilio' package: pip install twilio",
            pytrace=False,
        )
    client_class: type[Client] = Client
    return client_class


@pytest.fixture
def twilio_client(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> Client:
    """An official ``twilio.rest.Client`` wired to the emulator, with its credentials."""
    sync_server = activate(sync_server_session, request).server
    client_class = _twilio_client_class()
    client = client_class(sync_server.account_sid, sync_server.auth_token)
    client.region = client.edge = None
    client.sync.base_url = sync_server.url
    return client


@pytest.fixture
def twilio_async_client(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> Client:
    """An official ``twilio.rest.Client`` on aiohttp, for the ``*_async`` methods.

    It opens a short-lived aiohttp session per request, so it works from any event
    loop (``asyncio.run`` in a plain test, or pytest-asyncio) and needs no closing.
    """
    sync_server = activate(sync_server_session, request).server
    client_class = _twilio_client_class()
    try:
        from twilio.http.async_http_client import AsyncTwilioHttpClient
    except ImportError:
        pytest.fail("twilio_async_client needs aiohttp: pip install aiohttp", pytrace=False)
    client = client_class(
        sync_server.account_sid,
        sync_server.auth_token,
        http_client=AsyncTwilioHttpClient(pool_connections=False),
    )
    client.region = client.edge = None
    client.sync.base_url = sync_server.url
    return client
