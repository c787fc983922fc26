from typing import Any

from django.http import HttpRequest

from console.htmx import Event, wants_partial


def events(request: HttpRequest) -> dict[str, Any]:
    """The client events' names, for the templates that listen for them."""
    return {"events": Event}


def htmx_partial(request: HttpRequest) -> dict[str, Any]:
    """`htmx_partial`: whether htmx asks for a part of the page (`console.htmx.wants_partial`),
    so a dialog's shell is the `<dialog>` alone exactly when a page would be its partial."""
    return {"htmx_partial": wants_partial(request)}
