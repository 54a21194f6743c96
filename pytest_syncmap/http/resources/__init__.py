"""One module per resource family of the Sync API, each with its routes and handlers.

:data:`ROUTES` is the whole routing table the app serves: Services, then each object
kind with its items and permissions (Maps, Documents, Lists, Streams).
"""

from __future__ import annotations

from pytest_syncmap.http.routing import Route

from . import documents, lists, maps, permissions, services, streams

__all__ = ["ROUTES"]

ROUTES: tuple[Route, ...] = (
    *services.ROUTES,
    *maps.ROUTES,
    *permissions.MAP_ROUTES,
    *documents.ROUTES,
    *permissions.DOCUMENT_ROUTES,
    *lists.ROUTES,
    *permissions.LIST_ROUTES,
    *streams.ROUTES,
)
