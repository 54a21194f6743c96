"""Item fetch over persistent connections: the emulator against reference servers.

Imported by ``bench.py`` (see ``README.md`` there, "Fetch throughput" and "Choosing
the transport"). Every comparison runs in interleaved rounds; each round records wall
time and this process's CPU time, so each ratio is given both ways.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from twilio.rest import Client
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from pytest_syncmap import SyncServer
from pytest_syncmap.host.transport import TransportServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ITEM = {"name": "Ada", "score": 42, "tags": ["a", "b"]}
KEY = "user:42"


# ------------------------------------------------------------------ samples
@dataclass
class Sample:
    """One measured round: requests sent, wall seconds, CPU seconds of this process."""

    n: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        """Requests per wall-clock second."""
        return self.n / self.wall

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per request (client and in-process servers together)."""
        return self.cpu / self.n * 1e6


def measure(call: Callable[[], object], n: int) -> Sample:
    """``call()`` ``n`` times; wall and CPU time."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        call()
    return Sample(n, time.perf_counter() - wall0, time.process_time() - cpu0)


def interleave(runs: dict[str, Callable[[], Sample]], rounds: int) -> dict[str, list[Sample]]:
    """Each run once per round; the order rotates every round so no run is always first."""
    names = list(runs)
    out: dict[str, list[Sample]] = {name: [] for name in names}
    for i in range(rounds):
        shift = i % len(names)
        order = names[shift:] + names[:shift]
        if (i // len(names)) % 2:
            order.reverse()
        for name in order:
            out[name].append(runs[name]())
    return out


# ------------------------------------------------------------------ servers
class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without request logging (as the emulator had), counting."""

    connections = 0

    def setup(self) -> None:
        type(self).connections += 1
        super().setup()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log."""


def constant_app(body: bytes, content_type: str) -> WSGIApplication:
    """A WSGI app answering every request with ``body``."""
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", list(headers))
        return [body]

    return app


@dataclass
class Bare:
    """A running bare Werkzeug server: its URL and how many connections it accepted."""

    url: str
    handler: type[_QuietHandler]

    @property
    def connections(self) -> int:
        return self.handler.connections


@contextmanager
def bare_werkzeug(app: WSGIApplication) -> Iterator[Bare]:
    """Today's ceiling: ``make_server(threaded=True)``, one connection per request."""
    handler = type("CountingHandler", (_QuietHandler,), {"connections": 0})
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=handler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Bare(f"http://127.0.0.1:{server.port}", handler)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def keepalive_transport(app: WSGIApplication) -> Iterator[str]:
    """The emulator's own transport serving ``app``."""
    server = TransportServer("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()
        server.close()


@contextmanager
def waitress_server(app: WSGIApplication) -> Iterator[str]:
    """waitress (default settings: 4 worker threads)."""
    from waitress.server import create_server

    server: Any = create_server(app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        server.task_dispatcher.shutdown(timeout=1)


@contextmanager
def cheroot_server(app: WSGIApplication) -> Iterator[str]:
    """cheroot (default settings: 10 worker threads)."""
    from cheroot.wsgi import Server

    server = Server(("127.0.0.1", 0), app)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.bind_addr[1]}"
    finally:
        server.stop()
        thread.join(2)


def optional_servers() -> dict[str, Callable[[WSGIApplication], Any]]:
    """waitress and cheroot when installed (they are not dependencies of the project)."""
    found: dict[str, Callable[[WSGIApplication], Any]] = {}
    for name, factory, module in (
        ("waitress", waitress_server, "waitress"),
        ("cheroot", cheroot_server, "cheroot"),
    ):
        try:
            __import__(module)
        except ImportError:
            print(f"  ({name} not installed: left out)", file=sys.stderr)
            continue
        found[name] = factory
    return found


# ----------------------------------------------------------------- fixtures
@dataclass
class Emulator:
    """A running emulator holding one resource to fetch, and its path and answer."""

    server: SyncServer
    service: str
    #: ``map_item``, ``document`` or ``list_item``.
    kind: str
    #: The SID of the Map, Document or List.
    object_sid: str
    path: str
    body: bytes
    content_type: str

    @property
    def url(self) -> str:
        return self.server.url + self.path

    @property
    def map_sid(self) -> str:
        return self.object_sid


#: What to fetch, per kind: how to create it, and its path below the Service.
KINDS = ("map_item", "document", "list_item")


@contextmanager
def emulator(kind: str = "map_item") -> Iterator[Emulator]:
    with SyncServer() as server:
        store = server.store
        service = store.create_service(friendly_name="bench").sid
        if kind == "map_item":
            sid = store.maps.create(service, unique_name="bench").sid
            store.maps.items.put(service, sid, KEY, ITEM)
            path = f"/v1/Services/{service}/Maps/{sid}/Items/{KEY}"
        elif kind == "document":
            sid = store.documents.create(service, unique_name="bench", data=ITEM).sid
            path = f"/v1/Services/{service}/Documents/{sid}"
        elif kind == "list_item":
            sid = store.lists.create(service, unique_name="bench").sid
            index = store.lists.items.create(service, sid, ITEM).index
            path = f"/v1/Services/{service}/Lists/{sid}/Items/{index}"
        else:
            raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
        with requests.Session() as session:
            first = session.get(server.url + path, auth=server.auth)
            first.raise_for_status()
        yield Emulator(
            server, service, kind, sid, path, first.content, first.headers["Content-Type"]
        )


def session_for(auth: tuple[str, str]) -> requests.Session:
    session = requests.Session()
    session.auth = auth
    return session


def twilio_item(base_url: str, emu: Emulator) -> Any:
    """The official client's context for the fetched resource, against ``base_url``."""
    client = Client(emu.server.account_sid, emu.server.auth_token)
    client.region = client.edge = None
    client.sync.base_url = base_url
    service = client.sync.v1.services(emu.service)
    if emu.kind == "document":
        return service.documents(emu.object_sid)
    if emu.kind == "list_item":
        return service.sync_lists(emu.object_sid).sync_list_items(0)
    return service.sync_maps(emu.object_sid).sync_map_items(KEY)


# -------------------------------------------------------- subprocess servers
_SERVER_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pytest_syncmap import SyncServer
server = SyncServer()
server.start()
store = server.store
service = store.create_service(friendly_name="bench").sid
map_sid = store.create_map(service, unique_name="bench").sid
store.put_item(service, map_sid, "user:42", {"name": "Ada", "score": 42, "tags": ["a", "b"]})
print(json.dumps({
    "url": server.url + f"/v1/Services/{service}/Maps/{map_sid}/Items/user:42",
    "auth": list(server.auth),
    "module": __import__("pytest_syncmap").__file__,
}), flush=True)
for line in sys.stdin:
    if line.strip() == "cpu":
        print(time.process_time(), flush=True)
    else:
        break
server.stop()
"""


class ServerProcess:
    """The emulator of a given source tree, alone in a subprocess, reporting its CPU time."""

    def __init__(self, source: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_SCRIPT, str(source)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.url: str = info["url"]
        self.auth: tuple[str, str] = tuple(info["auth"])  # type: ignore[assignment]
        self.module: str = info["module"]

    def cpu(self) -> float:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("cpu\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(10)


@contextmanager
def source_at(ref: str) -> Iterator[Path | None]:
    """The package as of git ``ref``, extracted to a temporary directory (None if no git)."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="syncmap-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", ref, "pytest_syncmap"],
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            reason = archive.stderr.decode().strip()
            print(f"  (git archive {ref} failed: {reason}); no baseline", file=sys.stderr)
            yield None
            return
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)


def server_cpu_samples(
    sources: dict[str, Path], rounds: int, n: int, warmup: int
) -> dict[str, list[Sample]]:
    """Server-process CPU per request of each source tree, interleaved, one Session each."""
    procs = {name: ServerProcess(path) for name, path in sources.items()}
    try:
        sessions = {name: session_for(p.auth) for name, p in procs.items()}
        for name, proc in procs.items():
            for _ in range(warmup):
                sessions[name].get(proc.url).raise_for_status()

        def run(name: str) -> Callable[[], Sample]:
            proc, session = procs[name], sessions[name]

            def once() -> Sample:
                cpu0 = proc.cpu()
                wall0 = time.perf_counter()
                for _ in range(n):
                    session.get(proc.url)
                wall = time.perf_counter() - wall0
                return Sample(n, wall, proc.cpu() - cpu0)

            return once

        samples = interleave({name: run(name) for name in procs}, rounds)
        for session in sessions.values():
            session.close()
        return samples
    finally:
        for proc in procs.values():
            proc.close()


def load() -> str:
    """``/proc/loadavg``'s first three figures, where there is one."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
