"""One module per resource family of the Sync API, each with its routes and handlers.

:data:`ROUTES` is the whole routing table the app serves, in the spec's order.
"""

from __future__ import annotations

from pytest_syncmap.http.routing import Route

from . import maps, services

__all__ = ["ROUTES"]

ROUTES: tuple[Route, ...] = (*services.ROUTES, *maps.ROUTES)
