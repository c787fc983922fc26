from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Console staff admin"
admin.site.site_title = "Console staff admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("workspaces.urls")),
    path("", include("billing.urls")),
    path("", include("accounts.urls")),
    # Last: it answers every other /v1/ path with the API's 404 envelope.
    path("v1/", include("console.api_urls")),
]
