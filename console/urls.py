from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Console staff admin"
admin.site.site_title = "Console staff admin"


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico where a page names no icon (the admin, JSON answers)."""

    permanent = False

    def get_redirect_url(self, *args: object, **kwargs: object) -> str:
        # Looked up per request: with hashed static names it needs the collected manifest.
        return static("console/favicon.svg")


urlpatterns = [
    path("favicon.ico", login_not_required(FaviconView.as_view()), name="favicon"),
    path("admin/", admin.site.urls),
    path("", include("workspaces.urls")),
    path("", include("billing.urls")),
    path("", include("accounts.urls")),
    # Last: it answers every other /v1/ path with the API's 404 envelope.
    path("v1/", include("console.api_urls")),
]
