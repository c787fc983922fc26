"""Secrets shown once and stored only as a keyed hash (API keys, invite links, tokens)."""

import hashlib
import hmac
import secrets

from django.conf import settings


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random string carrying `nbytes` of randomness."""
    return secrets.token_urlsafe(nbytes)


def hash_secret(secret: str) -> str:
    """The keyed SHA-256 of `secret`, hex. Deterministic, so it can be looked up by index."""
    key = (settings.SECRET_HASH_KEY or settings.SECRET_KEY).encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
