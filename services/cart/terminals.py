"""Terminals and their API keys: `<key id>.<secret>`, of which only a hash of the secret is kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Terminal:
    """Who is calling: a terminal of one tenant's store. It sees only that store's carts."""

    tenant_id: str
    store_code: str
    terminal_id: str
    key_id: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    key_hash: str
    api_key: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    # The secret is 256 random bits, so a plain (fast) hash is as strong as a slow one.
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key() -> IssuedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return IssuedKey(key_id=key_id, key_hash=hash_secret(secret), api_key=f"{key_id}.{secret}")


def split_key(api_key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    key_id, dot, secret = api_key.partition(".")
    if not dot or len(key_id) != 16 or not secret or len(api_key) > 128:
        return None
    return key_id, secret


def secret_matches(secret: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), key_hash)
