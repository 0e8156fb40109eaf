"""A message's ready encoded forms, and the lookup the converters ask for them (kept apart from
the memo that fills it, `encoded_forms`, so the converters need nothing of it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import betterproto2
from google.protobuf.message import Message as UpbMessage


@dataclass(frozen=True, slots=True)
class Forms:
    """One message with its upb twin and its proto3 JSON object (neither to be mutated)."""

    message: betterproto2.Message
    upb: UpbMessage
    json: dict[str, Any]


class KnownForms(Protocol):
    """Where the converters find a message's ready forms (None: encode it the slow way)."""

    def get(self, message: betterproto2.Message) -> Forms | None: ...
