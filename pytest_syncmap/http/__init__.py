"""The HTTP surface: a WSGI app that speaks the Sync REST API in Twilio's words.

Routing (:mod:`.routing`, with one module per resource family in :mod:`.resources`),
parsing and validation (:mod:`.params`), Twilio JSON (:mod:`.render`) and errors
(:mod:`.twilio_errors`), fault injection (:mod:`.faults`), the request journal
(:mod:`.journal`) and the ``/_syncmap/`` control plane (:mod:`.control`). It calls the
domain layer and knows nothing of sockets or pytest.
"""
