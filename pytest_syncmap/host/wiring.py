"""Wire the official ``twilio`` clients of a process to an emulator.

Code under test builds its own ``twilio.rest.Client``. ``CLIENTS.md`` section 1 shows
the redirection that works for every such client whatever ``TWILIO_REGION`` /
``TWILIO_EDGE`` say: wrap ``ClientBase.get_hostname``, which every request (sync and
async, and every next-page URL) passes through *after* the region/edge rewriting. Only
Sync hosts (``sync.twilio.com``, ``sync.<edge>.<region>.twilio.com``) are rewritten.

:func:`install` wraps four things of ``ClientBase``, each asking a :class:`Router`,
per call, where the calling code's Sync requests go (a :class:`Target`, or ``None`` to
leave them alone):

* ``get_hostname``: Sync URLs become the target's emulator URLs;
* ``request`` / ``request_async``: requests bound for the target's emulator carry the
  target's headers (the plugin names the test that sent them), bypass any HTTP proxy,
  and, for clients the router says so of (built before the test), the emulator's
  credentials. Requests to other hosts are never touched, so the emulator's credentials
  never reach Twilio;
* ``__init__``: the router learns of every client built (to tell when it was built).

Installations stack (a pytest session inside a pytest session, a child process that
runs pytest): each wraps what it found and :meth:`Installation.uninstall` restores it.

This module imports nothing but the standard library (``twilio`` only when installing):
a child process loads it by file path, without the rest of the package
(``host/child/sitecustomize.py``).
"""

from __future__ import annotations

import base64
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

__all__ = [
    "CHILD_ENV",
    "NO_PROXY_NAMES",
    "Installation",
    "Router",
    "Target",
    "install",
    "install_on_import",
    "is_sync_host",
    "no_proxy_value",
    "rewrite",
]

#: Environment variable through which a child process learns its emulator (JSON).
CHILD_ENV = "PYTEST_SYNCMAP_CHILD"

_SYNC_HOST = re.compile(r"sync(\.[a-z0-9-]+)*\.twilio\.com", re.IGNORECASE)
_CLIENT_BASE = "twilio.base.client_base"


def is_sync_host(hostname: str) -> bool:
    """Whether ``hostname`` is Twilio Sync's (any edge or region)."""
    return _SYNC_HOST.fullmatch(hostname) is not None


#: The two spellings of the proxy bypass list; tools differ in which one wins.
NO_PROXY_NAMES = ("NO_PROXY", "no_proxy")


def no_proxy_value(env: Mapping[str, str], host: str) -> str:
    """The bypass list for both ``NO_PROXY`` and ``no_proxy``: what either holds, plus
    ``host`` (``requests`` honours proxies even for loopback).

    Both get the union: ``requests`` and ``urllib`` read ``no_proxy`` first, so setting
    it to the host alone would drop a bypass list the user keeps in ``NO_PROXY``.
    """
    entries: list[str] = []
    for name in NO_PROXY_NAMES:
        for entry in (env.get(name) or "").split(","):
            entry = entry.strip()
            if entry and entry not in entries:
                entries.append(entry)
    if host not in entries:
        entries.append(host)
    return ",".join(entries)


class Target:
    """Where Sync requests go: an emulator, its credentials, headers to send it."""

    __slots__ = ("account_sid", "auth", "auth_token", "base", "basic", "headers", "proxy_key")

    def __init__(
        self,
        base: str,
        account_sid: str,
        auth_token: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base = base.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.auth = (account_sid, auth_token)
        self.basic = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.headers = dict(headers or {})
        parts = urlsplit(self.base)
        #: ``requests`` proxy key for the emulator's host; mapped to "" it means "direct".
        self.proxy_key = f"{parts.scheme}://{parts.hostname}"

    def with_headers(self, headers: Mapping[str, str]) -> Target:
        """The same target sending ``headers`` (cheap: nothing is recomputed)."""
        other = object.__new__(Target)
        for name in Target.__slots__:
            setattr(other, name, getattr(self, name))
        other.headers = dict(headers)
        return other

    def owns(self, url: str) -> bool:
        """Whether ``url`` points at this target's emulator."""
        base = self.base
        return url.startswith(base) and (len(url) == len(base) or url[len(base)] in "/?")


class Router(Protocol):
    """Decides, per call and in the calling thread, where Sync requests go."""

    def target(self) -> Target | None:
        """The calling code's target, or ``None`` to leave its requests alone."""

    def adopt(self, client: Any) -> None:
        """Called after every ``ClientBase.__init__``."""

    def substitutes(self, client: Any) -> bool:
        """Whether ``client``'s requests to the target carry the target's credentials."""


def rewrite(original: Callable[[Any, str], str], client: Any, uri: str, base: str) -> str | None:
    """``uri`` aimed at the emulator at ``base``, or ``None`` when it is not Sync's.

    ``original`` is twilio's own ``get_hostname`` (region and edge applied first). A
    URI already aimed at the emulator (``client.sync.base_url`` set, a next-page URL)
    is kept: region and edge would mangle ``127.0.0.1`` into ``127.us1.0.1``.
    """
    if uri.startswith(base) and (len(uri) == len(base) or uri[len(base)] in "/?"):
        return uri
    out = original(client, uri)
    if "sync" not in out.lower():  # cheap: most calls to other products stop here
        return None
    parts = urlsplit(out)
    hostname = parts.hostname
    if hostname is not None and is_sync_host(hostname):
        return base + parts.path + (f"?{parts.query}" if parts.query else "")
    return None


def _prepare(
    client: Any, router: Router, target: Target, headers: Any, auth: Any
) -> tuple[dict[str, str], Any]:
    """Headers and auth for a request bound for ``target``'s emulator."""
    out: dict[str, str] = dict(headers) if headers else {}
    out.update(target.headers)
    if router.substitutes(client) and getattr(client, "credential_provider", None) is None:
        if client.username is not None and client.password is not None:
            auth = target.auth
        else:  # ClientBase sends no auth at all then: give the header itself
            out["Authorization"] = target.basic
    # requests stores the environment's proxies in the client's ``proxy`` dict on first
    # use (merge_environment_settings mutates it), after which NO_PROXY no longer helps;
    # a host key mapped to "" sends this host's requests direct.
    proxies = getattr(getattr(client, "http_client", None), "proxy", None)
    if isinstance(proxies, dict) and proxies.get(target.proxy_key) != "":
        proxies[target.proxy_key] = ""
    return out, auth


_NAMES = ("__init__", "get_hostname", "request", "request_async")


class Installation:
    """The wrappers :func:`install` put on ``ClientBase``; :meth:`uninstall` removes them."""

    def __init__(self, client_base: Any, router: Router) -> None:
        self.client_base = client_base
        self.router = router
        self.saved = {name: client_base.__dict__[name] for name in _NAMES}
        self.wrappers = _wrappers(self.saved, router)
        for name, wrapper in self.wrappers.items():
            setattr(client_base, name, wrapper)

    def uninstall(self) -> None:
        """Put back what was there before (idempotent)."""
        for name, previous in self.saved.items():
            if self.client_base.__dict__.get(name) is self.wrappers[name]:
                setattr(self.client_base, name, previous)
        self.saved = {}


def install(router: Router) -> Installation | None:
    """Wrap ``ClientBase`` for ``router``; ``None`` when twilio is not installed."""
    try:
        from twilio.base.client_base import ClientBase
    except ImportError:
        return None
    return Installation(ClientBase, router)


def _wrappers(saved: Mapping[str, Any], router: Router) -> dict[str, Any]:
    prev_init, prev_host = saved["__init__"], saved["get_hostname"]
    prev_request, prev_async = saved["request"], saved["request_async"]
    original_host = inspect.unwrap(prev_host)

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        prev_init(self, *args, **kwargs)
        router.adopt(self)

    def get_hostname(self: Any, uri: str) -> str:
        target = router.target()
        if target is not None:
            url = rewrite(original_host, self, uri, target.base)
            if url is not None:
                return url
        out: str = prev_host(self, uri)
        return out

    def aim(self: Any, uri: str, headers: Any, auth: Any) -> tuple[str, Any, Any]:
        """Send an emulator-bound request there, with the headers and credentials it needs."""
        target = router.target()
        if target is not None:
            url = self.get_hostname(uri)
            if target.owns(url):
                headers, auth = _prepare(self, router, target, headers, auth)
                return url, headers, auth
        return uri, headers, auth

    def request(
        self: Any,
        method: str,
        uri: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
        **extra: Any,
    ) -> Any:
        uri, headers, auth = aim(self, uri, headers, auth)
        return prev_request(
            self,
            method,
            uri,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
            **extra,
        )

    async def request_async(
        self: Any,
        method: str,
        uri: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
        **extra: Any,
    ) -> Any:
        uri, headers, auth = aim(self, uri, headers, auth)
        return await prev_async(
            self,
            method,
            uri,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
            **extra,
        )

    out: dict[str, Any] = {
        "__init__": init,
        "get_hostname": get_hostname,
        "request": request,
        "request_async": request_async,
    }
    for name, wrapper in out.items():
        previous = saved[name]
        wrapper.__name__ = wrapper.__qualname__ = name
        wrapper.__doc__ = previous.__doc__
        wrapper.__wrapped__ = previous
    return out


# ------------------------------------------------------------ child processes
class FixedRouter:
    """A child process's router: every client, always, to one target."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def target(self) -> Target:
        """The one target."""
        return self._target

    def adopt(self, client: Any) -> None:
        """Nothing to remember."""

    def substitutes(self, client: Any) -> bool:
        """Every client of the child gets the emulator's credentials."""
        return True


class _InstallOnImport(importlib.abc.MetaPathFinder):
    """Installs the wiring right after ``twilio.base.client_base`` is first imported."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _CLIENT_BASE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader: Any = spec.loader
        exec_module, router = loader.exec_module, self.router

        def exec_then_install(module: Any) -> None:
            exec_module(module)
            install(router)

        loader.exec_module = exec_then_install
        return spec


def install_on_import(router: Router) -> None:
    """:func:`install` now if twilio is loaded, else as soon as it is imported."""
    if _CLIENT_BASE in sys.modules:
        install(router)
    else:
        sys.meta_path.insert(0, _InstallOnImport(router))


def install_from_config(config: Mapping[str, Any]) -> None:
    """What a child process does with :data:`CHILD_ENV` (see ``SyncServer.child_env``)."""
    target = Target(
        str(config["url"]),
        str(config["account_sid"]),
        str(config["auth_token"]),
        {str(k): str(v) for k, v in dict(config.get("headers") or {}).items()},
    )
    install_on_import(FixedRouter(target))
