"""What one test holds of the emulator, and the session's configuration.

Every fixture of the plugin activates one shared per-test context instead of depending
on one another, which keeps the per-test cost to a single function fixture (pytest
charges for each fixture that takes ``request``).
"""

from __future__ import annotations

import dataclasses

import pytest

from pytest_syncmap.domain.choices import DEFAULT_CHOICES, Choices
from pytest_syncmap.host.server import ACCOUNT_SID, AUTH_TOKEN, SyncServer
from pytest_syncmap.http.faults import SyncFaults

from .boundary import TestScope, boundary_for
from .markers import closest_object_marks
from .redirect import redirect_env
from .timecontrol import SyncClock

__all__ = ["SERVER_KEY", "ActiveTest", "ServerConfig", "activate"]

#: The emulator a running test uses, for the reporting hooks.
SERVER_KEY = pytest.StashKey[SyncServer]()


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


class ActiveTest:
    """What one test holds of the emulator: its reset state, redirect and Service."""

    __slots__ = (
        "_clock",
        "_marks",
        "monkeypatch",
        "owns_monkeypatch",
        "scope",
        "server",
        "service_sid",
    )

    def __init__(
        self, server: SyncServer, patcher: pytest.MonkeyPatch, owns: bool, scope: TestScope
    ) -> None:
        self.server = server
        self.monkeypatch = patcher
        self.owns_monkeypatch = owns
        self.scope = scope
        self.service_sid: str | None = None
        self._clock: SyncClock | None = None
        self._marks: dict[str, pytest.Mark] | None = None

    def object_marks(self, node: pytest.Item) -> dict[str, pytest.Mark]:
        """The test's closest ``sync_map``/``sync_list``/``sync_document``/``sync_stream``
        marks, looked up once per test."""
        if self._marks is None:
            self._marks = closest_object_marks(node)
        return self._marks

    def clock(self) -> SyncClock:
        """The test's time driver, made on first use: ``sync_clock`` and the control
        plane both move it (see ``domain/clock.py``)."""
        if self._clock is None:
            self._clock = SyncClock(on_move=self.server.store.collect).start(eager=False)
        return self._clock

    def service(self, name: str) -> str:
        """The test's Service, created on first use."""
        if self.service_sid is None:
            record = self.server.store.create_service(friendly_name=name[:255])
            self.service_sid = record.sid
        return self.service_sid


CONTEXT_KEY = pytest.StashKey[ActiveTest]()


def activate(server: SyncServer, request: pytest.FixtureRequest) -> ActiveTest:
    """Reset the emulator and redirect twilio clients for this test, once.

    Every fixture of the plugin calls this instead of depending on one another, which
    keeps the per-test cost to a single function fixture (pytest charges for each).
    """
    node = request.node
    context: ActiveTest | None = node.stash.get(CONTEXT_KEY, None)
    if context is not None:
        return context
    scope = _begin(server, request)
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
    redirect_env(patcher, server.url, server.account_sid, server.auth_token)
    context = ActiveTest(server, patcher, owns, scope)
    server.app.control.driver = context.clock  # one clock: see domain/clock.py
    node.stash[CONTEXT_KEY] = context
    node.stash[SERVER_KEY] = server
    request.addfinalizer(lambda: _deactivate(node, context))
    return context


def _begin(server: SyncServer, request: pytest.FixtureRequest) -> TestScope:
    """The test boundary: a new generation for this test, then the emulator's reset.

    Whatever the test leaves running is refused once it ends (the finalizer runs even
    when the rest of the activation fails).
    """
    boundary = boundary_for(server, request.config)
    scope = boundary.begin(request.node.nodeid)
    request.addfinalizer(lambda: boundary.end(scope))
    return scope


def _deactivate(node: pytest.Item, context: ActiveTest) -> None:
    del node.stash[CONTEXT_KEY]
    del node.stash[SERVER_KEY]
    context.server.app.control.driver = None
    if context._clock is not None:
        context._clock.stop()
    if context.owns_monkeypatch:
        context.monkeypatch.undo()
    errors = context.server.take_errors()
    if errors:
        raise errors[0]
