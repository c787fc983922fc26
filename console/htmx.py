"""Helpers for the console's htmx patterns: a page whose named partial serves htmx, and
`<dialog>` modals that have their own URL."""

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render


def render_page(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    partial: str,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only its `partial` for an htmx request that is not a boosted
    navigation (those want the whole page)."""
    if request.htmx and not request.htmx.boosted:
        template_name = f"{template_name}#{partial}"
    return render(request, template_name, context, status=status)


def render_dialog(
    request: HttpRequest,
    body_template: str,
    context: dict[str, Any],
    *,
    title: str,
    cancel_url: str,
    page_base: str = "settings/base.html",
) -> HttpResponse:
    """A modal with its own URL: a `<dialog>` for htmx, else a page showing it open.

    `body_template` is the modal's content (usually a form posting back to the same URL);
    `cancel_url` is where closing it leads when there is no script.
    """
    context = {
        **context,
        "modal_title": title,
        "body_template": body_template,
        "cancel_url": cancel_url,
        "page_base": page_base,
    }
    template = "includes/modal.html" if request.htmx else "includes/modal_page.html"
    return render(request, template, context)


def dialog_done(
    request: HttpRequest,
    *,
    redirect_to: str,
    message: str,
    events: tuple[str, ...] = (),
    refresh: bool = False,
) -> HttpResponse:
    """After a modal's form succeeds: htmx closes the modal, shows `message` and fires
    `events` (lists listen for them and refresh), or reloads the page when `refresh`; a plain
    POST redirects with the message."""
    if request.htmx and refresh:
        messages.success(request, message)
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    if request.htmx:
        # htmx fires these on the form inside the modal, in order; closing the modal last
        # keeps the form attached so the other events still bubble up to the lists.
        triggers: dict[str, Any] = dict.fromkeys(events, True)
        triggers["console:toast"] = message
        triggers["console:close-modal"] = True
        return HttpResponse(status=204, headers={"HX-Trigger": json.dumps(triggers)})
    messages.success(request, message)
    return HttpResponseRedirect(redirect_to)


def confirm_action(
    request: HttpRequest,
    *,
    perform: Callable[[], Any],
    body_template: str,
    context: dict[str, Any],
    title: str,
    cancel_url: str,
    message: str,
    events: tuple[str, ...] = (),
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
    return render_dialog(
        request, body_template, {**context, "error": error}, title=title, cancel_url=cancel_url
    )
