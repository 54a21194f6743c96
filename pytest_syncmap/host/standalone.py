"""Standalone emulator for non-Python clients: ``python -m pytest_syncmap``.

Prints ``pytest-syncmap listening on http://HOST:PORT`` as its first line (flushed, so
a parent process can read the port), serves until SIGINT or SIGTERM, then exits 0
within a second, whatever webhooks are still queued (they are abandoned).
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from collections.abc import Sequence

from pytest_syncmap.domain.clock import SettableClock, parse_instant
from pytest_syncmap.domain.model import MAX_TTL

from .server import ACCOUNT_SID, AUTH_TOKEN, SyncServer

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_syncmap",
        description="Serve the Twilio Sync emulator until SIGINT or SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind; 0 lets the OS pick (default)"
    )
    parser.add_argument(
        "--account-sid",
        default=ACCOUNT_SID,
        help="account SID clients must use (default %(default)s)",
    )
    parser.add_argument(
        "--auth-token", default=AUTH_TOKEN, help="auth token clients must use (default %(default)s)"
    )
    parser.add_argument(
        "--clock",
        metavar="ISO8601",
        help="freeze the emulator's clock at this instant (e.g. 2025-01-01T00:00:00Z); "
        "move it with POST /_syncmap/clock. Default: the wall clock",
    )
    parser.add_argument(
        "--expiry-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep expired objects and items readable this long, at most a year "
        "(default 0: exact expiry)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the standalone emulator; returns the exit status."""
    args = _parser().parse_args(argv)
    if re.fullmatch(r"AC[0-9a-fA-F]{32}", args.account_sid) is None:
        print("error: --account-sid must be 'AC' followed by 32 hex digits", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    clock = None
    if args.clock is not None:
        try:
            clock = SettableClock(start=parse_instant(args.clock))
        except ValueError as exc:
            print(f"error: --clock: {exc}", file=sys.stderr)
            return 2
    if not 0 <= args.port <= 65535:
        print("error: --port must be a number from 0 to 65535", file=sys.stderr)
        return 2
    if args.expiry_lag < 0:
        print("error: --expiry-lag cannot be negative", file=sys.stderr)
        return 2
    if not args.expiry_lag <= MAX_TTL:  # NaN and infinity fail this too
        print(f"error: --expiry-lag must be at most {MAX_TTL} seconds (a year)", file=sys.stderr)
        return 2
    server = SyncServer(
        args.host,
        args.port,
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        clock=clock,
        expiry_lag=args.expiry_lag,
    )
    try:
        server.start()
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port} ({exc.strerror or exc})",
            file=sys.stderr,
        )
        return 1
    try:
        print(f"pytest-syncmap listening on {server.url}", flush=True)
        print(f"credentials: {args.account_sid} / {args.auth_token}", flush=True)
        print(f"control plane: {server.url}/_syncmap/ (same credentials)", flush=True)
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
