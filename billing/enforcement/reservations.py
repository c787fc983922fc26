"""Reservation ids: what settling needs to record a request, signed so that nobody can make
one up.

An id carries the organization, workspace, key and model of the request and when it was
authorized, so a settle can record its usage from the id alone: when the counter store lost
the reservation, or let it expire, the usage is still recorded. The payload is signed with
HMAC-SHA256 under a key derived from `SECRET_KEY` (ids signed under a key of
`SECRET_KEY_FALLBACKS` still verify, so a key rotation loses no settle), and verified in
constant time before anything in it is read. A random part of the process's and a count make
every id unique.
"""

import base64
import binascii
import hashlib
import hmac
import itertools
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from console.validation import MAX_YEAR, MIN_YEAR

PREFIX = "res_"
MAX_LENGTH = 200  # what a usage record's request_id holds
_SALT = b"console.billing.reservation"
_SIGNATURE_BYTES = 16
_EARLIEST_MS = int(datetime(MIN_YEAR, 1, 1, tzinfo=UTC).timestamp() * 1000)
_LATEST_MS = int(datetime(MAX_YEAR, 12, 31, tzinfo=UTC).timestamp() * 1000)
_MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class ReservationInfo:
    organization_id: str  # the organization's UUID, as text
    workspace_id: int
    api_key_id: int
    model_id: int
    at: float  # when it was authorized, epoch seconds (what the usage record is dated)


_keys: list[bytes] = []


def _signing_keys() -> list[bytes]:
    """The current key first, then those of the fallback secrets. Derived once, and again
    when the settings change (`override_settings` sends setting_changed)."""
    if not _keys:
        secrets_ = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
        _keys[:] = [hashlib.sha256(_SALT + secret.encode()).digest() for secret in secrets_]
    return _keys


@receiver(setting_changed)
def _forget_keys(**kwargs: Any) -> None:
    _keys.clear()


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return binascii.b2a_base64(data, newline=False).translate(_URL_SAFE).rstrip(b"=").decode()


def _signature(key: bytes, payload: bytes) -> bytes:
    return hmac.digest(key, payload, "sha256")[:_SIGNATURE_BYTES]


# What makes each id unique: this process's random part and a count (a forked process
# draws its own). No secret: the signature is what no one can make up.
_process_nonce = secrets.token_urlsafe(6)
_count = itertools.count()


def _draw_process_nonce() -> None:
    global _process_nonce
    _process_nonce = secrets.token_urlsafe(6)


os.register_at_fork(after_in_child=_draw_process_nonce)


def issue(
    *, organization_id: str, workspace_id: int, api_key_id: int, model_id: int, at: float
) -> str:
    payload = (
        f"{organization_id}.{workspace_id}.{api_key_id}.{model_id}.{int(at * 1000)}."
        f"{_process_nonce}{next(_count):x}"
    ).encode()
    signature = hmac.digest(_signing_keys()[0], payload, "sha256")[:_SIGNATURE_BYTES]
    return f"{PREFIX}{_b64(payload)}.{_b64(signature)}"


def verify(reservation_id: Any) -> ReservationInfo | None:
    """What a reservation id says, if this console signed it and it makes sense; else None."""
    if (
        not isinstance(reservation_id, str)
        or len(reservation_id) > MAX_LENGTH
        or not reservation_id.startswith(PREFIX)
        or not reservation_id.isascii()
    ):
        return None
    encoded, _, signature = reservation_id[len(PREFIX) :].partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    # Only the one canonical spelling of a payload is accepted, so that one reservation
    # cannot be settled under two ids.
    if _b64(payload) != encoded:
        return None
    if not any(
        hmac.compare_digest(_b64(_signature(key, payload)), signature) for key in _signing_keys()
    ):
        return None
    try:
        organization_id, workspace, api_key, model, at_ms, _nonce = payload.decode().split(".")
        numbers = [int(workspace), int(api_key), int(model), int(at_ms)]
    except ValueError:
        return None
    if not all(0 < number <= _MAX_ID for number in numbers[:3]):
        return None
    if not _EARLIEST_MS <= numbers[3] <= _LATEST_MS:
        return None
    return ReservationInfo(organization_id, numbers[0], numbers[1], numbers[2], numbers[3] / 1000)
