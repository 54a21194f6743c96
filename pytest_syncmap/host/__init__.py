"""The server host: the emulator's WSGI app on a real socket, in a thread or standalone.

:class:`~.server.SyncServer` serves the app, delivers webhooks (:mod:`.webhooks`) and
carries out transport faults; :mod:`.standalone` is ``python -m pytest_syncmap``.
"""
