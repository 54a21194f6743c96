"""Every point where the sources on Twilio's behaviour disagree, decided in one place.

The emulator reads these values instead of hard-coding them, so a team that learns
what real Twilio does differently can change one field (``SyncServer(choices=...)``)
instead of patching code. Each field says which sources disagree (section numbers
refer to ``SYNC_API.md`` section 5, "Open questions"; "SYNC_OTHER Qn" to section 6 of
``SYNC_OTHER.md`` for Documents, Lists, Streams and Permissions) and why this default
was chosen.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["DEFAULT_CHOICES", "Choices"]


@dataclasses.dataclass(frozen=True)
class Choices:
    """Decisions where the Twilio sources disagree; see the module docstring."""

    #: Q1: the OpenAPI spec and current docs say keys are "up to 320 characters"; the
    #: legacy page intro and the 54209 error page say 256. The real backend's message
    #: for unique names says 1-320, which suggests the 256 pages are stale: accept 320.
    key_max_length: int = 320

    #: Q2: same disagreement for Map unique names; the real backend says 1-320.
    unique_name_max_length: int = 320

    #: A unique name holding ``/``. No source says whether Twilio accepts one, but no
    #: client can address it afterwards: twilio-python puts the name raw into the path
    #: (``Maps/a/b``), twilio-node refuses path parameters with ``/``, and a decoded
    #: path cannot tell ``a%2Fb`` from two segments. Creating an object that then
    #: answers 404 to every request would hide the mistake, so it is refused with
    #: 400 / 54302 at create; ``"allow"`` stores it (addressable by SID only).
    unique_name_slash: Literal["refuse", "allow"] = "refuse"

    #: Data limit: "16 KiB of JSON serialized to a UTF-8 string" (limits page). We
    #: measure the compact serialisation (no spaces, raw UTF-8) of the parsed object,
    #: so the answer does not depend on whether the client sent ``", "`` separators
    #: (Python) or compact JSON (Node).
    data_max_bytes: int = 16 * 1024

    #: How deeply item data may nest (objects and arrays inside one another). No
    #: source gives Twilio's limit. Without one, the answer would depend on the
    #: Python version (3.10-3.12 stop near 1000 levels with a RecursionError, 3.13
    #: parses far deeper). 500 is what Jackson, a common JVM JSON parser, considers
    #: safe for every legitimate document (its default is 1000, with 500 proposed),
    #: far above any real data, and well inside what every Python here parses and
    #: serialises. Deeper data is 400 / 54008 ("Invalid JSON").
    data_max_depth: int = 500

    #: Q14: the status of 54006 is undocumented. Its title is "Request entity too
    #: large", which is what HTTP 413 means, so 413 rather than a generic 400.
    data_too_large_status: int = 413

    #: Q3: PageSize max is 100 in the current spec (1000 before 2025-06). The Python
    #: client sends ``PageSize=limit`` for ``list(limit=500)``, so an error would break
    #: ordinary code; we clamp to the maximum, echo the clamped value in
    #: ``meta.page_size`` and keep paging. ``"error"`` answers 400 / 20001 instead.
    page_size_default: int = 50
    page_size_max: int = 100
    page_size_over_max: Literal["clamp", "error"] = "clamp"

    #: Q5: 412 is confirmed for an If-Match mismatch; the code is 54205 ("Map Item
    #: revision mismatch") by the error dictionary, 20412 by a support article about
    #: other Sync objects. The Map-Item-specific code wins.
    revision_mismatch_code: int = 54205

    #: Q4: a Map or Service addressed by a SID that does not exist. The error
    #: dictionary has 54200 ("Map not found") and 54050 ("Service Instance not
    #: found"); routing-level misses observed on the real API answer 20404 "The
    #: requested resource ... was not found". SID-shaped misses behave like routing
    #: misses, so 20404 for both; unknown unique names get 54300 (seen from the real
    #: backend through the client SDK), missing items 54201.
    map_sid_not_found_code: int = 20404
    service_not_found_code: int = 20404
    unique_name_not_found_code: int = 54300

    #: An If-Match value that cannot be a revision (our revisions are lowercase hex
    #: counters) is 54003 "Invalid If-Match header". Its status is undocumented; 400
    #: because it is a malformed request, not a failed precondition.
    invalid_if_match_status: int = 400

    #: Q11: ``CollectionTtl`` alone on an item update is documented as disallowed but
    #: the error is not. 54010 ("No parameters specified") says the closest thing: the
    #: update changes nothing about the item.
    collection_ttl_alone_code: int = 54010

    #: ``WebhookUrl``: the sources say only "the URL of the webhook". A URL no
    #: delivery could be made to (not absolute http(s), a space, a port like ``:abc``
    #: or 0, no host) is refused with 400 / 20001 at Service create and update, as a
    #: bad parameter is, rather than accepted and failing every delivery later. Host
    #: names are ASCII (an IDN in its ``xn--`` form), as a request line carries them.

    #: Q15: ``Page`` is "simply for client state": echoed in ``meta.page`` and in the
    #: paging URLs, never used to skip records; only ``PageToken`` moves the cursor.

    #: Q7: the ETag header carries the bare revision (the SDKs send If-Match bare);
    #: If-Match accepts the bare, quoted and ``W/``-prefixed forms.

    #: Q8: resource ``url`` fields always use canonical SIDs, even when the request
    #: addressed the Map by unique name; ``meta`` URLs echo the path the client used.

    # ------------------------------------------------ Documents, Lists, Streams
    #: SYNC_OTHER Q1: a Document, List or Stream SID that does not exist. The error
    #: dictionary has dedicated codes and the real backend answered 404 / 54100 for a
    #: missing Document (client API), so these three kinds use them. Maps keep 20404
    #: (Q4 above: routing-level misses seen on the REST API). Unknown unique names are
    #: 54300 for every kind.
    document_sid_not_found_code: int = 54100
    list_sid_not_found_code: int = 54150
    stream_sid_not_found_code: int = 54250

    #: SYNC_OTHER Q2: a stale If-Match on a Document or a List Item is 412 (confirmed);
    #: the codes are the dictionary's Sync codes, as 54205 is for Map Items (a support
    #: article names 20412 for List Items).
    document_revision_mismatch_code: int = 54103
    list_item_revision_mismatch_code: int = 54155

    #: SYNC_OTHER Q3/Q4: Stream Messages hold at most "4 KiB" of JSON; measured like the
    #: 16 KiB rule (compact UTF-8 serialisation), 4,096 bytes inclusive, and refused with
    #: 54006 and ``data_too_large_status``, as there is no Stream-specific code.
    stream_message_max_bytes: int = 4096

    #: SYNC_OTHER Q6: whether Documents, Lists, Maps and Streams share one unique-name
    #: namespace per Service. Addressing is per kind (``/Documents/{name}`` vs
    #: ``/Lists/{name}``) and no source shows a cross-kind 409, so per kind; ``"service"``
    #: makes a name unique across all four kinds.
    unique_name_scope: Literal["kind", "service"] = "kind"

    #: SYNC_OTHER Q9b: a List Item ``From`` or ``{Index}`` that is not a non-negative
    #: integer is 400 / 54458 "Invalid List Item index", the dictionary's only code for it.
    invalid_index_code: int = 54458

    #: A bad ``Order``, ``Bounds``, ``PageToken`` or ``PageSize`` on any listing. The error
    #: dictionary has Sync's own codes for exactly these (54451, 54452, 54453, 54454
    #: "Invalid '<name>' query parameter"), and SYNC_OTHER section 2.2 gives them for
    #: List Items; nothing shows Services or Maps answering otherwise, so every listing
    #: speaks them alike. ``"generic"`` answers Twilio's generic 400 / 20001 instead.
    query_error_codes: Literal["sync", "generic"] = "sync"

    #: SYNC_OTHER Q10: a List Item or Stream Message create without ``Data`` is 400 with
    #: the Sync codes 54156 / 54251 ("The 'Data' parameter cannot be null"), not 20001.
    missing_list_item_data_code: int = 54156
    missing_stream_message_data_code: int = 54251

    #: SYNC_OTHER Q12: If-Match on DeleteDocument left the spec in 2021 (twilio-python
    #: cannot send it) but the server very likely still honours it: honoured when
    #: present (412 on mismatch), never required.
    document_delete_if_match: bool = True

    #: SYNC_OTHER Q13: no source documents Stream webhooks, so none are sent; True sends
    #: ``stream_message_published`` and ``stream_removed``, modelled on the events the
    #: client SDK receives.
    stream_webhooks: bool = False

    #: SYNC_OTHER Q16: a TTL-only update bumps the revision of a Document and of a List
    #: Item (and fires ``document_updated`` / ``list_item_updated``); of a List it bumps
    #: the revision and fires nothing; of a Stream it changes only ``date_updated``.
    #: SYNC_OTHER Q17: permissions are listed in identity order (code point order, a
    #: stable cursor); one with all three flags false is stored and listed until deleted.
    #: SYNC_OTHER Q18: Document, List Item and Stream Message data must be a JSON object,
    #: as Map Item data (54008 otherwise); Document data sent explicitly as ``null`` or
    #: empty is 54101 "Invalid Document data".
    #: SYNC_OTHER Q19: the items of a List that is gone answer the List's not-found error.


DEFAULT_CHOICES = Choices()
