"""Point the official ``twilio`` clients, and the environment, at an emulator.

The plugin's own redirect is :mod:`.boundary` (installed once per session, deciding per
request which test sent it); this module holds what a test changes in the environment
(:func:`redirect_env`) and :class:`TwilioRedirect`, a block that sends every client to a
private emulator for as long as it lasts (it wins over the plugin's redirect).
"""

from __future__ import annotations

import functools
import inspect
import os
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pytest

from pytest_syncmap.host.wiring import NO_PROXY_NAMES, is_sync_host, no_proxy_value, rewrite

__all__ = ["TwilioRedirect", "is_sync_host", "redirect_env", "redirect_with"]


@functools.cache
def _client_base() -> Any:
    """``twilio.base.client_base.ClientBase``, or ``None`` when twilio is not installed."""
    try:
        from twilio.base.client_base import ClientBase
    except ImportError:
        return None
    return ClientBase


def _redirecting(base: str, current: Any) -> Any:
    """A ``get_hostname`` that sends Sync hosts to ``base``.

    It wraps the *unwrapped* original, so a redirect nested inside another one sends
    requests to its own emulator, not through the outer rewrite.
    """
    original = inspect.unwrap(current)

    def get_hostname(client: Any, uri: str) -> str:
        url = rewrite(original, client, uri, base)
        return original(client, uri) if url is None else url

    get_hostname.__wrapped__ = original  # type: ignore[attr-defined]
    return get_hostname


def redirect_env(
    patcher: pytest.MonkeyPatch, base_url: str, account_sid: str, auth_token: str
) -> None:
    """Credentials and ``NO_PROXY``/``no_proxy`` for the emulator at ``base_url``.

    ``TWILIO_ACCOUNT_SID``/``TWILIO_AUTH_TOKEN`` get the emulator's credentials (so
    clients built now use them); ``NO_PROXY`` and ``no_proxy`` both get what either
    held plus the emulator's host (``requests`` honours ``HTTP_PROXY`` even for
    127.0.0.1); ``patcher`` (pytest's ``monkeypatch``) restores all four.
    """
    patcher.setenv("TWILIO_ACCOUNT_SID", account_sid)
    patcher.setenv("TWILIO_AUTH_TOKEN", auth_token)
    environ = os.environ
    value = no_proxy_value(environ, _host(base_url))
    for name in NO_PROXY_NAMES:
        if environ.get(name) != value:
            patcher.setenv(name, value)


@functools.lru_cache(maxsize=8)
def _host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "127.0.0.1"


def redirect_with(
    patcher: pytest.MonkeyPatch, base_url: str, account_sid: str, auth_token: str
) -> None:
    """Send every client's Sync requests to ``base_url``, through ``patcher``, which undoes it."""
    redirect_env(patcher, base_url, account_sid, auth_token)
    client_base = _client_base()
    if client_base is not None:
        current = client_base.__dict__["get_hostname"]
        patcher.setattr(client_base, "get_hostname", _redirecting(base_url.rstrip("/"), current))


class TwilioRedirect:
    """Context manager: Sync requests of every ``twilio`` client go to ``base_url``.

    For a private emulator inside a test (it wins over the plugin's redirect while it
    lasts) or outside pytest. The environment (credentials, ``NO_PROXY``) and
    ``ClientBase.get_hostname`` are restored on exit.
    """

    def __init__(self, base_url: str, account_sid: str, auth_token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._patcher: pytest.MonkeyPatch | None = None

    def __enter__(self) -> TwilioRedirect:
        self._patcher = pytest.MonkeyPatch()
        redirect_with(self._patcher, self.base_url, self.account_sid, self.auth_token)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._patcher is not None:
            self._patcher.undo()
            self._patcher = None
