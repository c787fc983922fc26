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


def new_api_secret(prefix: str) -> tuple[str, str, str]:
    """A new API secret `prefix` + 256 random bits, with its display hint and its hash.

    The hint shows the prefix, the first 3 and the last 4 characters of the random part
    (``sk-ant-api03-R2D...igAA``): enough to recognise a key, useless to use one.
    """
    body = new_token(32)
    secret = f"{prefix}{body}"
    return secret, f"{prefix}{body[:3]}...{body[-4:]}", hash_secret(secret)
