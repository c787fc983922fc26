"""The confirm dialogs of a key's lifecycle (disable, enable, delete), shared by workspace API
keys and Admin API keys."""

from collections.abc import Callable
from functools import partial

from django.http import HttpResponse

from accounts.audit import Actor
from accounts.http import ConsoleRequest
from accounts.models import SecretKey
from console.htmx import Event, confirm_action

DONE = {"disable": "disabled", "enable": "enabled", "delete": "deleted"}


def key_action(
    request: ConsoleRequest,
    key: SecretKey,
    *,
    action: str,
    service: Callable[..., object],
    noun: str,
    template_name: str,
    cancel_url: str,
    events: tuple[Event, ...],
) -> HttpResponse:
    """The dialog (GET) and the change (POST) of `action` ("disable", "enable" or "delete")
    on `key`, through the kind's own service of that name (`api_key_disable`, ...), so each
    kind's rules and counts hold. Done or cancelled, it leads to `cancel_url`."""
    return confirm_action(
        request,
        perform=partial(service, actor=Actor.from_request(request), key=key),
        template_name=template_name,
        context={"key": key},
        cancel_url=cancel_url,
        message=f"{noun} “{key.name}” {DONE[action]}.",
        events=events,
    )
