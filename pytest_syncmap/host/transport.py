"""The transport: persistent HTTP/1.1 connections, bounded, and faults on the wire.

:class:`TransportServer` serves one WSGI application on a listening socket:

* **Keep-alive.** A connection carries request after request (HTTP/1.1 by default,
  HTTP/1.0 when the client asks with ``Connection: keep-alive``) until the client closes
  it or sends ``Connection: close``. Each answer goes out in one ``send`` on a
  ``TCP_NODELAY`` socket, so a request costs no connection set-up and no Nagle wait.
* **Strict bodies.** ``wsgi.input`` is a :class:`~pytest_syncmap.host.wire.BodyInput`:
  exactly the declared body, an error if it ends early. What the application leaves
  unread is read and dropped (up to ``discard_limit``) or the connection is closed,
  so the next request always starts at a request line.
* **Bounds.** One thread per connection, at most ``max_connections`` of them; a
  connection idle for ``idle_grace`` may be closed to make room for a new one, and one
  idle for ``idle_timeout`` is closed anyway; a stalled request is dropped after
  ``read_timeout``. Every wait is a socket or ``select`` timeout, a kernel timer, so a
  frozen test clock changes none of them. Connections beyond the cap wait in the
  listen backlog (``backlog``, 1,024 by default). When the process runs out of file
  descriptors, accepting pauses until a connection closes (or, if none of ours is open,
  for ``fd_backoff`` seconds) instead of spinning on a listening socket that stays
  readable.
* **Faults.** The application asks for a transport fault through
  ``environ[TRANSPORT_KEY]``; the connection then breaks the way the fault says:
  ``reset`` (TCP RST), ``empty_response`` (closed, nothing sent), ``truncated`` (a
  ``Content-Length`` the body never reaches, then closed) or ``malformed`` (a complete
  200 whose body is not JSON; the connection stays usable).

Anything the transport refuses before the application sees it (a malformed request
line or header, a bad ``Content-Length``, a request head too large) is answered with a
Twilio JSON error and the connection is closed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from pytest_syncmap.http.app import TRANSPORT_KEY
from pytest_syncmap.http.twilio_errors import error_body, generic_code

from .wire import BodyInput, HttpError, RequestHead, SocketReader, read_head

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

__all__ = ["TransportLimits", "TransportServer"]

_log = logging.getLogger("pytest_syncmap.server")

#: ``accept`` errors that mean "no descriptor or memory for a new socket right now".
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: How long the rest of an unread body may take to arrive before the answer goes out
#: with ``Connection: close`` instead.
_DISCARD_WAIT = 0.05
_STOP = b"x"
_NUDGE = b"."
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_MALFORMED_BODY = b'{"key": "pytest-syncmap malformed body", "data": {'
_NO_BODY_STATUS = frozenset({204, 304})
#: Headers the transport owns: framing and connection management.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})
_REASONS = {
    400: "Bad Request",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


@dataclass(frozen=True)
class TransportLimits:
    """How many connections the transport holds and how long it waits (seconds)."""

    #: Connections (and so connection threads) open at once.
    max_connections: int = 256
    #: An idle connection (no request in progress) is closed after this long.
    idle_timeout: float = 5.0
    #: An idle connection this old may be closed to make room when the cap is reached.
    idle_grace: float = 1.0
    #: A request whose head or body stalls this long between two reads is dropped.
    read_timeout: float = 10.0
    #: Connections the kernel queues while the server is busy or full.
    backlog: int = 1024
    #: Unread request body bytes read and dropped to keep a connection alive.
    discard_limit: int = 64 * 1024
    #: Pause before accepting again when descriptors ran out and no connection of
    #: ours can free one.
    fd_backoff: float = 0.25

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if not 0 < self.idle_grace <= self.idle_timeout:
            raise ValueError("need 0 < idle_grace <= idle_timeout")
        if self.read_timeout <= 0 or self.fd_backoff <= 0:
            raise ValueError("timeouts must be positive")


class _Connection:
    """One client connection and the thread serving it."""

    __slots__ = ("addr", "closed", "idle", "lock", "reader", "sock", "thread")

    def __init__(self, sock: socket.socket, addr: Any) -> None:
        self.sock = sock
        self.addr = addr
        self.reader = SocketReader(sock)
        self.lock = threading.Lock()
        #: Waiting for a request for at least ``idle_grace``: may be closed for room.
        self.idle = False
        #: Closed by the server (to make room, or at stop): serve nothing more.
        self.closed = False
        #: The thread serving it, once started.
        self.thread: threading.Thread | None = None

    def close_for_room(self) -> bool:
        """Close it if it is idle; True if it was."""
        with self.lock:
            if not self.idle or self.closed:
                return False
            self.closed = True
        _shutdown(self.sock)
        return True


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _DateHeader:
    """``Date: ...`` for the current second, formatted once per second."""

    __slots__ = ("line", "second")

    def __init__(self) -> None:
        self.second = -1
        self.line = b""

    def get(self) -> bytes:
        now = time.time()
        second = int(now)
        if second != self.second:
            self.line = f"Date: {formatdate(now, usegmt=True)}\r\n".encode()
            self.second = second
        return self.line


class TransportServer:
    """Serves a WSGI application over persistent HTTP/1.1 connections.

    ``serve()`` runs the accept loop in the calling thread until ``shutdown()``;
    ``close()`` then closes the listening socket and every connection.
    """

    def __init__(
        self,
        host: str,
        port: int,
        app: WSGIApplication,
        *,
        limits: TransportLimits | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.app = app
        self.limits = limits or TransportLimits()
        self.on_error = on_error
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            # getaddrinfo() would take 70000 as 70000 % 65536 and listen there.
            raise ValueError(f"port must be an integer from 0 to 65535, not {port!r}")
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, address = info[0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            if sys.platform != "win32":
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(self.limits.backlog)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        name = listener.getsockname()
        self.host: str = name[0]
        self.port: int = name[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._lock = threading.Lock()
        self._all_closed = threading.Condition(self._lock)
        self._connections: set[_Connection] = set()
        self._paused = False
        self._stopping = False
        self._date = _DateHeader()
        self._thread_name = f"pytest-syncmap:{self.port}:connection"
        #: Connections accepted since the start (tests count them).
        self.accepted = 0

    # ------------------------------------------------------------- accept loop
    def fileno(self) -> int:
        """The listening socket's descriptor."""
        return self._listener.fileno()

    @property
    def open_connections(self) -> int:
        """Connections open right now."""
        with self._lock:
            return len(self._connections)

    def serve(self) -> None:
        """Accept connections until :meth:`shutdown`; no polling while all is well."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ)
            selector.register(self._listener, selectors.EVENT_READ)
            listening = True
            backoff: float | None = None
            while True:
                events = selector.select(backoff)
                resume = not events  # the descriptor back-off ran out
                for key, _ in events:
                    if key.fileobj is self._wake_r:
                        data = self._wake_r.recv(4096)
                        if _STOP in data or not data:
                            return
                        resume = True  # a connection closed or went idle
                if resume and not listening:
                    selector.register(self._listener, selectors.EVENT_READ)
                    listening, backoff = True, None
                if listening:
                    paused, backoff = self._accept_ready()
                    if paused:
                        selector.unregister(self._listener)
                        listening = False

    def _accept_ready(self) -> tuple[bool, float | None]:
        """Accept what is pending: (pause accepting?, back-off before trying again).

        Full (every connection busy): pause until a connection closes or goes idle,
        which nudges the loop. Out of descriptors: pause for ``fd_backoff`` too, since
        the descriptors may be held by someone else than our connections.
        """
        for _ in range(64):
            if not self._room():
                return True, None
            try:
                sock, addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno not in _RESOURCE_ERRORS:
                    _log.warning("accept failed: %s", exc)
                with self._lock:
                    self._paused = True
                return True, self.limits.fd_backoff
            self._start(sock, addr)
        with self._lock:
            self._paused = False
        return False, None

    def _room(self) -> bool:
        """Whether one more connection fits, closing an idle one to make room if need be."""
        with self._lock:
            if len(self._connections) < self.limits.max_connections:
                return True
            # Paused from now on: a connection that goes idle or closes will nudge.
            self._paused = True
            candidates = list(self._connections)
        return any(conn.close_for_room() for conn in candidates)

    def _start(self, sock: socket.socket, addr: Any) -> None:
        with contextlib.suppress(OSError):  # not TCP (or already gone): nothing to tune
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.limits.idle_grace)
        conn = _Connection(sock, addr)
        with self._lock:
            self._connections.add(conn)
            self.accepted += 1
        thread = threading.Thread(
            target=self._serve_connection, args=(conn,), name=self._thread_name, daemon=True
        )
        conn.thread = thread
        try:
            thread.start()
        except RuntimeError:  # can't start new thread
            self._release(conn)

    def _nudge(self) -> None:
        """Wake a paused accept loop: a connection closed or became idle."""
        with self._lock:
            paused = self._paused
        if paused:
            with contextlib.suppress(OSError):
                self._wake_w.send(_NUDGE)

    def _release(self, conn: _Connection) -> None:
        with contextlib.suppress(OSError):
            conn.sock.close()
        with self._lock:
            self._connections.discard(conn)
            if not self._connections:
                self._all_closed.notify_all()
        self._nudge()

    # -------------------------------------------------------------- stopping
    def shutdown(self) -> None:
        """Make :meth:`serve` return (from any thread)."""
        with contextlib.suppress(OSError):
            self._wake_w.setblocking(True)
            self._wake_w.send(_STOP)

    def close(self, wait: float = 1.0) -> None:
        """Close the listening socket and every connection; wait up to ``wait`` s for them."""
        self._listener.close()
        with self._lock:
            self._stopping = True
            connections = list(self._connections)
        for conn in connections:
            with conn.lock:
                conn.closed = True
            _shutdown(conn.sock)
        deadline = time.monotonic() + wait
        with self._lock:
            self._all_closed.wait_for(lambda: not self._connections, timeout=wait)
        # A connection leaves the set just before its thread returns: join the threads
        # too, so nothing of ours is left running once close() returns.
        current = threading.current_thread()
        for conn in connections:
            thread = conn.thread
            if thread is not None and thread is not current and thread.is_alive():
                thread.join(max(deadline - time.monotonic(), 0.0))
        self._wake_r.close()
        self._wake_w.close()

    # ----------------------------------------------------------- connections
    def _serve_connection(self, conn: _Connection) -> None:
        try:
            while self._await_request(conn) and self._serve_request(conn):
                pass
        except OSError:
            pass  # the client went away, or the server closed the connection
        except Exception as exc:  # a bug of ours: keep it for the test, close
            self._report(exc)
        finally:
            self._release(conn)

    def _await_request(self, conn: _Connection) -> bool:
        """Wait for the next request's first bytes; False when the connection should end."""
        reader, limits = conn.reader, self.limits
        if not reader.buffered:
            conn.sock.settimeout(limits.idle_grace)
            try:
                if not reader.fill():
                    return False
            except TimeoutError:
                with conn.lock:
                    if conn.closed:
                        return False
                    conn.idle = True
                self._nudge()
                conn.sock.settimeout(max(limits.idle_timeout - limits.idle_grace, 0.001))
                try:
                    if not reader.fill():
                        return False
                except TimeoutError:
                    return False
                with conn.lock:
                    if conn.closed:
                        return False
                    conn.idle = False
        if conn.closed or self._stopping:
            return False
        conn.sock.settimeout(limits.read_timeout)
        return True

    def _serve_request(self, conn: _Connection) -> bool:
        """Read, answer and frame one request; whether the connection goes on."""
        try:
            head = read_head(conn.reader)
        except HttpError as err:
            self._send_error(conn, err.status, err.message)
            return False
        if head is None:
            return False
        body = BodyInput(
            conn.reader,
            head.content_length,
            chunked=head.chunked,
            on_first_read=(lambda: conn.sock.sendall(_CONTINUE)) if head.expect_continue else None,
        )
        environ = self._environ(head, body, conn)
        status, headers, payload = self._call(environ)
        kind = environ.get(TRANSPORT_KEY)
        if kind is not None and kind != "malformed":
            self._break(conn, kind, status, headers, payload)
            return False
        if kind == "malformed":
            status = "200 OK"
            headers = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")]
            payload = _MALFORMED_BODY
        keep = head.keep_alive and not self._stopping
        if keep and not body.complete:
            keep = body.discard(self.limits.discard_limit, _DISCARD_WAIT)
        conn.sock.sendall(self._response(head, status, headers, payload, keep))
        if not keep and not body.complete:
            _linger_close(conn.sock)  # unread body bytes: let the answer arrive first
        return keep

    def _environ(self, head: RequestHead, body: BodyInput, conn: _Connection) -> dict[str, Any]:
        target = head.target
        host_from_target = None
        if not target.startswith("/"):
            scheme, sep, rest = target.partition("://")
            if sep and scheme.lower() in ("http", "https"):
                # Absolute form (through a proxy): the authority replaces Host.
                host_from_target, slash, path = rest.partition("/")
                target = slash + path if slash else "/"
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        # PEP 3333: PATH_INFO is the percent-decoded bytes, each byte one character.
        path_info = _unquote_latin1(path)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": head.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "SERVER_NAME": self.host,
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": head.protocol,
            "REMOTE_ADDR": conn.addr[0] if isinstance(conn.addr, tuple) else "",
            "REMOTE_PORT": str(conn.addr[1]) if isinstance(conn.addr, tuple) else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if head.chunked:
            environ["wsgi.input_terminated"] = True
        for name, value in head.headers:
            if "_" in name:
                continue  # would be indistinguishable from a dash (as Werkzeug does)
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            elif key == "CONTENT_LENGTH":
                value = str(head.content_length)
            if key in environ:
                if key == "CONTENT_LENGTH":
                    continue
                value = f"{environ[key]},{value}"
            environ[key] = value
        if host_from_target:
            environ["HTTP_HOST"] = host_from_target
        return environ

    def _call(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes]:
        """The application's answer, whole; a Twilio 500 if it fails."""
        answer: list[Any] = []
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            answer[:] = [status, headers]
            return written.append

        try:
            result: Iterable[bytes] = self.app(environ, start_response)
            try:
                payload = b"".join([*written, *result]) if written else b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if not answer:
                raise RuntimeError("the application did not call start_response")
            status, headers = answer
            for name, value in headers:
                if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
                    raise ValueError(f"response header {name!r} holds a line break")
            return status, headers, payload
        except Exception as exc:
            self._report(exc)
            code = generic_code(500)
            body = error_body(500, code, "An internal server error has occurred")
            return (
                "500 Internal Server Error",
                [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")],
                body,
            )

    def _response(
        self,
        head: RequestHead,
        status: str,
        headers: list[tuple[str, str]],
        payload: bytes,
        keep: bool,
    ) -> bytes:
        code = status[:3]
        bodiless = head.method == "HEAD" or code in ("204", "304") or code[:1] == "1"
        lines = [f"HTTP/1.1 {status}\r\n"]
        for name, value in headers:
            lower = name.lower()
            if lower in _HOP_BY_HOP and not (bodiless and lower == "content-length"):
                continue
            lines.append(f"{name}: {value}\r\n")
        if not bodiless:
            lines.append(f"Content-Length: {len(payload)}\r\n")
        if not keep:
            lines.append("Connection: close\r\n")
        elif head.version < (1, 1):
            lines.append("Connection: keep-alive\r\n")
        if keep and self.limits.idle_timeout >= 1:
            # A hint for clients that read it (Node's agents): reuse only within this.
            lines.append(f"Keep-Alive: timeout={int(self.limits.idle_timeout)}\r\n")
        out = "".join(lines).encode("latin-1") + self._date.get() + b"\r\n"
        return out if bodiless else out + payload

    def _send_error(self, conn: _Connection, status: int, message: str) -> None:
        """A Twilio JSON error for a request the transport refused; the connection ends."""
        code = generic_code(status)
        body = error_body(status, code, message)
        head = (
            (
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n"
                "X-Content-Type-Options: nosniff\r\n"
                "Connection: close\r\n"
            ).encode()
            + self._date.get()
            + b"\r\n"
        )
        with contextlib.suppress(OSError):
            conn.sock.sendall(head + body)
        _linger_close(conn.sock)

    def _break(
        self,
        conn: _Connection,
        kind: str,
        status: str,
        headers: list[tuple[str, str]],
        payload: bytes,
    ) -> None:
        """Carry out a transport fault that breaks the connection."""
        sock = conn.sock
        if kind == "reset":
            # Linger on with a zero timeout: close() sends RST instead of FIN.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            return
        if kind == "truncated":
            lines = [f"HTTP/1.1 {status}\r\n"]
            lines += [f"{n}: {v}\r\n" for n, v in headers if n.lower() not in _HOP_BY_HOP]
            lines.append(f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
            with contextlib.suppress(OSError):
                sock.sendall("".join(lines).encode("latin-1") + payload[: len(payload) // 2])
        # empty_response (and truncated, now): close with what was sent, nothing more.

    def _report(self, exc: BaseException) -> None:
        _log.error("unhandled error in the pytest-syncmap transport", exc_info=exc)
        if self.on_error is not None:
            self.on_error(exc)


def _linger_close(sock: socket.socket) -> None:
    """Half-close after an error answer so the client reads it before the connection ends.

    Closing a socket that still holds unread request bytes makes the kernel send RST,
    which can destroy the answer in flight; shutting the write side first and reading
    briefly (bounded in bytes and by the socket's timeout) lets the answer arrive.
    """
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(0.2)
        for _ in range(16):  # at most 16 reads of 64 KiB, each waiting at most 0.2 s
            if not sock.recv(65536):
                break


def _unquote_latin1(path: str) -> str:
    """Percent-decode a latin-1 path into latin-1 text (bytes in, bytes out)."""
    if "%" not in path:
        return path
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(path.encode("latin-1")).decode("latin-1")
