"""master-data's one error vocabulary; each transport maps ErrorCode to its own status table."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a request failed, independent of the transport that carried it."""

    INVALID_ARGUMENT = "invalid_argument"
    NOT_FOUND = "not_found"


class CatalogError(Exception):
    """An expected failure of a catalog call; the message is safe to show the caller."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
