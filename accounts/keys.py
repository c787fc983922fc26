"""Rules shared by workspace API keys and Admin API keys: names, expiry, status changes,
and authenticating a presented secret."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import KeyStatus, SecretKey
from console.secrets import hash_secret, matches

KEY_NAME_MAX_LENGTH = 500
# `last_used_at` is written at most this often per key, so authentication stays a read.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the key a name."})
    if len(name) > KEY_NAME_MAX_LENGTH:
        raise ValidationError(
            {
                "name": f"Key names can be at most {KEY_NAME_MAX_LENGTH} characters (this one has {len(name)})."
            }
        )
    return name


def clean_expiry(expires_at: datetime | None) -> datetime | None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    return expires_at


def ensure_status_change(key: SecretKey, status: str) -> None:
    """Refuse a status change that the key's lifecycle does not allow."""
    current = key.current_status()
    if status not in (KeyStatus.ACTIVE, KeyStatus.INACTIVE):
        raise ValidationError({"status": "A key can be enabled (active) or disabled (inactive)."})
    if current == KeyStatus.ARCHIVED:
        raise ValidationError("This key was deleted; deleting is permanent.")
    if current == KeyStatus.EXPIRED:
        raise ValidationError("This key has expired and can no longer be enabled or disabled.")


def ensure_not_deleted(key: SecretKey) -> None:
    if key.status == KeyStatus.ARCHIVED:
        raise ValidationError("This key was deleted; deleting is permanent.")


def authenticate(queryset: QuerySet, secret: str, *, prefix: str) -> SecretKey | None:
    """The active, unexpired key of `queryset` whose secret is `secret`, else None.

    One indexed lookup by the secret's hash, then a constant-time comparison. `last_used_at`
    is refreshed with a conditional UPDATE at most once a minute per key.
    """
    if not isinstance(secret, str) or not secret.startswith(prefix) or len(secret) > 200:
        return None
    digest = hash_secret(secret)
    key = queryset.filter(secret_hash=digest).first()
    if key is None or not matches(secret, key.secret_hash):
        return None
    now = timezone.now()
    if key.current_status(now) != KeyStatus.ACTIVE:
        return None
    if key.last_used_at is None or key.last_used_at <= now - LAST_USED_RESOLUTION:
        type(key).objects.filter(pk=key.pk).exclude(
            last_used_at__gt=now - LAST_USED_RESOLUTION
        ).update(last_used_at=now)
        key.last_used_at = now
    return key
