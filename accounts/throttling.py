"""Sign-in throttling, by django-axes: failed sign-ins are counted per account and per client
address, and either reaching `AXES_FAILURE_LIMIT` locks sign-in for `AXES_COOLOFF_TIME`.

These are the hooks axes calls: how an account is named (e-mail addresses are
case-insensitive, so "Admin@Example.com" must not get a fresh count), where the client is
(behind `TRUSTED_PROXY_COUNT` proxies, from `X-Forwarded-For`), and the page a locked-out
client sees, which says when to try again.
"""

from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.forms import SignInForm
from console.http import safe_next


def account_name(request: HttpRequest, credentials: dict | None) -> str | None:
    """The account a sign-in attempt names, normalized as accounts are looked up."""
    name = (credentials or {}).get("username") or request.POST.get("username", "")
    name = name.strip().lower()
    return name[:254] or None


def client_address(request: HttpRequest) -> str:
    """The client's address: the proxies' record of it when Console is behind proxies."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def locked_until(request: HttpRequest, credentials: dict | None) -> datetime:
    """When the lockout that applies to this attempt ends (the cool-off runs from the last
    failure of the account or the address that is locked)."""
    last_failure = AccessAttempt.objects.filter(
        Q(username=account_name(request, credentials)) | Q(ip_address=client_address(request))
    ).aggregate(last=Max("attempt_time"))["last"]
    return (last_failure or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The sign-in page again, saying that sign-in is paused and until when."""
    until = locked_until(request, credentials)
    minutes = max(1, round((until - timezone.now()).total_seconds() / 60))
    form = SignInForm(request, initial={"username": account_name(request, credentials) or ""})
    context = {
        "form": form,
        "locked_until": until,
        "locked_minutes": minutes,
        "next": safe_next(request, ""),
    }
    return render(request, "accounts/login.html", context, status=429)
