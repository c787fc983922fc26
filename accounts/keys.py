"""Rules shared by workspace API keys and Admin API keys: names, expiry, the lifecycle
(rename, enable and disable, delete, each recorded in the audit trail), and authenticating a
presented secret. The services of each kind lock the key and keep their own counts around
these."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import KeyStatus, Organization, SecretKey
from console import validation
from console.secrets import hash_secret, matches

KEY_NAME_MAX_LENGTH = 500
# `last_used_at` is written at most this often per key, so authentication stays a read.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def clean_name(name: str) -> str:
    return validation.clean_name(
        name,
        max_length=KEY_NAME_MAX_LENGTH,
        empty_message="Give the key a name.",
        label="Key names",
    )


def clean_expiry(expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    validation.check_datetime(expires_at, field="expires_at")
    if expires_at <= timezone.now():
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


def _save(
    actor: Actor,
    key: SecretKey,
    *,
    organization: Organization,
    target_type: str,
    action: str,
    **changes,
) -> dict:
    """Save `changes` to the key and record them as `<target_type>.<action>`; returns the
    values they replaced."""
    before = {name: getattr(key, name) for name in changes}
    for name, value in changes.items():
        setattr(key, name, value)
    key.save(update_fields=list(changes))
    audit.record(
        actor=actor,
        organization=organization,
        action=f"{target_type}.{action}",
        target_type=target_type,
        target_id=key.public_id,
        before=before,
        after=changes,
    )
    return before


def rename(
    actor: Actor, key: SecretKey, name: str, *, organization: Organization, target_type: str
) -> None:
    ensure_not_deleted(key)
    _save(
        actor,
        key,
        organization=organization,
        target_type=target_type,
        action="rename",
        name=clean_name(name),
    )


def set_status(
    actor: Actor, key: SecretKey, status: str, *, organization: Organization, target_type: str
) -> bool:
    """Enable (active) or disable (inactive) a key; deleted and expired keys refuse. Returns
    whether anything changed."""
    ensure_status_change(key, status)
    if key.status == status:
        return False
    _save(
        actor,
        key,
        organization=organization,
        target_type=target_type,
        action="status_change",
        status=status,
    )
    return True


def delete(actor: Actor, key: SecretKey, *, organization: Organization, target_type: str) -> str:
    """Delete a key for good (it is archived, its history kept). Returns its status before."""
    ensure_not_deleted(key)
    before = _save(
        actor,
        key,
        organization=organization,
        target_type=target_type,
        action="delete",
        status=KeyStatus.ARCHIVED,
    )
    return before["status"]


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
