"""Point every official ``twilio`` client at the emulator, for the length of a block.

Code under test usually builds its own ``twilio.rest.Client`` from
``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN``. ``CLIENTS.md`` section 1 shows the only
redirection that works for such clients whatever ``TWILIO_REGION`` / ``TWILIO_EDGE``
say: wrap ``ClientBase.get_hostname``, which every request (sync and async, and every
next-page URL) passes through, *after* the region/edge rewriting. Only Sync hosts
(``sync.twilio.com`` and ``sync.<edge>.<region>.twilio.com``) are rewritten; calls to
other Twilio products are left alone.

Inside the block the two credential variables hold the emulator's credentials; on
exit the method and the environment are restored exactly, so nothing leaks past a
test. Blocks nest (a private emulator inside a test that uses the shared one).
"""

from __future__ import annotations

import functools
import inspect
import re
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pytest

__all__ = ["TwilioRedirect", "is_sync_host", "redirect_with"]

_SYNC_HOST = re.compile(r"sync(\.[a-z0-9-]+)*\.twilio\.com", re.IGNORECASE)


def is_sync_host(hostname: str) -> bool:
    """Whether ``hostname`` is Twilio Sync's (any edge or region)."""
    return _SYNC_HOST.fullmatch(hostname) is not None


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
        # Already aimed at the emulator (client.sync.base_url was set): region and edge
        # would mangle 127.0.0.1 into 127.us1.0.1, so skip them.
        if uri.startswith(base):
            return uri
        out: str = original(client, uri)
        parts = urlsplit(out)
        if parts.hostname is not None and is_sync_host(parts.hostname):
            rest = parts.path + (f"?{parts.query}" if parts.query else "")
            return base + rest
        return out

    get_hostname.__wrapped__ = original  # type: ignore[attr-defined]
    return get_hostname


def redirect_with(
    patcher: pytest.MonkeyPatch, base_url: str, account_sid: str, auth_token: str
) -> None:
    """Apply the redirect through ``patcher`` (pytest's ``monkeypatch``), which undoes it.

    Going through the test's own ``monkeypatch`` keeps undo order right when the test
    also monkeypatches the credentials.
    """
    patcher.setenv("TWILIO_ACCOUNT_SID", account_sid)
    patcher.setenv("TWILIO_AUTH_TOKEN", auth_token)
    client_base = _client_base()
    if client_base is not None:
        current = client_base.__dict__["get_hostname"]
        patcher.setattr(client_base, "get_hostname", _redirecting(base_url.rstrip("/"), current))


class TwilioRedirect:
    """Context manager: Sync requests of every ``twilio`` client go to ``base_url``.

    The same redirect as :func:`redirect_with`, undone on exit by its own
    ``pytest.MonkeyPatch``.
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
