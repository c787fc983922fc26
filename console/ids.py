"""Public identifiers: a type prefix and 24 characters that sort by creation time.

The first 8 characters encode the creation time in milliseconds, the remaining 16 are
random. The alphabet is in ASCII order, so sorting IDs as strings sorts them by time,
which lets lists page by ID with a stable creation order.
"""

import secrets
import string
import time
from collections.abc import Callable
from functools import partial

from django.db import models

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
TIME_LENGTH = 8
RANDOM_LENGTH = 16
ID_LENGTH = TIME_LENGTH + RANDOM_LENGTH

PREFIXES = {
    "workspace": "wrkspc_",
    "user": "user_",
    "invite": "invite_",
    "api_key": "apikey_",
    "admin_key": "adminkey_",
    "gateway_token": "gwtok_",
    "compartment": "cmpt_",
    "spend_limit_increase_request": "spendreq_",
    "request": "req_",
}


def _encode_time(milliseconds: int) -> str:
    chars = []
    for _ in range(TIME_LENGTH):
        milliseconds, remainder = divmod(milliseconds, len(ALPHABET))
        chars.append(ALPHABET[remainder])
    return "".join(reversed(chars))


def new_id(prefix: str, *, now: float | None = None) -> str:
    """Return a new public ID with `prefix`, e.g. ``wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ``."""
    milliseconds = int((time.time() if now is None else now) * 1000)
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return f"{prefix}{_encode_time(milliseconds)}{random_part}"


def id_factory(kind: str) -> Callable[[], str]:
    """A zero-argument callable for a model field's ``default``."""
    return partial(new_id, PREFIXES[kind])


def public_id_field(kind: str) -> models.CharField:
    """The model field that holds a public ID of `kind`: unique, indexed, never edited."""
    return models.CharField(
        max_length=len(PREFIXES[kind]) + ID_LENGTH,
        unique=True,
        editable=False,
        default=id_factory(kind),
    )
