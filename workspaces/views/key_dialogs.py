"""The confirm dialogs of a key's lifecycle (disable, enable, delete), shared by workspace API
keys and Admin API keys."""

from collections.abc import Callable
from functools import partial
from typing import Any

from django.http import HttpResponse
from django.urls import reverse

from accounts.audit import Actor
from accounts.http import ConsoleRequest
from accounts.models import KeyStatus, SecretKey
from console.htmx import confirm_action

VERBS = {
    "disable": ("Disable", "disabled"),
    "enable": ("Enable", "enabled"),
    "delete": ("Delete", "deleted"),
}


def key_action(
    request: ConsoleRequest,
    key: SecretKey,
    *,
    action: str,
    title_noun: str,
    noun: str,
    set_status: Callable[..., Any],
    delete: Callable[..., Any],
    body_template: str,
    url_name: str,
    cancel_url: str,
    events: tuple[str, ...],
    redirect_to: str | None = None,
) -> HttpResponse:
    """The dialog (GET) and the change (POST) of `action` on `key`, through the kind's own
    services (`set_status` and `delete`), so each kind's rules and counts hold."""
    actor = Actor.from_request(request)
    if action == "delete":
        perform = partial(delete, actor=actor, key=key)
    else:
        status = KeyStatus.ACTIVE if action == "enable" else KeyStatus.INACTIVE
        perform = partial(set_status, actor=actor, key=key, status=status)
    verb, done = VERBS[action]
    title = f"{verb} {title_noun}"
    return confirm_action(
        request,
        perform=perform,
        body_template=body_template,
        context={
            "key": key,
            "action": action,
            "button": title,
            "url": reverse(url_name, args=[key.public_id]),
        },
        title=title,
        cancel_url=cancel_url,
        redirect_to=redirect_to,
        message=f"{noun} “{key.name}” {done}.",
        events=events,
    )
