"""The console's URLs and one more that fails, so the browser tests can look at the 500 page."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from console.urls import urlpatterns as console_urlpatterns


@login_not_required
def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("A deliberate failure, to show the server error page.")


urlpatterns = [path("e2e/fail/", fail), *console_urlpatterns]
