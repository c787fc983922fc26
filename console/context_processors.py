from typing import Any

from django.http import HttpRequest

from console.htmx import Event


def events(request: HttpRequest) -> dict[str, Any]:
    """The client events' names, for the templates that listen for them."""
    return {"events": Event}
