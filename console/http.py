"""Typed requests (what the middleware stack guarantees is on a request), and where a
request may ask to be sent next."""

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """A request that went through django-htmx's middleware."""

    htmx: HtmxDetails


def safe_next(request: HttpRequest, default: str, *, field: str = "next") -> str:
    """Where the request's `next` (posted, else in the query string) asks to go, when that is
    a page of this site; else `default`.

    Every `next` goes through here: a link or redirect built from one unchecked would send
    people to another site (`https://evil.test/...`) or run script (`javascript:...`).
    """
    candidate = request.POST.get(field) or request.GET.get(field) or ""
    return candidate if is_safe_next(request, candidate) else default


def is_safe_next(request: HttpRequest, url: str) -> bool:
    """Whether `url` leads to a page of this site, over https when the request came so: a
    path from the root ("/settings/...") or a URL of this host. A relative one would be
    resolved against whatever page it ends up on (and `redirect` takes "name" for a URL
    pattern's name)."""
    return (
        bool(url)
        and urlsplit(url).path.startswith("/")
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    )
