"""The plugin's fixtures: the emulator, its state, time, faults, webhooks and clients.

They follow pytest-httpserver's split: one server per session (per xdist worker),
started once, and cheap function-scoped fixtures that reset its state, so a test pays
for a reset and a fresh Map, not for a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pytest_syncmap.domain.clock import check_settable, parse_instant
from pytest_syncmap.domain.errors import SyncError
from pytest_syncmap.host.server import SyncServer
from pytest_syncmap.http.faults import SyncFaults

from .context import ActiveTest, ServerConfig, activate
from .handles import DocumentHandle, ListHandle, MapHandle, ServiceHandle, StreamHandle
from .markers import marker_options, wants_default_service
from .receiver import WebhookReceiver
from .timecontrol import SyncClock

if TYPE_CHECKING:
    from twilio.rest import Client

__all__ = [
    "sync_clock",
    "sync_document",
    "sync_faults",
    "sync_list",
    "sync_map",
    "sync_server",
    "sync_server_config",
    "sync_server_session",
    "sync_service",
    "sync_stream",
    "sync_webhook_receiver_session",
    "sync_webhooks",
    "twilio_async_client",
    "twilio_client",
]

H = TypeVar("H")


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
    """A fresh Sync Service for this test (``.sid``, ``.url``, ``.friendly_name``).

    It is the test's Service: the object fixtures create their objects in it, and
    ``sync_webhooks`` is wired to it. When an object marker says ``service="default"``
    it is the account's default Service instead.
    """
    context = activate(sync_server_session, request)
    return ServiceHandle(context.server, _test_service(context, request))


@pytest.fixture
def sync_map(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> MapHandle:
    """A fresh Sync Map for this test, in the test's Service (``sync_service``).

    ``.sid``, ``.unique_name``, ``.url``; reads like a dict of key to data
    (``sync_map["k"]``, ``"k" in sync_map``, ``dict(sync_map)``); ``.item(key)`` gives
    revision and expiry; ``.put(key, data, ttl=...)`` and ``.delete(key)`` arrange items
    without HTTP; assertions such as ``assert_item(key, data)``, ``assert_expired(key)``
    (``assert_expired()``: the Map itself). Configure it with
    ``@pytest.mark.sync_map(unique_name=..., items={...}, ttl=..., service="default")``;
    ``service="default"`` puts it in the account's default Service (for code that
    addresses ``services("default")``), which is then the test's Service.
    """
    context, options, service_sid = _prepare("sync_map", sync_server_session, request)
    store = context.server.store

    def create() -> MapHandle:
        record = store.maps.create(
            service_sid, unique_name=options.get("unique_name"), ttl=options.get("ttl")
        )
        handle = MapHandle(context.server, service_sid, record.sid, record=record)
        for key, data in (options.get("items") or {}).items():
            handle.put(key, data)
        return handle

    return _seeded("sync_map", create)


@pytest.fixture
def sync_list(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> ListHandle:
    """A fresh Sync List for this test, in the test's Service (``sync_service``).

    ``.sid``, ``.unique_name``, ``.url``, ``.items_url``; reads like a sequence of its
    items' data in index order (``len(sync_list)``, ``list(sync_list)``,
    ``sync_list[-1]``: ``[]`` is by position); ``.indexes`` and ``.item(index)`` speak
    Twilio's indexes (gaps where items were removed); ``.append(data, ttl=...)``,
    ``.update(index, data, ttl=...)``, ``.delete(index)`` arrange items without HTTP;
    assertions take an index (``assert_item(0, {...})``) or none for the List itself
    (``assert_expired()``). Configure it with ``@pytest.mark.sync_list(unique_name=...,
    items=[...], ttl=..., service="default")``: the items are appended in order
    (indexes 0, 1, 2...).
    """
    context, options, service_sid = _prepare("sync_list", sync_server_session, request)
    store = context.server.store

    def create() -> ListHandle:
        record = store.lists.create(
            service_sid, unique_name=options.get("unique_name"), ttl=options.get("ttl")
        )
        handle = ListHandle(context.server, service_sid, record.sid, record=record)
        for data in options.get("items") or ():
            handle.append(data)
        return handle

    return _seeded("sync_list", create)


@pytest.fixture
def sync_document(
    sync_server_session: SyncServer, request: pytest.FixtureRequest
) -> DocumentHandle:
    """A fresh Sync Document for this test, in the test's Service (``sync_service``).

    ``.sid``, ``.unique_name``, ``.url``; ``.data`` (a copy) and ``.revision`` (the API's
    string, its ETag), ``None`` once the Document is gone; ``.update(data, ttl=...)``
    and ``.delete()`` arrange it without HTTP; assertions without a key:
    ``assert_data({...})``, ``assert_written(times)``,
    ``assert_retried_after_conflict()``, ``assert_expires_at(when)``,
    ``assert_alive(for_at_least=...)``, ``assert_expired()``. Configure it with
    ``@pytest.mark.sync_document(unique_name=..., data={...}, ttl=...,
    service="default")``; without ``data`` it holds ``{}``.
    """
    context, options, service_sid = _prepare("sync_document", sync_server_session, request)
    store = context.server.store

    def create() -> DocumentHandle:
        record = store.documents.create(
            service_sid,
            unique_name=options.get("unique_name"),
            data=options.get("data"),
            ttl=options.get("ttl"),
        )
        return DocumentHandle(context.server, service_sid, record.sid, record=record)

    return _seeded("sync_document", create)


@pytest.fixture
def sync_stream(
    sync_server_session: SyncServer, request: pytest.FixtureRequest
) -> Iterator[StreamHandle]:
    """A fresh Sync Stream for this test, in the test's Service (``sync_service``).

    ``.sid``, ``.unique_name``, ``.url``, ``.messages_url``. Twilio never stores Stream
    Messages, so the handle records every message published to the Stream during the
    test, by any client: ``.messages`` (``sid``, ``data``, ``date_published``) and
    ``.published`` (their data), oldest first; ``assert_published(data, times=None)``
    and ``assert_not_published()`` check them. ``.publish(data)`` publishes without
    HTTP. Configure it with ``@pytest.mark.sync_stream(unique_name=..., ttl=...,
    service="default")``.
    """
    context, options, service_sid = _prepare("sync_stream", sync_server_session, request)
    store = context.server.store

    def create() -> StreamHandle:
        record = store.streams.create(
            service_sid, unique_name=options.get("unique_name"), ttl=options.get("ttl")
        )
        return StreamHandle(context.server, service_sid, record.sid, record=record)

    handle = _seeded("sync_stream", create).start_recording()
    try:
        yield handle
    finally:
        handle.stop_recording()


def _prepare(
    name: str, server: SyncServer, request: pytest.FixtureRequest
) -> tuple[ActiveTest, dict[str, Any], str]:
    """The test's activation, the options of its ``name`` marker, and its Service."""
    context = activate(server, request)
    options = marker_options(name, context.object_marks(request.node).get(name))
    return context, options, _test_service(context, request)


def _seeded(name: str, create: Callable[[], H]) -> H:
    """``create()``, with what the domain refuses in a marker's values as a usage error."""
    try:
        return create()
    except SyncError as exc:
        raise pytest.UsageError(f"@pytest.mark.{name}: {exc}") from None


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
    """A webhook receiver wired to this test's Service (``sync_service`` and the objects
    of ``sync_map``, ``sync_list``, ``sync_document``, ``sync_stream``).

    The Service gets ``webhook_url`` = the receiver and ``webhooks_from_rest_enabled``,
    so every change of its Maps, Lists, Documents and their items (expiry included) is
    POSTed to it, signed, in order. ``wait_for(n)`` blocks until n events arrived;
    ``events``, ``types``, ``received`` (with signatures), ``assert_types(...)``,
    ``assert_signed(token)``; set ``.status = 500`` to make the receiver fail. It is set
    up before the test's other fixtures, so the creation and seed items of the object
    fixtures are delivered too, in either fixture order. Each test gets its own
    receiver URL: a delivery of an earlier test that arrives late is refused and never
    shows here.
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


def _test_service(context: ActiveTest, request: pytest.FixtureRequest) -> str:
    """The test's Service: a fresh one, or the default one if an object marker asks for it."""
    if context.service_sid is None and wants_default_service(context.object_marks(request.node)):
        context.service_sid = context.server.store.default_service_sid
    return context.service(request.node.name)


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
        if start is not None:
            try:
                start = check_settable(parse_instant(start))
            except (TypeError, ValueError, AttributeError) as exc:
                raise pytest.UsageError(f"@pytest.mark.sync_clock: {exc}") from None
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
