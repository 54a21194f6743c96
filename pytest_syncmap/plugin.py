"""The pytest layer: fixtures, the ``sync_map`` marker, and server errors made visible.

Installing the package activates this module through the ``pytest11`` entry point.
The fixtures follow pytest-httpserver's split: one server per session (per xdist
worker), started once, and cheap function-scoped fixtures that reset its state, so a
test pays for a reset and a fresh Map, not for a server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest
from pytest_httpserver import HTTPServer

from .choices import DEFAULT_CHOICES, Choices
from .faults import KINDS, SyncFaults
from .handles import MapHandle, ServiceHandle
from .journal import Journal
from .receiver import WebhookReceiver
from .redirect import redirect_with
from .server import ACCOUNT_SID, AUTH_TOKEN, SyncServer
from .timecontrol import SyncClock

if TYPE_CHECKING:
    from twilio.rest import Client

__all__ = [
    "ServerConfig",
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

_SERVER_KEY = pytest.StashKey[SyncServer]()
_MARKER_OPTIONS = ("unique_name", "items", "ttl")


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """How the session's emulator is set up; override ``sync_server_config`` to change it."""

    host: str = "127.0.0.1"
    port: int = 0
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    choices: Choices = DEFAULT_CHOICES
    #: Seconds expired objects stay readable (0: exact expiry); see ``SyncServer.expiry_lag``.
    expiry_lag: float = 0


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--syncmap-no-journal``: leave the journal section out of failure reports."""
    group = parser.getgroup("syncmap", "pytest-syncmap (Twilio Sync Map emulator)")
    group.addoption(
        "--syncmap-no-journal",
        action="store_true",
        default=False,
        help="do not add the emulator's request journal to the report of a failing test",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Set up ``sync_clock`` first, so time is frozen before other fixtures write.

    A ``@pytest.mark.sync_clock`` marker requests the fixture by itself (the pattern of
    time-machine's marker): a ``sync_map(ttl=...)`` Map is then created in frozen time.
    """
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None:
            continue
        if "sync_clock" in names:
            names.remove("sync_clock")
        elif item.get_closest_marker("sync_clock") is None:
            continue
        names.insert(0, "sync_clock")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker so ``--strict-markers`` accepts it and ``--markers`` lists it."""
    config.addinivalue_line(
        "markers",
        "sync_map(unique_name=None, items=None, ttl=None): configure the Map that the "
        "sync_map fixture creates: its unique name, the items it starts with "
        "(a dict of key to data), and its TTL in seconds.",
    )
    config.addinivalue_line(
        "markers",
        "sync_clock(start): start the sync_clock fixture's frozen time at `start` "
        "(a datetime or an ISO 8601 string such as '2025-01-31T12:00:00Z').",
    )
    config.addinivalue_line(
        "markers",
        "sync_fault(kind, **settings): schedule a fault as sync_faults.<kind>(**settings) "
        f"would; kinds: {', '.join(KINDS)}. Stackable.",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail the test itself (not its teardown) with errors raised inside the emulator."""
    try:
        result = yield
    except BaseException:
        _raise_server_errors(item)
        raise
    _raise_server_errors(item)
    _fail_unfired(item)
    return result


def _fail_unfired(item: pytest.Item) -> None:
    __tracebackhide__ = True
    server = item.stash.get(_SERVER_KEY, None)
    if server is None or not server.faults.strict:
        return
    unfired = server.faults.unfired()
    if unfired:
        listing = "\n".join(f"  - {fault.describe()}" for fault in unfired)
        raise AssertionError(
            f"pytest-syncmap: {len(unfired)} fault(s) were set up but never fired:\n{listing}\n"
            "The code under test never made the request they wait for. Pass "
            "expect_fired=False (or call sync_faults.allow_unfired()) if that is fine.\n"
            "requests this test made (journal):\n" + Journal.table(server.journal.entries)
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the emulator's journal to the report of a failing test that used it."""
    report = yield
    if report.failed and report.when == "call":
        server = item.stash.get(_SERVER_KEY, None)
        if server is not None and not item.config.getoption("syncmap_no_journal"):
            body = Journal.table(server.journal.entries)
            if server.faults.faults:
                body += "\nfaults:\n" + "\n".join(
                    f"  - {fault.describe()}" for fault in server.faults.faults
                )
            report.sections.append(("pytest-syncmap journal", body))
    return report


def _raise_server_errors(item: pytest.Item) -> None:
    server = item.stash.get(_SERVER_KEY, None)
    if server is None:
        return
    errors = server.take_errors()
    if not errors:
        return
    first = errors[0]
    _add_note(
        first,
        "pytest-syncmap: this exception was raised inside the Sync emulator while it "
        "served a request of this test (in a request handler the client received a "
        "Twilio 500, code 20500; in an observer the answer itself was unaffected).",
    )
    if len(errors) > 1:
        _add_note(first, f"pytest-syncmap: {len(errors) - 1} more error(s) followed it.")
    raise first


def _add_note(exc: BaseException, note: str) -> None:
    """``BaseException.add_note`` where it exists (3.11+), its attribute otherwise."""
    notes: list[str] = list(getattr(exc, "__notes__", []))
    notes.append(note)
    exc.__notes__ = notes  # type: ignore[attr-defined,unused-ignore]


# ---------------------------------------------------------------- fixtures
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


class _TestContext:
    """What one test holds of the emulator: its reset state, redirect and Service."""

    __slots__ = ("monkeypatch", "owns_monkeypatch", "server", "service_sid")

    def __init__(self, server: SyncServer, patcher: pytest.MonkeyPatch, owns: bool) -> None:
        self.server = server
        self.monkeypatch = patcher
        self.owns_monkeypatch = owns
        self.service_sid: str | None = None

    def service(self, name: str) -> str:
        """The test's Service, created on first use."""
        if self.service_sid is None:
            record = self.server.store.create_service(friendly_name=name[:255])
            self.service_sid = record.sid
        return self.service_sid


_CONTEXT_KEY = pytest.StashKey[_TestContext]()


def _activate(server: SyncServer, request: pytest.FixtureRequest) -> _TestContext:
    """Reset the emulator and redirect twilio clients for this test, once.

    Every fixture of the plugin calls this instead of depending on one another, which
    keeps the per-test cost to a single function fixture (pytest charges for each).
    """
    node = request.node
    context: _TestContext | None = node.stash.get(_CONTEXT_KEY, None)
    if context is not None:
        return context
    server.reset()
    for marker in reversed(list(node.iter_markers("sync_fault"))):
        if len(marker.args) != 1:
            raise pytest.UsageError(
                "@pytest.mark.sync_fault takes the fault kind as its one positional "
                f"argument, e.g. sync_fault('conflict', key='k'); got {marker.args!r}"
            )
        try:
            SyncFaults(server.faults).add(marker.args[0], **marker.kwargs)
        except (TypeError, ValueError) as exc:
            raise pytest.UsageError(f"@pytest.mark.sync_fault: {exc}") from None
    # When the test has a monkeypatch of its own, patch through it: if the test also
    # monkeypatches the credentials, undoing in one LIFO order restores them right.
    if "monkeypatch" in request.fixturenames:
        patcher, owns = request.getfixturevalue("monkeypatch"), False
    else:
        patcher, owns = pytest.MonkeyPatch(), True
    redirect_with(patcher, server.url, server.account_sid, server.auth_token)
    context = _TestContext(server, patcher, owns)
    node.stash[_CONTEXT_KEY] = context
    node.stash[_SERVER_KEY] = server
    request.addfinalizer(lambda: _deactivate(node, context))
    return context


def _deactivate(node: pytest.Item, context: _TestContext) -> None:
    del node.stash[_CONTEXT_KEY]
    del node.stash[_SERVER_KEY]
    if context.owns_monkeypatch:
        context.monkeypatch.undo()
    errors = context.server.take_errors()
    if errors:
        raise errors[0]


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
    return _activate(sync_server_session, request).server


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
    return SyncFaults(_activate(sync_server_session, request).server.faults)


@pytest.fixture
def sync_service(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> ServiceHandle:
    """A fresh Sync Service for this test (``.sid``, ``.url``, ``.friendly_name``)."""
    context = _activate(sync_server_session, request)
    return ServiceHandle(context.server, context.service(request.node.name))


@pytest.fixture
def sync_map(sync_server_session: SyncServer, request: pytest.FixtureRequest) -> MapHandle:
    """A fresh Sync Map for this test, in ``sync_service``.

    ``.sid``, ``.unique_name``, ``.url``; reads like a dict of key to data
    (``sync_map["k"]``, ``"k" in sync_map``, ``dict(sync_map)``); ``.item(key)`` gives
    revision and expiry; ``.put(key, data, ttl=...)`` arranges an item without HTTP;
    assertions such as ``assert_item``, ``assert_expired``. Configure it with
    ``@pytest.mark.sync_map(unique_name=..., items={...}, ttl=...)``.
    """
    options = _marker_options(request.node.get_closest_marker("sync_map"))
    context = _activate(sync_server_session, request)
    server = context.server
    service_sid = context.service(request.node.name)
    record = server.store.create_map(
        service_sid, unique_name=options.get("unique_name"), ttl=options.get("ttl")
    )
    handle = MapHandle(server, service_sid, record.sid)
    for key, data in options.get("items", {}).items():
        handle.put(key, data)
    return handle


@pytest.fixture(scope="session")
def sync_webhook_receiver_session() -> Iterator[WebhookReceiver]:
    """The session's webhook receiver (a pytest-httpserver server), without any reset."""
    server = HTTPServer("127.0.0.1", 0, threaded=True)
    server.start()
    try:
        yield WebhookReceiver(server)
    finally:
        server.stop()


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
    set ``.status = 500`` to make the receiver fail.
    """
    context = _activate(sync_server_session, request)
    receiver = sync_webhook_receiver_session
    receiver.clear()
    context.server.store.update_service(
        context.service(request.node.name),
        webhook_url=receiver.url,
        webhooks_from_rest_enabled=True,
    )
    return receiver


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
    server = _activate(sync_server_session, request).server
    clock = SyncClock(on_move=server.store.collect)
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
    sync_server = _activate(sync_server_session, request).server
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
    sync_server = _activate(sync_server_session, request).server
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
