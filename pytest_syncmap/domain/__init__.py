"""The domain layer: Sync objects, revisions, paging, expiry and events, with no HTTP.

Pure and thread-safe. It reads time only through a :class:`~.clock.Clock` and knows
nothing of requests, JSON or pytest; the layers above call it.
"""
