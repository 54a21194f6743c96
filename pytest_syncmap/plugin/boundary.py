"""The test boundary, client side: which test the code that sends a request belongs to.

The server refuses requests of a test that has ended (:mod:`pytest_syncmap.http.boundary`);
this module names, for each request of a ``twilio`` client, the test whose code sent it.
It is the plugin's :class:`~pytest_syncmap.host.wiring.Router`, installed for the session
at the first test that uses the emulator. The code sending a request belongs to:

1. the test in the context variable, set on the main thread while a test runs (asyncio
   tasks and ``asyncio.to_thread`` inherit it) and carried by every
   ``ThreadPoolExecutor.submit`` into the worker that runs the job;
2. else, for a thread started during a test and still alive when the test ended, that
   test (threads alive at the end and not at the start are bound to it), unless a
   session-, package-, module- or class-scoped fixture started it;
3. else (the main thread, threads that existed before the test, session pools) the
   test running now, if any.

Requests of the running test carry its generation; requests of an ended test carry that
test's generation too, so the emulator refuses them even between tests (they never
reach Twilio). Code of no test, between tests, is left alone (a suite's other tests may
call the real Twilio). Clients built while no test runs (a module-level ``Client()``)
send the emulator's credentials to the emulator, and only to it.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from pytest_syncmap.host.server import SyncServer
from pytest_syncmap.host.wiring import Installation, Target, install
from pytest_syncmap.http.boundary import GENERATION_HEADER

__all__ = ["Boundary", "LateRequestWarning", "TestScope", "boundary_for"]


class LateRequestWarning(pytest.PytestWarning):
    """Requests of a test reached the emulator after that test ended (and were refused)."""


class TestScope:
    """One test as the client side knows it: its generation and where its requests go."""

    __test__ = False  # not a test class, whatever pytest's collection thinks
    __slots__ = ("generation", "name", "target")

    def __init__(self, generation: int, name: str, target: Target) -> None:
        self.generation = generation
        self.name = name
        self.target = target

    def __repr__(self) -> str:
        return f"<TestScope {self.name} generation={self.generation}>"


class _Unbound:
    """Context value for jobs submitted by code of no test: they belong to the running one."""


_UNBOUND = _Unbound()
_Value = TestScope | _Unbound | None


class Boundary:
    """The plugin's router for one emulator: tests begin and end here."""

    def __init__(self, server: SyncServer) -> None:
        self.server = server
        self.active: TestScope | None = None
        self._var: contextvars.ContextVar[_Value] = contextvars.ContextVar(
            f"pytest_syncmap_test_{id(self):x}", default=None
        )
        self._bound: weakref.WeakKeyDictionary[threading.Thread, TestScope] = (
            weakref.WeakKeyDictionary()
        )
        self._built: weakref.WeakSet[Any] = weakref.WeakSet()
        self._before: set[threading.Thread] = set()
        self._reported: dict[str | None, int] = {}
        self._installation: Installation | None = None
        self._submit: Any = None
        self._target: Target | None = None

    # ------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Wrap twilio's ``ClientBase`` and ``ThreadPoolExecutor.submit`` for the session."""
        self._installation = install(self)
        executor = concurrent.futures.ThreadPoolExecutor
        self._submit = executor.__dict__["submit"]
        executor.submit = _carrying(self, self._submit)  # type: ignore[method-assign]

    def close(self) -> None:
        """Undo :meth:`open`."""
        if self._installation is not None:
            self._installation.uninstall()
            self._installation = None
        if self._submit is not None:
            concurrent.futures.ThreadPoolExecutor.submit = self._submit  # type: ignore[method-assign]
            self._submit = None

    def begin(self, name: str) -> TestScope:
        """Test ``name`` starts: new generation, state reset, its code's requests tagged."""
        server = self.server
        generation = server.begin_test(name)
        base = self._target
        if base is None or base.base != server.url:
            base = self._target = Target(server.url, server.account_sid, server.auth_token)
        target = base.with_headers({GENERATION_HEADER: str(generation)})
        scope = TestScope(generation, name, target)
        self.active = scope
        self._var.set(scope)
        self._before = set(threading.enumerate())
        return scope

    def end(self, scope: TestScope) -> None:
        """Test ``scope`` ended: what it left running is bound to it and refused from now."""
        self.server.end_test()
        if self.active is scope:
            self.active = None
        if self._var.get() is scope:
            self._var.set(None)
        before, self._before = self._before, set()
        bound = self._bound
        for thread in threading.enumerate():
            if thread not in before and thread not in bound:
                bound[thread] = scope
        self._warn_late()

    # ----------------------------------------------------------- the router
    def scope(self) -> TestScope | None:
        """The test the calling code belongs to (``None``: no test)."""
        value = self._var.get()
        if isinstance(value, TestScope):
            return value
        if value is None and self._bound:
            bound = self._bound.get(threading.current_thread())
            if bound is not None:
                return bound
        return self.active

    def target(self) -> Target | None:
        """Where the calling code's Sync requests go (``None``: leave them alone)."""
        scope = self.scope()
        return None if scope is None else scope.target

    def adopt(self, client: Any) -> None:
        """Remember clients built while a test runs: they keep their own credentials."""
        if self.active is not None:
            self._built.add(client)

    def substitutes(self, client: Any) -> bool:
        """Clients built outside any test send the emulator's credentials to it."""
        return client not in self._built

    def run_as(self, value: _Value, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` as code of ``value``'s test (the executor's worker side)."""
        token = self._var.set(value)
        try:
            return fn(*args, **kwargs)
        finally:
            self._var.reset(token)

    # ------------------------------------------------------------ pytest hooks
    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> Any:
        """Threads a session-, module- or class-scoped fixture starts are shared ones.

        Such a fixture may be set up during any test (the first that asks for it), but
        what it starts serves every test: it is not bound to the test it started in.
        """
        if fixturedef.scope == "function" or self.active is None:
            return (yield)
        before = set(threading.enumerate())
        try:
            return (yield)
        finally:
            self._before.update(t for t in threading.enumerate() if t not in before)

    # ---------------------------------------------------------- late requests
    def _warn_late(self) -> None:
        for sender, total in list(self.server.app.gate.late_counts.items()):
            new = total - self._reported.get(sender, 0)
            if new <= 0:
                continue
            self._reported[sender] = total
            who = f"test {sender}" if sender else "code running between tests"
            warnings.warn(
                LateRequestWarning(
                    f"pytest-syncmap: {new} request(s) sent by {who} after it ended reached "
                    "the emulator and were refused (403 / 20403, not journaled): it left a "
                    "thread, task, subprocess or delayed request running. "
                    "sync_server.late_requests lists the last ones."
                ),
                stacklevel=1,
            )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """A summary line per test whose requests outlived it."""
        counts = list(self.server.app.gate.late_counts.items())
        if not counts:
            return
        terminalreporter.section("pytest-syncmap: requests that outlived their test")
        for sender, total in counts:
            who = sender or "(code running between tests)"
            terminalreporter.line(f"{who}: {total} request(s) after it ended, refused")


def _carrying(boundary: Boundary, previous: Any) -> Any:
    """``ThreadPoolExecutor.submit`` that runs the job as code of the submitter's test."""

    @functools.wraps(previous)
    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        value: _Value = boundary.scope() or _UNBOUND
        return previous(self, functools.partial(boundary.run_as, value, fn), *args, **kwargs)

    return submit


_BOUNDARIES = pytest.StashKey[dict[int, Boundary]]()


def boundary_for(server: SyncServer, config: pytest.Config) -> Boundary:
    """The session's boundary for ``server``, opened (and its undo scheduled) on first use."""
    boundaries = config.stash.setdefault(_BOUNDARIES, {})
    boundary = boundaries.get(id(server))
    if boundary is None:
        boundary = boundaries[id(server)] = Boundary(server)
        boundary.open()
        config.add_cleanup(boundary.close)
        config.pluginmanager.register(boundary, f"syncmap-boundary-{id(server):x}")
    return boundary
