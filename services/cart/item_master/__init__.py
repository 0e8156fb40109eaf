"""The cart's link to master-data: one client, two transports (gRPC and Connect over HTTP)."""

from .client import ItemMasterClient
from .model import ItemDetail, ItemLookupError, LookupFailure

__all__ = ["ItemDetail", "ItemLookupError", "ItemMasterClient", "LookupFailure"]
