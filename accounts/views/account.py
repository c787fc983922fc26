"""The signed-in person's own settings: the time zone times are shown in, and the theme."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from accounts import services, time_zones
from accounts.forms import AccountSettingsForm
from accounts.http import ConsoleRequest
from accounts.models import User
from console.forms import add_service_errors
from console.htmx import Event
from console.http import safe_next


@require_http_methods(["GET", "POST"])
def account_settings(request: ConsoleRequest) -> HttpResponse:
    user = request.user
    browser_zone = time_zones.browser_zone(request)
    form = AccountSettingsForm(
        request.POST or None,
        initial={"time_zone": user.time_zone or browser_zone or "UTC", "theme": user.theme},
        current_time_zone=user.time_zone,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.account_settings_update(user=user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Account settings saved.")
            return redirect("accounts:account_settings")
    return render(
        request, "accounts/account_settings.html", {"form": form, "browser_zone": browser_zone}
    )


@require_POST
def account_theme_set(request: ConsoleRequest) -> HttpResponse:
    """The account menu's theme buttons: htmx applies the answer in place (the script sets
    the page's theme on the event); without script, back to the page it was chosen on."""
    theme = request.POST.get("theme", "")
    try:
        services.account_theme_set(user=request.user, theme=theme)
    except ValidationError:
        message = "Choose System, Light or Dark."
        if request.htmx:
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        messages.error(request, message)
    else:
        if request.htmx:
            return trigger_client_event(HttpResponse(status=204), Event.THEME, {"theme": theme})
    return redirect(safe_next(request, "/"))


def account_time_zone_detect(
    sender: type, request: HttpRequest, user: User, **kwargs: object
) -> None:
    """On sign-in (`user_logged_in`), keep the zone the browser reports if the user has
    none yet."""
    zone = time_zones.browser_zone(request)
    if zone:
        services.account_time_zone_detect(user=user, time_zone=zone)
