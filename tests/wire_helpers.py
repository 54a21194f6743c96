"""Raw-socket HTTP for the transport tests: exact bytes out, one parsed answer in."""

from __future__ import annotations

import base64
import json
import socket
from dataclasses import dataclass, field
from typing import Any

TIMEOUT = 10


@dataclass
class Answer:
    """One HTTP answer as read off the socket."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


def basic(server: Any) -> str:
    """The ``Authorization`` header value for ``server``'s credentials."""
    return "Basic " + base64.b64encode(":".join(server.auth).encode()).decode()


def connect(server: Any, timeout: float = TIMEOUT) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request_bytes(
    server: Any,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    headers: dict[str, str] | None = None,
    version: str = "HTTP/1.1",
    auth: bool = True,
    length: int | None = None,
) -> bytes:
    """A request with Host, credentials and (for a body) form Content-Type/Length."""
    lines = [f"{method} {target} {version}", f"Host: {server.host}:{server.port}"]
    if auth:
        lines.append(f"Authorization: {basic(server)}")
    extra = dict(headers or {})
    if body or length is not None:
        extra.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if "Transfer-Encoding" not in extra:
            extra.setdefault("Content-Length", str(len(body) if length is None else length))
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Reader:
    """Reads answers off one connection, keeping what arrives beyond each answer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def answer(self) -> Answer:
        """The next complete answer; AssertionError if the connection ends first."""
        while b"\r\n\r\n" not in self.buf:
            assert self._fill(), f"connection closed before an answer: {self.buf!r}"
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            assert self._fill(), "connection closed inside an answer body"
        body, self.buf = self.buf[:length], self.buf[length:]
        return Answer(status, headers, body)

    def closed(self, timeout: float = 5.0) -> bool:
        """Whether the server closes the connection (nothing more arrives) in time."""
        self.sock.settimeout(timeout)
        try:
            return not self.buf and self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


def exchange(server: Any, payload: bytes, *, check_close: bool = True) -> tuple[Answer, bool]:
    """Send ``payload`` on a new connection; the answer and whether the server closed it.

    With ``check_close=False`` the second value is False without waiting to see.
    """
    with connect(server) as sock:
        sock.sendall(payload)
        reader = Reader(sock)
        answer = reader.answer()
        return answer, check_close and reader.closed()
