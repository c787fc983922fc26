"""The console's htmx patterns: a page whose named partial serves htmx, `<dialog>` modals that
have their own URL, and the client events that tie them to the lists on the page."""

import enum
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRefresh, trigger_client_event
from django_htmx.middleware import HtmxDetails

from console.http import HtmxRequest


class Event(enum.StrEnum):
    """Every client event the console fires, by one name. Views send them after a change; a
    list listens for its own (`hx-trigger="{{ events.KEYS_CHANGED }} from:body"`, templates
    get them from the `events` context processor) and console.js for the dialog's."""

    # Tells templates to read the members, not call the class.
    do_not_call_in_templates = enum.nonmember(True)

    CLOSE_MODAL = "console:close-modal"
    TOAST = "console:toast"
    THEME = "console:theme"
    WORKSPACES_CHANGED = "workspaces:changed"
    WORKSPACE_MEMBERS_CHANGED = "workspace-members:changed"
    KEYS_CHANGED = "keys:changed"
    MEMBERS_CHANGED = "members:changed"
    ADMIN_KEYS_CHANGED = "admin-keys:changed"
    LIMITS_CHANGED = "limits:changed"
    INCREASE_REQUESTS_CHANGED = "increase-requests:changed"


# What an answer's content depends on besides its URL, so no cache (the browser's included)
# hands a partial to a request for the page or the other way round.
VARY_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


def wants_partial(request: HttpRequest) -> bool:
    """Whether the request is htmx asking for a part of a page. A boosted navigation wants
    the whole page, and so does a history restore: after a miss in its history cache htmx
    fetches the page again with `HX-Request` set, and a partial would show without the top
    bar and sidebar."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, VARY_HEADERS)
    return response


def render_page(
    request: HtmxRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    partial: str,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only its `partial` when htmx asks for a part (`wants_partial`);
    either way the answer says it varies with the htmx headers."""
    if wants_partial(request):
        template_name = f"{template_name}#{partial}"
    return vary_on_htmx(render(request, template_name, context, status=status))


def render_dialog(
    request: HtmxRequest, template_name: str, context: dict[str, Any], *, cancel_url: str
) -> HttpResponse:
    """A dialog: a template extending `includes/modal.html`, which is the `<dialog>` alone
    for htmx and a page showing it open otherwise. `cancel_url` is where closing it leads when
    there is no script."""
    return vary_on_htmx(render(request, template_name, {**context, "cancel_url": cancel_url}))


def dialog_done(
    request: HtmxRequest,
    *,
    redirect_to: str,
    message: str,
    events: tuple[Event, ...] = (),
    refresh: bool = False,
) -> HttpResponse:
    """After a dialog's form succeeds: htmx closes the dialog, shows `message` and fires
    `events` (lists listen for them and refresh), or reloads the page when `refresh`; a plain
    POST redirects with the message."""
    if request.htmx and refresh:
        messages.success(request, message)
        return HttpResponseClientRefresh()
    if request.htmx:
        # htmx fires these on the form inside the dialog, in order; closing the dialog last
        # keeps the form attached so the other events still bubble up to the lists.
        response = HttpResponse(status=204)
        for event in events:
            trigger_client_event(response, event)
        trigger_client_event(response, Event.TOAST, {"value": message})
        trigger_client_event(response, Event.CLOSE_MODAL)
        return response
    messages.success(request, message)
    return HttpResponseRedirect(redirect_to)


def confirm_action(
    request: HtmxRequest,
    *,
    perform: Callable[[], object],
    template_name: str,
    context: dict[str, Any],
    cancel_url: str,
    message: str,
    events: tuple[Event, ...] = (),
    redirect_to: str | None = None,
) -> HttpResponse:
    """A confirm dialog (GET) and its action (POST). `perform` runs the service; a
    `ValidationError` it raises is shown in the dialog as `error`, and nothing changes."""
    error = None
    if request.method == "POST":
        try:
            perform()
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            return dialog_done(
                request, redirect_to=redirect_to or cancel_url, message=message, events=events
            )
    return render_dialog(request, template_name, {**context, "error": error}, cancel_url=cancel_url)
