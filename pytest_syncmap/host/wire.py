"""HTTP/1.1 on the wire: reading request heads and bodies off a socket, strictly.

The transport (:mod:`pytest_syncmap.host.transport`) keeps connections alive, so the
framing of every request must be exact: a body is read to the byte its
``Content-Length`` or its chunked encoding says, never past it (the next request on the
connection starts there), and a body that ends early is an error, not a shorter body.
Everything here reads from a :class:`SocketReader`, whose every ``recv`` waits at most
the socket's timeout (a kernel timer: nothing here reads Python's clock, which a test
may have frozen).

Limits follow Python's ``http.server`` (and so Werkzeug's development server): a request
line or header line of at most 65,536 bytes, at most 100 header fields.
"""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

__all__ = [
    "MAX_HEADERS",
    "MAX_LINE",
    "BodyError",
    "BodyInput",
    "HttpError",
    "RequestHead",
    "SocketReader",
    "read_head",
]

#: Longest request line or header line, CRLF included (as ``http.server``).
MAX_LINE = 65536
#: Most header fields in one request (as ``http.server``).
MAX_HEADERS = 100
#: Longest chunk-size line; chunk extensions beyond this are not a Sync client's.
_MAX_CHUNK_LINE = 4096
_RECV = 65536
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
#: ``method SP request-target SP HTTP/x.y``; the target has no controls and no spaces.
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([^\x00-\x20\x7f]+) (HTTP/[0-9]+\.[0-9]+)\r?\n")
#: ``name: value`` with optional whitespace around the value, no CR or NUL inside it.
_HEADER_LINE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*([^\r\n\x00]*?)[ \t]*\r?\n")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class HttpError(Exception):
    """A request the transport refuses before the application sees it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BodyError(OSError):
    """A request body that ended early, timed out or broke its chunked framing.

    An :class:`OSError`, as a dropped connection is, so an application that reads
    ``wsgi.input`` handles both the same way (``http/app.py`` answers a Twilio 400).
    """


class SocketReader:
    """Buffered reads from a connected socket; the buffer outlives each request."""

    __slots__ = ("_buf", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes received and not yet consumed (a pipelined request, say)."""
        return len(self._buf)

    def fill(self) -> bool:
        """One ``recv`` into the buffer; False at end of stream. Raises on timeout."""
        data = self.sock.recv(_RECV)
        if not data:
            return False
        self._buf += data
        return True

    def readline(self, limit: int) -> bytes | None:
        """One line, LF included; None at end of stream before a full line.

        Raises ``ValueError`` when ``limit`` bytes pass without a line feed (the caller
        words the refusal: 414 for a request line, 431 for a header line).
        """
        start = 0
        while True:
            end = self._buf.find(b"\n", start, limit)
            if end >= 0:
                line = bytes(self._buf[: end + 1])
                del self._buf[: end + 1]
                return line
            if len(self._buf) >= limit:
                raise ValueError("line too long")
            start = len(self._buf)
            if not self.fill():
                return None

    def read_upto(self, n: int) -> bytes:
        """Between 1 and ``n`` bytes, or ``b""`` at end of stream."""
        if not self._buf and not self.fill():
            return b""
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read_exact(self, n: int) -> bytes | None:
        """Exactly ``n`` bytes, or None when the stream ends first."""
        while len(self._buf) < n:
            if not self.fill():
                return None
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data


@dataclass
class RequestHead:
    """A parsed request line and header block, still as the bytes' latin-1 text."""

    method: str
    target: str
    version: tuple[int, int]
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: How the body is framed: its length, -1 for chunked, 0 for none.
    content_length: int = 0
    chunked: bool = False
    keep_alive: bool = True
    expect_continue: bool = False

    @property
    def protocol(self) -> str:
        """``HTTP/1.1``-style version text."""
        return f"HTTP/{self.version[0]}.{self.version[1]}"


def _parse_version(text: str) -> tuple[int, int]:
    if not text.startswith("HTTP/"):
        raise HttpError(400, f"Bad request version ({text!r})")
    major, dot, minor = text[5:].partition(".")
    if not (dot and major.isdigit() and minor.isdigit() and len(major) < 3 and len(minor) < 3):
        raise HttpError(400, f"Bad request version ({text!r})")
    version = (int(major), int(minor))
    if version >= (2, 0):
        raise HttpError(505, f"Invalid HTTP version ({major}.{minor})")
    if version < (1, 0):
        raise HttpError(400, f"Bad request version ({text!r})")
    return version


def _refuse_request_line(line: bytes) -> NoReturn:
    """Say what is wrong with a request line that does not parse."""
    text = line.rstrip(b"\r\n").decode("latin-1")
    words = text.split(" ")
    if len(words) == 3 and all(words):
        _parse_version(words[2])  # 400 or 505 for a bad version
        if re.fullmatch(_TOKEN.decode(), words[0]) is None:
            raise HttpError(400, f"Bad request method ({words[0][:50]!r})")
        raise HttpError(400, "Bad request target")
    raise HttpError(400, f"Bad request syntax ({text[:200]!r})")


def _tokens(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",") if part.strip()}


def read_head(reader: SocketReader) -> RequestHead | None:
    """The next request's line and headers; None when the client closed cleanly first.

    Raises :class:`HttpError` for anything malformed (the connection is closed after the
    answer) and ``OSError`` (a timeout, a reset) when the client stalls or vanishes.
    """
    # RFC 9112 2.2: ignore at least one empty line before a request line.
    for _ in range(4):
        try:
            line = reader.readline(MAX_LINE + 1)
        except ValueError:
            raise HttpError(414, "Request-URI Too Long") from None
        if line is None:
            if reader.buffered:
                raise HttpError(400, "Incomplete request line")
            return None
        if line.strip(b"\r\n"):
            break
    else:
        raise HttpError(400, "Bad request syntax")
    if len(line) > MAX_LINE:
        raise HttpError(414, "Request-URI Too Long")
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        _refuse_request_line(line)
    method, target = match[1].decode("ascii"), match[2].decode("latin-1")
    version = _parse_version(match[3].decode("ascii"))
    head = RequestHead(method=method, target=target, version=version)

    lengths: set[str] = set()
    transfer: list[str] = []
    connection: set[str] = set()
    while True:
        try:
            raw = reader.readline(MAX_LINE + 1)
        except ValueError:
            raise HttpError(431, "Line too long") from None
        if raw is None:
            raise HttpError(400, "Incomplete request head")
        if len(raw) > MAX_LINE:
            raise HttpError(431, "Line too long")
        if raw in (b"\r\n", b"\n"):
            break
        if len(head.headers) >= MAX_HEADERS:
            raise HttpError(431, "Too many headers")
        if raw[:1] in (b" ", b"\t"):
            raise HttpError(400, "Obsolete line folding is not accepted")
        field_match = _HEADER_LINE.fullmatch(raw)
        if field_match is None:
            raise HttpError(400, "Bad header line")
        name = field_match[1].decode("ascii")
        value = field_match[2].decode("latin-1")
        head.headers.append((name, value))
        lower = name.lower()
        if lower == "content-length":
            lengths.update(v.strip() for v in value.split(","))
        elif lower == "transfer-encoding":
            transfer.extend(t.strip().lower() for t in value.split(",") if t.strip())
        elif lower == "connection":
            connection |= _tokens(value)
        elif lower == "expect":
            if value.lower() != "100-continue":
                raise HttpError(417, "Expectation Failed")
            head.expect_continue = version >= (1, 1)

    if transfer:
        if lengths:
            raise HttpError(400, "Both Content-Length and Transfer-Encoding")
        if version < (1, 1):
            raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")
        if transfer[-1] != "chunked":
            raise HttpError(400, "Transfer-Encoding must end with chunked")
        if transfer != ["chunked"]:
            raise HttpError(501, "Transfer-Encoding other than chunked is not implemented")
        head.chunked = True
        head.content_length = -1
    elif lengths:
        if len(lengths) != 1:
            raise HttpError(400, "Invalid Content-Length header")
        (length,) = lengths
        if not length.isdigit() or not length.isascii() or len(length) > 18:
            raise HttpError(400, "Invalid Content-Length header")
        head.content_length = int(length)
    if version >= (1, 1):
        head.keep_alive = "close" not in connection
    else:
        head.keep_alive = "keep-alive" in connection and "close" not in connection
    return head


class BodyInput(io.RawIOBase):
    """``wsgi.input``: the request body and not one byte more, strictly framed.

    Reads raise :class:`BodyError` when the body ends before its declared end (client
    half-closed or vanished), when its chunked framing is broken, or when the client
    stalls past the socket's timeout. ``on_first_read`` runs before the first byte is
    read (the transport sends ``100 Continue`` there, so a request refused unread never
    invites its body).
    """

    def __init__(
        self,
        reader: SocketReader,
        length: int,
        *,
        chunked: bool = False,
        on_first_read: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._reader = reader
        self._left = 0 if chunked else length  # of the body, or of the current chunk
        self._chunked = chunked
        self._on_first_read = on_first_read
        #: The body has been read to its end.
        self.complete = not chunked and length == 0
        #: The framing broke (or the client went); the connection cannot go on.
        self.broken = False
        #: Body bytes read so far.
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.complete or self.broken or not len(buffer):
            return 0
        if self._on_first_read is not None:
            callback, self._on_first_read = self._on_first_read, None
            callback()
        try:
            if self._chunked and self._left == 0 and not self._next_chunk():
                return 0
            data = self._reader.read_upto(min(len(buffer), self._left))
            if not data:
                raise BodyError("request body ended before its declared end")
            n = len(data)
            buffer[:n] = data
            self._left -= n
            self.consumed += n
            if self._left == 0:
                if self._chunked:
                    self._chunk_end()
                else:
                    self.complete = True
        except BodyError:
            self.broken = True
            raise
        except OSError as exc:
            self.broken = True
            raise BodyError(f"request body interrupted: {exc}") from exc
        return n

    def _next_chunk(self) -> bool:
        """Read a chunk-size line; False (and complete) at the last chunk."""
        try:
            line = self._reader.readline(_MAX_CHUNK_LINE)
        except ValueError:
            raise BodyError("chunk size line too long") from None
        if line is None:
            raise BodyError("request body ended inside its chunked framing")
        size_text = line.split(b";", 1)[0].strip(b" \t\r\n")
        if not size_text or len(size_text) > 15 or not set(size_text) <= _HEX:
            raise BodyError("invalid chunk size")
        size = int(size_text, 16)
        if size:
            self._left = size
            return True
        for _ in range(MAX_HEADERS + 1):  # trailer fields, then the empty line
            try:
                trailer = self._reader.readline(_MAX_CHUNK_LINE)
            except ValueError:
                raise BodyError("trailer line too long") from None
            if trailer is None:
                raise BodyError("request body ended inside its trailer")
            if trailer in (b"\r\n", b"\n"):
                self.complete = True
                return False
        raise BodyError("too many trailer fields")

    def _chunk_end(self) -> None:
        try:
            ending = self._reader.readline(2)
        except ValueError:
            ending = b""
        if ending not in (b"\r\n", b"\n"):
            raise BodyError("chunk data not followed by CRLF")

    def discard(self, limit: int, wait: float) -> bool:
        """Read and drop what is left of the body, up to ``limit`` bytes.

        True when the body is now read to its end, so the connection can carry the next
        request; False when too much is left, the framing broke, the client went, or the
        rest does not arrive within ``wait`` seconds per read (an answer is never held
        back long for a body it does not need).
        """
        if self.complete:
            return True
        if self.broken or self._on_first_read is not None:
            # Never invited (100-continue not sent): the client may or may not send it.
            return False
        if not self._chunked and self._left > limit:
            return False
        scratch = bytearray(min(_RECV, max(limit, 1)))
        dropped = 0
        try:
            self._reader.sock.settimeout(wait)
            while not self.complete:
                n = self.readinto(scratch)
                dropped += n
                if dropped > limit:
                    return False
        except OSError:
            return False
        return True
