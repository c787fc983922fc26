"""Upstreams (the model servers behind the gateway) and the routes from catalog models to
them: writes, the credential's encryption, and the built-in demo.

Credentials are encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from `cryptography`)
under the keys in `UPSTREAM_CREDENTIAL_KEYS`: the first encrypts, every one decrypts, so a
key is rotated by putting a new one first, running `manage.py upstream_configure
--rotate-credentials`, then dropping the old one. A credential is written and used, never
shown again: no admin page, command output or log line carries it.
"""

import base64
import hashlib
from collections.abc import Iterable
from decimal import Decimal

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone

from billing.models import (
    Model,
    ModelGroup,
    ModelRoute,
    TierLimit,
    Upstream,
    UpstreamProtocol,
    UsageTier,
)
from console.validation import check_text

DEMO_MODEL = "console-demo"
DEMO_UPSTREAM = "demo"
DEMO_GROUP = "Console Demo"
# The demo's rate limits on every tier (requests, input and output tokens per minute): low
# enough that a newcomer sees a refusal after a burst of calls.
DEMO_LIMITS = (20, 20_000, 4_000)


# -- Credentials -------------------------------------------------------------------------------


def _fernet() -> MultiFernet:
    keys = settings.UPSTREAM_CREDENTIAL_KEYS or [_derived_key()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "UPSTREAM_CREDENTIAL_KEYS must be Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated."
        ) from error


def _derived_key() -> bytes:
    """A key derived from SECRET_KEY, for installations that set none of their own."""
    digest = hashlib.sha256(b"console upstream credentials\0" + settings.SECRET_KEY.encode())
    return base64.urlsafe_b64encode(digest.digest())


def encrypt_credential(credential: str) -> str:
    return _fernet().encrypt(credential.encode()).decode()


def decrypt_credential(token: str) -> str:
    """The credential, or an error that says which setting to look at (never the value)."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "An upstream credential cannot be decrypted with UPSTREAM_CREDENTIAL_KEYS: was a key "
            "removed before `upstream_configure --rotate-credentials` ran?"
        ) from None


# -- Writes ------------------------------------------------------------------------------------


def _clean_credential(credential: str) -> str:
    credential = credential.strip()
    check_text(credential, field="credential")
    if len(credential) > 4096:
        raise ValidationError({"credential": "At most 4,096 characters."})
    return credential


def upstream_configure(
    *,
    name: str,
    base_url: str | None = None,
    protocol: str | None = None,
    credential: str | None = None,
    auth_header: str | None = None,
    input_bound: str | None = None,
    connect_timeout_seconds: float | None = None,
    read_timeout_seconds: float | None = None,
    max_connections: int | None = None,
    enabled: bool | None = None,
) -> Upstream:
    """Create the upstream `name`, or change the fields given of the existing one.
    `credential=""` removes it; None keeps it."""
    with transaction.atomic():
        upstream = Upstream.objects.select_for_update().filter(name=name).first() or Upstream(
            name=name
        )
        changes = {
            "base_url": base_url.strip().rstrip("/") if base_url is not None else None,
            "protocol": protocol,
            "auth_header": auth_header,
            "input_bound": input_bound,
            "connect_timeout_seconds": connect_timeout_seconds,
            "read_timeout_seconds": read_timeout_seconds,
            "max_connections": max_connections,
            "enabled": enabled,
        }
        for field, value in changes.items():
            if value is not None:
                setattr(upstream, field, value)
        if credential is not None:
            cleaned = _clean_credential(credential)
            upstream.credential_encrypted = encrypt_credential(cleaned) if cleaned else ""
        if upstream.protocol == UpstreamProtocol.MESSAGES_API and not upstream.base_url:
            raise ValidationError({"base_url": "An upstream that is a server needs its URL."})
        upstream.updated_at = timezone.now()
        upstream.full_clean()
        upstream.save()
    return upstream


def model_route_set(
    *,
    model: Model,
    upstream: Upstream,
    upstream_model: str | None = None,
    display_name: str | None = None,
    enabled: bool = True,
) -> ModelRoute:
    """Route the catalog `model` to `upstream` (under its own name there unless
    `upstream_model` says otherwise)."""
    with transaction.atomic():
        route = ModelRoute.objects.select_for_update().filter(model=model).first() or ModelRoute(
            model=model
        )
        route.upstream = upstream
        route.upstream_model = check_text(
            (upstream_model or route.upstream_model or model.api_name).strip(),
            field="upstream_model",
        )
        if display_name is not None:
            route.display_name = check_text(display_name.strip(), field="display_name")
        route.enabled = enabled
        route.full_clean()
        route.save()
    return route


def model_route_remove(*, model: Model) -> bool:
    """Stop serving `model`. Returns whether it had a route."""
    with transaction.atomic():
        deleted, _ = ModelRoute.objects.filter(model=model).delete()
    return bool(deleted)


def upstream_credentials_rotate() -> int:
    """Encrypt every stored credential again under the first key. Returns how many."""
    fernet = _fernet()
    rotated = 0
    with transaction.atomic():
        for upstream in Upstream.objects.select_for_update().exclude(credential_encrypted=""):
            try:
                token = fernet.rotate(upstream.credential_encrypted.encode()).decode()
            except InvalidToken:
                raise ImproperlyConfigured(
                    f"The credential of upstream {upstream.name} cannot be decrypted with "
                    "UPSTREAM_CREDENTIAL_KEYS; keep its old key in the list to rotate it."
                ) from None
            Upstream.objects.filter(pk=upstream.pk).update(credential_encrypted=token)
            rotated += 1
    return rotated


# -- The demo ----------------------------------------------------------------------------------


def demo_upstream_enable() -> ModelRoute:
    """Serve `console-demo` from the built-in demo upstream: its catalog entry (model group,
    prices, a rate limit on every tier), the upstream and the route. Safe to run again."""
    with transaction.atomic():
        group, _ = ModelGroup.objects.get_or_create(
            slug=DEMO_MODEL, defaults={"name": DEMO_GROUP, "position": 100}
        )
        price = Decimal("1.00")
        model, _ = Model.objects.get_or_create(
            api_name=DEMO_MODEL,
            defaults={
                "group": group,
                "input_price": price,
                "output_price": price * 5,
                "cache_write_5m_price": price * Decimal("1.25"),
                "cache_write_1h_price": price * 2,
                "cache_read_price": price * Decimal("0.1"),
            },
        )
        _demo_tier_limits(group, UsageTier.objects.all())
        upstream = upstream_configure(
            name=DEMO_UPSTREAM, protocol=UpstreamProtocol.DEMO, base_url="", enabled=True
        )
        return model_route_set(
            model=model,
            upstream=upstream,
            upstream_model=DEMO_MODEL,
            display_name="Console Demo",
        )


def _demo_tier_limits(group: ModelGroup, tiers: Iterable[UsageTier]) -> None:
    limiters = ("requests_per_minute", "input_tokens_per_minute", "output_tokens_per_minute")
    for tier in tiers:
        for limiter, value in zip(limiters, DEMO_LIMITS, strict=True):
            TierLimit.objects.get_or_create(
                tier=tier, model_group=group, limiter=limiter, defaults={"value": value}
            )
