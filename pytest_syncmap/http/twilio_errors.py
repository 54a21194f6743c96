"""Twilio's error vocabulary: status, code and message of every error the emulator sends.

Every error leaves the emulator as Twilio's JSON body
``{"code", "message", "more_info", "status"}`` (``SYNC_API.md`` section 2.1) with
the matching HTTP status, never as HTML. The body never carries both ``type`` and
``title``: twilio-python would then raise ``TwilioServiceException`` instead of
``TwilioRestException``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pytest_syncmap.domain.choices import Choices
from pytest_syncmap.domain.errors import (
    DataTooLarge,
    InvalidData,
    InvalidIdentity,
    InvalidKey,
    InvalidTtl,
    InvalidUniqueName,
    ItemAlreadyExists,
    ItemNotFound,
    ListItemNotFound,
    NothingToUpdate,
    ObjectNotFound,
    PermissionNotFound,
    RevisionMismatch,
    ServiceNotFound,
    SyncError,
    UniqueNameTaken,
)

__all__ = ["TwilioError", "error_body", "from_domain", "generic_code", "more_info"]


def more_info(code: int) -> str:
    """The documentation link Twilio puts in ``more_info``."""
    return f"https://www.twilio.com/docs/errors/{code}"


def generic_code(status: int) -> int:
    """Twilio's platform-wide code for a bare HTTP status (20404, 20429, 20500...)."""
    return {400: 20001, 401: 20003, 403: 20403, 405: 20004}.get(status, 20000 + status)


def error_body(status: int, code: int, message: str) -> bytes:
    """Serialise a Twilio error body."""
    return json.dumps(
        {"code": code, "message": message, "more_info": more_info(code), "status": status}
    ).encode()


class TwilioError(Exception):
    """An error answer in Twilio's words: HTTP status, Twilio code, message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"HTTP {status} / {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        #: Extra response headers (e.g. ``Retry-After`` on a 429).
        self.headers: dict[str, str] = {}

    @classmethod
    def not_found(cls, path: str) -> TwilioError:
        """Routing-level miss; Twilio echoes the path without the ``/v1`` prefix."""
        shown = path[3:] if path.startswith("/v1/") else path
        return cls(404, 20404, f"The requested resource {shown} was not found")

    @classmethod
    def method_not_allowed(cls, allowed: Iterable[str]) -> TwilioError:
        """405 / 20004, with the ``Allow`` header listing the methods the path takes."""
        err = cls(405, 20004, "Method not allowed")
        err.headers["Allow"] = ", ".join(allowed)
        return err

    @classmethod
    def missing(cls, name: str) -> TwilioError:
        """A required form parameter was not sent."""
        return cls(400, 20001, f"Missing required parameter {name} in the post body")

    @classmethod
    def invalid(cls, name: str, detail: str) -> TwilioError:
        """A parameter Twilio validates generically (PageSize, booleans, tokens...)."""
        return cls(400, 20001, f"Invalid parameter {name}: {detail}")

    def body(self) -> bytes:
        """The JSON body of this error."""
        return error_body(self.status, self.code, self.message)


def from_domain(exc: SyncError, choices: Choices, path: str) -> TwilioError:
    """Translate a domain error into Twilio's answer for the request at ``path``."""
    if isinstance(exc, ItemNotFound):
        return TwilioError(404, 54201, "Item not found")
    if isinstance(exc, ItemAlreadyExists):
        return TwilioError(409, 54208, "Map Item already exists")
    if isinstance(exc, RevisionMismatch):
        code, what = {
            "document": (choices.document_revision_mismatch_code, "Document"),
            "list_item": (choices.list_item_revision_mismatch_code, "List Item"),
        }.get(exc.kind, (choices.revision_mismatch_code, "Map Item"))
        return TwilioError(
            412, code, f"The actual revision of the {what} does not match the expected revision"
        )
    if isinstance(exc, ObjectNotFound):
        if not exc.by_sid:
            return TwilioError(404, choices.unique_name_not_found_code, "Unique name not found")
        code, title = {
            "document": (choices.document_sid_not_found_code, "Document not found"),
            "list": (choices.list_sid_not_found_code, "List not found"),
            "stream": (choices.stream_sid_not_found_code, "Message Stream not found"),
        }.get(exc.kind, (choices.map_sid_not_found_code, "Map not found"))
        if code == 20404:
            return TwilioError.not_found(path)
        return TwilioError(404, code, title)
    if isinstance(exc, ListItemNotFound):
        return TwilioError(404, 54151, "Item not found")
    if isinstance(exc, PermissionNotFound):
        return TwilioError(404, 54354, "Permission not found")
    if isinstance(exc, InvalidIdentity):
        return TwilioError(
            400,
            54351,
            f"Invalid identity. The identity must be a string with length 1-{exc.max_length}",
        )
    if isinstance(exc, ServiceNotFound):
        if choices.service_not_found_code == 20404:
            return TwilioError.not_found(path)
        return TwilioError(404, choices.service_not_found_code, "Service Instance not found")
    if isinstance(exc, UniqueNameTaken):
        return TwilioError(409, 54301, "Unique name already exists")
    if isinstance(exc, InvalidUniqueName):
        return TwilioError(
            400,
            54302,
            f"Invalid unique name. Expected a string with length 1-{exc.max_length} "
            "not matching the SID pattern [A-Z]{2}[a-f0-9]{32}"
            + (
                " (pytest-syncmap refuses '/': no client could address the name in a path)"
                if exc.slash
                else ""
            ),
        )
    if isinstance(exc, InvalidKey):
        return TwilioError(
            400,
            54209,
            f"Invalid Map Item key. The Map Item key must be a string with length "
            f"1-{exc.max_length}",
        )
    if isinstance(exc, DataTooLarge):
        return TwilioError(
            choices.data_too_large_status,
            54006,
            f"Request entity too large. The size of the specified 'Data' parameter "
            f"({exc.size} bytes) exceeds the size limit of {exc.limit} bytes",
        )
    if isinstance(exc, InvalidData):
        return TwilioError(400, 54008, f"Invalid JSON. {exc.reason}")
    if isinstance(exc, InvalidTtl):
        return TwilioError(
            400,
            54011,
            "Invalid TTL. The TTL value in seconds must either be empty or an integer "
            "between 0 and 31 536 000 (1 year)",
        )
    if isinstance(exc, NothingToUpdate):
        code = 54010
        if exc.reason.startswith("CollectionTtl"):
            code = choices.collection_ttl_alone_code
        return TwilioError(400, code, f"No parameters specified. {exc.reason}")
    raise TypeError(f"no Twilio mapping for {type(exc).__name__}") from exc
